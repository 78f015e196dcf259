/**
 * `deno task start` (scripts/launch.ts) as a user runs it: from another directory, with relative
 * paths; signals sent to the task; the task killed outright; a terminal that hangs up; Ctrl-C at
 * a terminal. And how many processes (and how much memory) one server costs.
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  type CliProcess,
  connectFtp,
  downloadText,
  type ReadyLine,
  REPO,
  startCli,
} from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { waitFor } from "../helpers/protocol_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { newLeaf, tlsFiles } from "../helpers/tls_helpers.ts";
import { needs } from "../helpers/tools.ts";

const CONFIG = `${REPO}deno.json`;
const PTY_RUN = `${REPO}tests/helpers/pty_run.py`;

/** `deno task start ARGS` run from `cwd`, as `cd cwd && deno task start ARGS` would. */
function startTask(args: string[], cwd: string): CliProcess {
  return startCli(["task", "--config", CONFIG, "start", ...args], {
    executable: Deno.execPath(),
    cwd,
    // deno task keeps an INIT_CWD it inherits (as npm does): under `deno task test` it names
    // the repository, not the directory this task is run from.
    env: { INIT_CWD: cwd },
  });
}

/** The parent PID and state of a process, or undefined once it is gone (or a zombie). */
function processInfo(pid: number): { ppid: number; rssKb: number } | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    if (/^State:\s+Z/m.test(status)) return undefined;
    return {
      ppid: Number(/^PPid:\s+(\d+)/m.exec(status)![1]),
      rssKb: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `pid`. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const info = processInfo(Number(entry.name));
    if (info) children.set(info.ppid, [...(children.get(info.ppid) ?? []), Number(entry.name)]);
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const child of children.get(parent) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

async function refusesConnections(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch {
    return true;
  }
}

/**
 * Waits for the server `pid` to exit by itself; kills it if it does not (a test that fails must
 * not leave a server behind, nor hang on the pipes it holds).
 */
async function serverExits(pid: number, what: string): Promise<void> {
  try {
    await waitFor(() => processInfo(pid) === undefined, what, 10_000);
  } finally {
    if (processInfo(pid) !== undefined) Deno.kill(pid, "SIGKILL");
  }
}

const linux = Deno.build.os === "linux";

Deno.test({
  name: "deno task start resolves relative paths from the caller's directory and grants them",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/pub`);
    Deno.writeTextFileSync(`${dir.path}/pub/hello.txt`, "hello from pub");
    await using task = startTask([
      "--root",
      "pub",
      "--port",
      "0",
      "--user",
      "alice:secret",
      "--ready-file",
      "ready.json",
      "--transcript",
      "log/transcript.jsonl",
    ], dir.path);
    Deno.mkdirSync(`${dir.path}/log`);
    const line = await task.ready(30_000);
    deepEqual(JSON.parse(Deno.readTextFileSync(`${dir.path}/ready.json`)), line);
    equal(Deno.statSync(`${dir.path}/ready.json`).mode! & 0o777, 0o600);
    {
      await using client = await connectFtp(line.url);
      equal(await downloadText(client, "hello.txt"), "hello from pub");
    }
    task.kill("SIGTERM");
    const exit = await task.wait(15_000);
    equal(exit.code, 0, exit.stderr);
    ok(!/NotCapable|permission/i.test(exit.stderr), exit.stderr);
    ok(!Deno.readDirSync(dir.path).some((entry) => entry.name.startsWith("ready.json")));
    const transcript = Deno.readTextFileSync(`${dir.path}/log/transcript.jsonl`);
    match(transcript, /"text":"RETR hello.txt"/);
  },
});

Deno.test({
  name: "deno task start refuses a root with a comma clearly, with exit 2",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/a,b`);
    await using task = startTask(["--root", "a,b", "--port", "0"], dir.path);
    const exit = await task.wait(30_000);
    equal(exit.code, 2, exit.stderr);
    ok(
      exit.stderr.includes(
        `ftpgate: cannot grant Deno access to "${dir.path}/a,b": a Deno permission flag cannot ` +
          "name a path that contains a comma.\nRename it,",
      ),
      exit.stderr,
    );
    ok(!/Uncaught|RangeError|\s{4}at /.test(exit.stderr), exit.stderr);
  },
});

Deno.test({
  name: "deno task start is one process besides the task; SIGHUP to the task reloads TLS",
  ignore: !linux || needs("openssl"),
  async fn() {
    await using files = await tlsFiles();
    await using task = startTask([
      "--root",
      "memory:",
      "--port",
      "0",
      "--tls-cert",
      "cert.pem",
      "--tls-key",
      "key.pem",
      "--ready-file",
      "-",
    ], files.dir);
    const line = await task.ready(30_000) as ReadyLine & { tlsFingerprint?: string };
    await using _reaper = { [Symbol.asyncDispose]: () => serverExits(line.pid, "the server") };
    const taskPid = task.child.pid;
    deepEqual(descendants(taskPid), [line.pid], "deno task → the server, no launcher between");
    const rssKb = [taskPid, line.pid].reduce((sum, pid) => sum + processInfo(pid)!.rssKb, 0);
    // deno-lint-ignore no-console
    console.log(`deno task start: 2 processes, ${(rssKb / 1024).toFixed(1)} MB resident`);
    // A renewed certificate, then the signal an operator (or ExecReload) sends.
    const renewed = await newLeaf(files, "renewed");
    Deno.copyFileSync(renewed.certFile, files.certFile);
    Deno.copyFileSync(renewed.keyFile, files.keyFile);
    ok(renewed.fingerprint !== line.tlsFingerprint);
    task.kill("SIGHUP");
    await waitFor(
      () => task.stderr().includes(`TLS certificate reloaded (${renewed.fingerprint})`),
      "the reload",
      10_000,
    );
    equal(processInfo(line.pid)?.ppid, taskPid, "the server still runs under the task");
    await using raw = await RawClient.connect(line.port);
    equal(raw.banner.code, 220);
    task.kill("SIGTERM");
    const exit = await task.wait(15_000);
    equal(exit.code, 0, exit.stderr);
    equal(processInfo(line.pid), undefined);
  },
});

Deno.test({
  name: "the server stops when deno task is killed outright (no orphan with PPID 1)",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    await using task = startTask(
      ["--root", "memory:", "--port", "0", "--ready-file", "-"],
      dir.path,
    );
    const line = await task.ready(30_000);
    task.kill("SIGKILL");
    await task.child.status;
    await serverExits(line.pid, "the server to follow its parent");
    ok(await refusesConnections(line.port));
  },
});

Deno.test({
  name: "without --allow-ffi the launcher spawns the server, forwards SIGHUP and takes it along",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    await using launcher = startCli(
      [
        "run",
        "--allow-read",
        "--allow-env",
        "--allow-run",
        `${REPO}scripts/launch.ts`,
        "run",
        "--root",
        "memory:",
        "--port",
        "0",
        "--ready-file",
        "-",
      ],
      { executable: Deno.execPath(), cwd: dir.path },
    );
    const line = await launcher.ready(30_000);
    try {
      equal(processInfo(line.pid)?.ppid, launcher.child.pid);
      launcher.kill("SIGHUP");
      await waitFor(
        () => launcher.stderr().includes("SIGHUP: no TLS certificate to reload"),
        "SIGHUP at the server",
        10_000,
      );
      ok(processInfo(launcher.child.pid) !== undefined, "the launcher survives SIGHUP");
      launcher.kill("SIGKILL");
      await launcher.child.status;
    } finally {
      await serverExits(line.pid, "the server to follow the launcher");
    }
    ok(await refusesConnections(line.port));
  },
});

/** Runs `deno task start ARGS` on a pseudo-terminal (tests/helpers/pty_run.py). */
async function onTerminal(
  action: "hangup" | "interrupt",
  args: string[],
  cwd: string,
  beforeGo: (line: { pid: number; port: number }) => Promise<void> = () => Promise.resolve(),
): Promise<{ code: string; seconds: number; output: string; pid: number; port: number }> {
  const child = new Deno.Command("python3", {
    args: [PTY_RUN, cwd, action, Deno.execPath(), "task", "--config", CONFIG, "start", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", INIT_CWD: cwd }, // see startTask
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
    let buffered = "";
    const nextLine = async () => {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.next();
        if (done) throw new Error(`pty_run.py ended early: ${buffered}`);
        buffered += value;
      }
      const [first] = buffered.split("\n", 1);
      buffered = buffered.slice(first.length + 1);
      return first;
    };
    const stderr = new Response(child.stderr).text();
    const ready = await nextLine();
    if (!ready.startsWith("READY ")) throw new Error(`${ready}\n${await stderr}`);
    const line = JSON.parse(ready.slice(6));
    try {
      await beforeGo(line);
    } catch (error) {
      child.kill("SIGKILL"); // hangs up the terminal, and ends the output
      throw new Error(`${(error as Error).message}\non the terminal:\n${await stderr}`);
    }
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    const [, code, seconds] = (await nextLine()).split(" ");
    await lines.return?.();
    await child.status;
    return { code, seconds: Number(seconds), output: await stderr, pid: line.pid, port: line.port };
  } finally {
    clearTimeout(killer);
  }
}

Deno.test({
  name: "a terminal hang-up stops deno task start and its server, even one with TLS",
  ignore: !linux || needs("python3"),
  async fn() {
    await using dir = localDir();
    const result = await onTerminal(
      "hangup",
      ["--root", "memory:", "--port", "0", "--tls-self-signed", "--ready-file", "-"],
      dir.path,
    );
    await serverExits(result.pid, "the server to exit");
    ok(result.code !== "timeout", `deno task did not exit:\n${result.output}`);
    ok(await refusesConnections(result.port), "nothing listens any more");
  },
});

Deno.test({
  name: "Ctrl-C at the terminal shuts deno task start down once, letting transfers finish",
  ignore: !linux || needs("python3"),
  async fn() {
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/root`);
    Deno.writeFileSync(`${dir.path}/root/big.bin`, new Uint8Array(256 * 1024));
    let raw: RawClient | undefined;
    let data: Deno.TcpConn | undefined;
    try {
      const result = await onTerminal(
        "interrupt",
        // Every RETR stalls after 1,000 bytes: the transfer runs until the grace period ends.
        ["--root", "root", "--port", "0", "--ready-file", "-", "--shutdown-grace", "2"].concat(
          ["--fault", "stall-retr=1000"],
        ),
        dir.path,
        async (line) => {
          raw = await RawClient.connect(line.port);
          await raw.login("anonymous", "a@b.c");
          await raw.expect("TYPE I", 200);
          data = await raw.epsv();
          await raw.expect("RETR big.bin", 150);
          const buffer = new Uint8Array(1000);
          let received = 0;
          while (received < 1000) received += (await data.read(buffer)) ?? 1000;
        },
      );
      equal(result.code, "0", result.output);
      ok(
        result.seconds >= 1.8,
        `exited ${result.seconds} s after Ctrl-C: the grace was skipped\n${result.output}`,
      );
      equal((await raw!.read(5_000)).code, 426, "the transfer is aborted at the end of the grace");
      equal(result.output.match(/SIGINT: shutting down/g)?.length, 1, result.output);
      ok(!result.output.includes("again"), result.output);
    } finally {
      data?.close();
      raw?.close();
    }
  },
});
