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
  downloadTextAs,
  hashPassword,
  launchPlan,
  type ReadyLine,
  REPO,
  startCli,
  stopCli,
} from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { waitFor } from "../helpers/protocol_helpers.ts";
import { loginAs, RawClient, readAll } from "../helpers/raw_client.ts";
import { newLeaf, tlsFiles } from "../helpers/tls_helpers.ts";
import { needs, runCommand } from "../helpers/tools.ts";

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

/** The ready line, or a failure that shows why the server did not start. */
async function readyOrWhy(task: CliProcess): Promise<ReadyLine> {
  try {
    return await task.ready(30_000);
  } catch {
    const exit = await task.wait(5_000);
    throw new Error(`the server did not start (exit ${exit.code}):\n${exit.stderr}`);
  }
}

/**
 * TYPE A (built in), then what a start without a config grants read on ftpgate's source for
 * (src/app/lazy.ts SESSION_SOURCES): the codecs of TYPE E and MODE B, the REST offsets of
 * TYPE A, the HASH digests. Each loads by URL on its first use, so each fails without the grant.
 */
async function whatAnyClientMayAsk(
  port: number,
  user: string,
  password: string,
  file: string,
  text: string,
): Promise<void> {
  await using raw = await RawClient.connect(port);
  await raw.login(user, password);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  await raw.expect("TYPE A", 200);
  equal(decode(await raw.download(`RETR ${file}`)), text);
  await raw.expect("REST 6", 350);
  equal(decode(await raw.download(`RETR ${file}`)), text.slice(6));
  await raw.expect("TYPE E", 200);
  const ebcdic = await raw.download(`RETR ${file}`);
  equal(ebcdic.length, text.length);
  equal(ebcdic[0], 0x88, "h in EBCDIC (code page 037)");
  await raw.expect("TYPE I", 200);
  await raw.expect("MODE B", 200);
  const data = await raw.epsv();
  await raw.expect(`RETR ${file}`, 150);
  equal(decode(await readBlocks(data)), text);
  equal((await raw.read()).code, 250, "MODE B keeps the data connection");
  data.close();
  await raw.expect("MODE S", 200);
  const hash = await raw.expect(`HASH ${file}`, 213);
  match(hash.text, /^SHA-256 0-\d+ [0-9a-f]{64} /);
}

/** The data of MODE B blocks (RFC 959 §3.4.2) up to the one with the EOF descriptor. */
async function readBlocks(conn: Deno.Conn): Promise<Uint8Array> {
  const exact = async (length: number) => {
    const out = new Uint8Array(length);
    for (let got = 0; got < length;) {
      const n = await conn.read(out.subarray(got));
      if (n === null) throw new Error("the data connection closed inside a block");
      got += n;
    }
    return out;
  };
  const parts: number[] = [];
  for (;;) {
    const [descriptor, high, low] = await exact(3);
    const block = await exact(high * 256 + low);
    if ((descriptor & 0x10) === 0) parts.push(...block); // not a restart marker
    if (descriptor & 0x40) return new Uint8Array(parts);
  }
}

Deno.test({
  name:
    "deno task start resolves relative paths from the caller's directory and grants them, and what any client may ask",
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
    const printed = await task.ready(30_000);
    const line = JSON.parse(Deno.readTextFileSync(`${dir.path}/ready.json`));
    equal(line.port, printed.port);
    equal(line.password, "secret");
    equal(Deno.statSync(`${dir.path}/ready.json`).mode! & 0o777, 0o600);
    {
      await using client = await connectFtp(line.url);
      equal(await downloadText(client, "hello.txt"), "hello from pub");
    }
    await whatAnyClientMayAsk(line.port, "alice", "secret", "hello.txt", "hello from pub");
    const exit = await stopCli(task, 15_000);
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
    await stopCli(task, 15_000);
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

/** The value of `--allow-X=` in a command line, as a list (["*"] for the bare flag). */
function granted(argv: string[], kind: string): string[] | undefined {
  const flag = argv.find((arg) => arg === `--allow-${kind}` || arg.startsWith(`--allow-${kind}=`));
  if (flag === undefined) return undefined;
  return flag.includes("=") ? flag.slice(flag.indexOf("=") + 1).split(",") : ["*"];
}

Deno.test({
  name: "the launcher's permissions for a config with S3, ops, mounts and a hashed user",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    for (const sub of ["alice", "bob", "archive", "log"]) Deno.mkdirSync(`${dir.path}/${sub}`);
    Deno.writeTextFileSync(`${dir.path}/carol.pw`, "carol-secret\n");
    Deno.writeTextFileSync(`${dir.path}/token`, "t0ken\n");
    Deno.writeTextFileSync(`${dir.path}/hook.key`, "k3y\n");
    const config = `${dir.path}/ftpgate.jsonc`;
    Deno.writeTextFileSync(
      config,
      JSON.stringify({
        listen: { host: "127.0.0.1", port: 2121 },
        allow_active: false,
        passive: { address: "203.0.113.10" },
        users: [
          {
            name: "alice",
            password_hash: "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            root: "alice",
          },
          {
            name: "bob",
            password_env: "BOB_PW",
            mounts: [
              { path: "/", root: "bob" },
              { path: "/archive", root: "archive", read_only: true },
            ],
          },
          { name: "carol", password_file: "carol.pw", root: "s3://media/carol" },
        ],
        s3: { endpoint: "http://127.0.0.1:7480" },
        http: { port: 9100, token_file: "token" },
        transfer_log: { path: "log/xferlog" },
        webhook: { url: "https://hooks.example.org/ftp", secret_file: "hook.key" },
        on_upload: { command: "/usr/bin/true --quiet" },
      }),
    );
    const { run, compile } = await launchPlan(["--config", "ftpgate.jsonc"], dir.path, {
      BOB_PW: "bob-secret",
    });
    const d = dir.path;
    const src = `${REPO}src`;
    deepEqual(granted(run, "net"), ["127.0.0.1", "127.0.0.1:7480", "hooks.example.org:443"]);
    deepEqual(
      granted(run, "read")?.sort(),
      [
        "/proc/self/fd",
        `${d}/alice`,
        `${d}/archive`,
        `${d}/bob`,
        `${d}/carol.pw`,
        `${d}/ftpgate.jsonc`,
        `${d}/hook.key`,
        `${d}/token`,
        src,
      ].sort(),
    );
    deepEqual(granted(run, "write")?.sort(), [`${d}/alice`, `${d}/bob`, `${d}/log/xferlog`].sort());
    // Every FTPGATE_ variable, the AWS_ ones for S3, and the one the file names.
    // The upload hook runs without the server's FTPGATE_* variables: it gets the usual ones back.
    deepEqual(granted(run, "env"), [
      "FTPGATE_*",
      "AWS_*",
      "BOB_PW",
      ...["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE"],
      ...["LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR"],
    ]);
    deepEqual(granted(run, "run"), ["/usr/bin/true"]);
    ok(!run.some((arg) => arg.includes("bob-secret") || arg.includes("carol-secret")));
    // The relative config path is handed over absolute; the server's own flags follow.
    deepEqual(run.slice(run.indexOf(`${REPO}main.ts`) + 1), [
      "--config",
      "ftpgate.jsonc",
      "--config",
      config,
      "--parent-lifeline",
    ]);
    // The binary: the same grants but src/ (it embeds what deno run loads from there), and the
    // modules deno compile would not find by itself.
    for (const kind of ["net", "write", "env", "run"]) {
      deepEqual(granted(compile, kind), granted(run, kind), kind);
    }
    deepEqual(granted(compile, "read"), granted(run, "read")!.filter((path) => path !== src));
    const includes = compile.flatMap((arg, i) => compile[i - 1] === "--include" ? [arg] : []);
    for (
      const module of [
        "identity/passwords/worker.ts",
        "config/load.ts",
        "storage/s3/mod.ts",
        "ops/mod.ts",
      ]
    ) {
      ok(includes.includes(`${src}/${module}`), module);
    }
  },
});

Deno.test({
  name: "the launcher grants the name servers for a PASV host name, and nothing of the net else",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    const { run } = await launchPlan(
      ["--root", "memory:", "--no-active", "--pasv-address", "localhost"],
      dir.path,
    );
    const servers = [...Deno.readTextFileSync("/etc/resolv.conf").matchAll(/^nameserver\s+(\S+)/gm)]
      .map((match) => match[1].includes(":") ? `[${match[1]}]:53` : `${match[1]}:53`);
    deepEqual(granted(run, "net"), ["127.0.0.1", ...servers]);
    // memory: needs no file; only the codecs and digests that any client may ask for.
    deepEqual(granted(run, "read"), [`${REPO}src/data`, `${REPO}src/commands/hash_digest.ts`]);
  },
});

Deno.test({
  name:
    "deno task start --config: a hashed user, the HTTP port, the transfer log and SIGHUP under exact grants",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/alice`);
    Deno.mkdirSync(`${dir.path}/log`);
    Deno.writeTextFileSync(`${dir.path}/alice/a.txt`, "alice's file");
    const hashed = await hashPassword("alice-pw");
    const config = `${dir.path}/ftpgate.jsonc`;
    const write = (users: unknown[]) =>
      Deno.writeTextFileSync(
        config,
        JSON.stringify({
          listen: { host: "127.0.0.1", port: 0 },
          allow_active: false,
          allow_plaintext: true,
          users,
          http: { port: 0 },
          transfer_log: { path: "log/xferlog" },
          limits: { login_failure_delay: 0 },
        }),
      );
    const alice = { name: "alice", password_hash: hashed, root: "alice" };
    write([alice]);
    await using task = startTask(["--config", "ftpgate.jsonc", "--ready-file", "-"], dir.path);
    const line = await task.ready(30_000) as ReadyLine & { httpUrl: string };
    equal(await downloadTextAs(line.port, "alice", "alice-pw", "a.txt"), "alice's file");
    const health = await fetch(`${line.httpUrl}healthz`);
    equal(health.status, 200);
    equal((await health.json()).status, "ok");
    await waitFor(
      () => {
        try {
          return Deno.readTextFileSync(`${dir.path}/log/xferlog`).includes("/a.txt");
        } catch {
          return false;
        }
      },
      "the transfer log line",
      10_000,
    );
    // A reload reads the file again: a user added, in the same tree.
    write([alice, { name: "dan", password: "dan-pw", root: "alice" }]);
    task.kill("SIGHUP");
    await waitFor(() => task.stderr().includes("configuration reloaded"), "the reload", 10_000);
    equal(await downloadTextAs(line.port, "dan", "dan-pw", "a.txt"), "alice's file");
    const exit = await stopCli(task, 15_000);
    ok(!/NotCapable|Requires .* access|permission/i.test(exit.stderr), exit.stderr);
  },
});

Deno.test({
  name: "deno task start check-config and hash-password run the subcommands with what they need",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/tree`);
    Deno.writeTextFileSync(`${dir.path}/ok.jsonc`, `{ "root": "tree" }`);
    Deno.writeTextFileSync(`${dir.path}/bad.jsonc`, `{ "root": "nowhere" }`);
    const run = (args: string[], stdin = "") =>
      runCommand(Deno.execPath(), ["task", "--config", CONFIG, "start", ...args], {
        cwd: dir.path,
        env: { NO_COLOR: "1", INIT_CWD: dir.path },
        stdin,
      });
    const ok1 = await run(["check-config", "ok.jsonc"]);
    equal(ok1.code, 0, ok1.stderr);
    equal(ok1.stdout, `${dir.path}/ok.jsonc: OK\n`);
    const bad = await run(["check-config", "bad.jsonc"]);
    equal(bad.code, 2);
    ok(
      bad.stderr.includes(
        `${dir.path}/bad.jsonc:1: root: directory does not exist (${dir.path}/nowhere)`,
      ),
      bad.stderr,
    );
    const hash = await run(["hash-password"], "from the task\n");
    equal(hash.code, 0, hash.stderr);
    match(hash.stdout, /^\$argon2id\$v=19\$/);
  },
});

Deno.test({
  // The loader checks that on_upload.cwd exists (Deno.stat): without read on it, a config
  // with on_upload.cwd exited 2 under `deno task start` ("directory cannot be checked").
  name: "deno task start: a config with on_upload.cwd starts (the directory is granted)",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/tree`);
    Deno.mkdirSync(`${dir.path}/work`);
    Deno.writeTextFileSync(`${dir.path}/tree/a.txt`, "hello");
    Deno.writeTextFileSync(
      `${dir.path}/ftpgate.jsonc`,
      JSON.stringify({
        listen: { host: "127.0.0.1", port: 0 },
        allow_active: false,
        allow_plaintext: true,
        users: [{ name: "alice", password: "pw", root: "tree" }],
        on_upload: { command: "/bin/true", cwd: "work" },
      }),
    );
    await using task = startTask(["--config", "ftpgate.jsonc", "--ready-file", "-"], dir.path);
    const line = await readyOrWhy(task);
    equal(await downloadTextAs(line.port, "alice", "pw", "a.txt"), "hello");
    await stopCli(task, 15_000);
  },
});

Deno.test({
  // A root that is a symbolic link is ordinary (/srv/ftp -> /data/ftp, a Docker volume, /tmp on
  // macOS). LocalStorage serves its real path: the launcher grants the real path too (it
  // granted the link only, and the task exited 1 with "Requires read access to <real path>").
  name: "deno task start: a root that is a symbolic link is served",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/data`);
    Deno.writeTextFileSync(`${dir.path}/data/a.txt`, "behind a link");
    Deno.symlinkSync(`${dir.path}/data`, `${dir.path}/pub`);
    await using task = startTask(
      ["--root", "pub", "--port", "0", "--user", "alice:pw", "--no-active", "--ready-file", "-"],
      dir.path,
    );
    const line = await readyOrWhy(task);
    equal(await downloadTextAs(line.port, "alice", "pw", "a.txt"), "behind a link");
    await stopCli(task, 15_000);
  },
});

Deno.test({
  // With --no-active the launcher granted `--allow-net=localhost` only, but passive listeners
  // bind to the address the client reached (127.0.0.1): every EPSV failed with NotCapable. The
  // launcher grants the addresses the name stands for (RFC 6761 loopback, /etc/hosts).
  name: "deno task start --host localhost --no-active: passive transfers work",
  ignore: !linux,
  async fn() {
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/pub`);
    Deno.writeTextFileSync(`${dir.path}/pub/a.txt`, "over EPSV");
    await using task = startTask([
      "--root",
      "pub",
      "--host",
      "localhost",
      "--port",
      "0",
      "--user",
      "alice:pw",
      "--no-active",
      "--ready-file",
      "-",
    ], dir.path);
    const line = await readyOrWhy(task);
    {
      await using c = await loginAs(line.port, "alice", "pw");
      const reply = await c.command("EPSV");
      equal(reply.code, 229, `EPSV: ${reply.lines.join(" | ")}`);
      const port = Number(/\(\|\|\|(\d+)\|\)/.exec(reply.text)?.[1]);
      const data = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.expect("RETR a.txt", 150);
      equal(new TextDecoder().decode(await readAll(data)), "over EPSV");
      equal((await c.read()).code, 226);
    }
    const exit = await stopCli(task, 15_000);
    ok(!/NotCapable/.test(exit.stderr), exit.stderr);
  },
});
