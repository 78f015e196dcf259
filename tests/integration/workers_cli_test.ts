/**
 * `--workers N` on the command line (src/app/start.ts): main.ts runs the pool of
 * src/workers/pool.ts, serves real clients from every worker, and stops on SIGTERM with exit 0;
 * settings a pool cannot share are refused with exit 2 before anything is opened. (The pool's
 * shared limits, bans and busy guard are tested in workers_test.ts.)
 */
import { equal, match, ok } from "node:assert/strict";
import { PASSWORD, USER } from "../helpers/server.ts";
import { ServerProcess, startServerProcess } from "../helpers/hardening_helpers.ts";
import { tempDir } from "../helpers/files.ts";
import { runCommand } from "../helpers/tools.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** curl as the test user, on `path` of the server at `port`. */
function curl(port: number, args: string[], path = "") {
  return runCommand("curl", [
    "--silent",
    "--show-error",
    "--max-time",
    "10",
    "--user",
    `${USER}:${PASSWORD}`,
    ...args,
    `ftp://127.0.0.1:${port}/${path}`,
  ], { timeoutMs: 15_000 });
}

Deno.test("main.ts --workers 2: two workers listen on one port, serve uploads and downloads, and SIGTERM exits 0", async () => {
  const root = tempDir("ftpgate-workers-cli-");
  try {
    await using server = await startServerProcess(root, ["--workers", "2", "--log-level", "info"], [
      "--unstable-net",
    ]);
    // Logs are held until the first session or 100 ms after the ready line (main.ts).
    const deadline = Date.now() + 5_000;
    while (!/2 workers listening/.test(server.stderr) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    match(server.stderr, /2 workers listening on 127\.0\.0\.1 port \d+/);
    // Connections land in either worker (SO_REUSEPORT): each must see the others' files.
    const body = "uploaded through one of two workers\n";
    const source = `${root}/../workers-cli-source-${server.pid}.txt`;
    Deno.writeTextFileSync(source, body);
    try {
      for (let i = 0; i < 6; i++) {
        const upload = await curl(server.port, ["-T", source, "--ftp-create-dirs", `-o/dev/null`]);
        equal(upload.code, 0, upload.stderr);
        Deno.renameSync(`${root}/${source.split("/").pop()}`, `${root}/file-${i}.txt`);
      }
      for (let i = 0; i < 6; i++) {
        const download = await curl(server.port, [], `file-${i}.txt`);
        equal(download.code, 0, download.stderr);
        equal(download.stdout, body);
      }
      const listing = await curl(server.port, ["--list-only"]);
      equal(listing.stdout.split(/\r?\n/).filter((l) => l.startsWith("file-")).length, 6);
    } finally {
      Deno.removeSync(source);
    }
    server.kill("SIGTERM");
    const status = await server.exited(15_000);
    equal(status.code, 0, server.stderr);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("main.ts --workers refuses what a pool cannot share (exit 2, before opening anything)", async () => {
  const run = (args: string[], flags: string[] = ["--unstable-net"]) =>
    runCommand(Deno.execPath(), ["run", "-A", ...flags, MAIN, "--port", "0", ...args], {
      timeoutMs: 20_000,
      env: { NO_COLOR: "1" },
    });
  // An s3:// root: the endpoint is never contacted (nothing listens on port 9).
  const s3 = await run([
    "--workers",
    "2",
    "--root",
    "s3://bucket",
    "--s3-endpoint",
    "http://127.0.0.1:9",
  ]);
  equal(s3.code, 2, s3.stderr);
  match(s3.stderr, /--workers 2: serves local directories only/);
  const root = tempDir("ftpgate-workers-cli-");
  try {
    const noUnstable = await run(["--workers", "2", "--root", root], []);
    equal(noUnstable.code, 2, noUnstable.stderr);
    match(noUnstable.stderr, /--workers 2: run deno with --unstable-net/);
    const bad = await run(["--workers", "0", "--root", root]);
    equal(bad.code, 2);
    match(bad.stderr, /--workers: expected 1 to 64 or auto, got "0"/);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("main.ts --workers 2 with a memory: root keeps one server and serves", async () => {
  await using server = await ServerProcess.start([
    "--root",
    "memory:",
    "--port",
    "0",
    "--user",
    `${USER}:${PASSWORD}`,
    "--workers",
    "2",
    "--log-level",
    "error",
  ], ["--unstable-net"]);
  const listing = await curl(server.port, ["--list-only"]);
  equal(listing.code, 0, listing.stderr);
  server.kill("SIGTERM");
  ok((await server.exited(15_000)).success);
});

Deno.test("main.ts with run.workers 2: a SIGHUP that changes logging.level applies it in every worker", async () => {
  const root = tempDir("ftpgate-workers-cli-");
  try {
    const config = `${root}/ftpgate.json`;
    const write = (level: string) =>
      Deno.writeTextFileSync(
        config,
        JSON.stringify({
          root: `${root}/tree`,
          listen: { port: 0 },
          users: [{ name: USER, password: PASSWORD }],
          logging: { level },
          run: { workers: 2 },
          allow_plaintext: true,
        }),
      );
    Deno.mkdirSync(`${root}/tree`);
    write("warning");
    await using server = await ServerProcess.start(["--config", config], ["--unstable-net"]);
    const sessions = async () => {
      // Enough connections that both workers take some (SO_REUSEPORT hashes by client port).
      for (let i = 0; i < 8; i++) equal((await curl(server.port, ["--list-only"])).code, 0);
    };
    await sessions();
    ok(!/opened from/.test(server.stderr), "no info lines at level warning");
    write("info");
    server.kill("SIGHUP");
    const deadline = Date.now() + 10_000;
    while (!/configuration reloaded/.test(server.stderr) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await sessions();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const opened = server.stderr.match(/Session (\d+) opened from/g) ?? [];
    // Session numbers are odd in the first worker and even in the second (sessionIds step 2).
    const numbers = opened.map((line) => Number(/Session (\d+)/.exec(line)![1]));
    ok(numbers.some((n) => n % 2 === 1) && numbers.some((n) => n % 2 === 0), opened.join("\n"));
    server.kill("SIGTERM");
    equal((await server.exited(15_000)).code, 0);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
