/**
 * Shutdown: `server.shutdown()` with sessions in every state, transfers inside and beyond the
 * grace period, and the CLI process on SIGTERM and SIGINT (exit code 0, a transfer in flight
 * finishing within `--shutdown-grace`).
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { RawClient, type Reply } from "../helpers/raw_client.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { closeQuietly, sleep, utf8 } from "../helpers/protocol_helpers.ts";
import {
  equalBytes,
  KiB,
  loginBinary,
  MiB,
  names,
  readSlowly,
  report,
  ServerProcess,
  sparseFile,
} from "../helpers/hardening_helpers.ts";

/** Replies until the server closes the connection (bounded). */
async function repliesUntilClose(c: RawClient, timeoutMs = 5_000): Promise<number[]> {
  const codes: number[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let reply: Reply;
    try {
      reply = await c.read(Math.max(1, deadline - Date.now()));
    } catch (error) {
      if (/connection closed/.test(String(error)) || error instanceof Deno.errors.ConnectionReset) {
        return codes;
      }
      throw error;
    }
    codes.push(reply.code);
  }
}

async function refused(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
}

/** The final replies of an aborted transfer at shutdown: 426 then 421, or 421 alone. */
function abortedAtShutdown(codes: number[]): boolean {
  return JSON.stringify(codes) === "[426,421]" || JSON.stringify(codes) === "[421]";
}

// ---------------------------------------------------------------------------------------------
// The library: server.shutdown()
// ---------------------------------------------------------------------------------------------

Deno.test("shutdown(): sessions in every idle state get 421 and the close, in under 1 s", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using fresh = await RawClient.connect(t.port);
  await using halfLoggedIn = await RawClient.connect(t.port);
  await halfLoggedIn.expect(`USER ${t.user}`, 331);
  await using idle = await loginBinary(t.port);
  await using armed = await loginBinary(t.port);
  const passivePort = Number(/\|(\d+)\|/.exec((await armed.expect("EPSV", 229)).text)![1]);
  await using midRename = await loginBinary(t.port);
  await midRename.expect("REST 1", 350);
  await midRename.expect("RNFR a.txt", 350);
  const started = Date.now();
  await t.server.shutdown(); // the default grace: nothing is transferring, so no wait
  const elapsed = Date.now() - started;
  report(`shutdown() with 5 idle sessions in different states: ${elapsed} ms`);
  ok(elapsed < 1_000, `shutdown took ${elapsed} ms`);
  for (const c of [fresh, halfLoggedIn, idle, armed, midRename]) {
    deepEqual(await repliesUntilClose(c), [421]);
  }
  equal(t.server.sessionCount, 0);
  ok(await refused(t.port), "the control port still accepts");
  ok(await refused(passivePort), "a passive port is still open");
  ok(await refused(t.port), "the control port accepts again");
});

Deno.test("shutdown(): a running RETR finishes within the grace period; idle sessions go at once", async () => {
  const payload = randomBytes(16 * MiB, 71);
  await using t = startServer({ files: { "f.bin": payload } });
  await using idle = await loginBinary(t.port);
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("RETR f.bin", 150);
  const downloading = readSlowly(data, 256 * KiB, 15);
  await sleep(50);
  const started = Date.now();
  const stopping = t.server.shutdown({ graceMs: 5_000 });
  const idleCodes = await repliesUntilClose(idle);
  const idleClosedMs = Date.now() - started;
  deepEqual(idleCodes, [421]);
  ok(await refused(t.port), "new connections are accepted during the grace period");
  const got = await downloading;
  ok(equalBytes(got, payload), "the download in flight was cut");
  deepEqual(await repliesUntilClose(c), [226, 421]);
  await stopping;
  const stoppedMs = Date.now() - started;
  report(
    `shutdown with a transfer in flight: idle session closed after ${idleClosedMs} ms, ` +
      `transfer done and shutdown resolved after ${stoppedMs} ms (grace 5000 ms)`,
  );
  ok(stoppedMs < 5_000);
});

Deno.test("shutdown(): transfers longer than the grace are aborted (426/421); an atomic upload leaves the old file", async () => {
  await using t = startServer({ atomicUploads: true, files: { "old.bin": "OLD" } });
  sparseFile(`${t.root}/huge.bin`, 100 * MiB);
  await using reader = await loginBinary(t.port);
  const readData = await reader.epsv();
  await reader.expect("RETR huge.bin", 150); // and never read
  await using uploader = await loginBinary(t.port);
  const writeData = await uploader.epsv();
  await uploader.expect("STOR old.bin", 150);
  await writeData.write(new Uint8Array(256 * KiB));
  try {
    const started = Date.now();
    await t.server.shutdown({ graceMs: 300 });
    const elapsed = Date.now() - started;
    const readerCodes = await repliesUntilClose(reader);
    const uploaderCodes = await repliesUntilClose(uploader);
    report(
      `shutdown past the grace: ${elapsed} ms; RETR got ${readerCodes}, STOR got ${uploaderCodes}`,
    );
    ok(abortedAtShutdown(readerCodes), `RETR: ${readerCodes}`);
    ok(abortedAtShutdown(uploaderCodes), `STOR: ${uploaderCodes}`);
    ok(elapsed < 3_000, `shutdown took ${elapsed} ms`);
  } finally {
    closeQuietly(readData);
    closeQuietly(writeData);
  }
  equal(Deno.readTextFileSync(`${t.root}/old.bin`), "OLD");
  deepEqual(names(t.root), ["huge.bin", "old.bin"]);
});

Deno.test("shutdown(): a transfer still waiting for its data connection does not outlast the grace", async () => {
  await using t = startServer({ files: { "a.txt": "a" } }); // dataTimeoutMs: the default 30 s
  await using c = await loginBinary(t.port);
  await c.expect("EPSV", 229); // and never connect
  await c.send("RETR a.txt"); // no 150: it comes only with the data connection
  const started = Date.now();
  await t.server.shutdown({ graceMs: 300 });
  const elapsed = Date.now() - started;
  const codes = await repliesUntilClose(c);
  report(`shutdown with a transfer waiting for its data connection: ${elapsed} ms, got ${codes}`);
  ok(elapsed < 2_000, `shutdown took ${elapsed} ms`);
  ok(codes.includes(421), `codes ${codes}`);
});

Deno.test({
  name: "shutdown(): an aborted transfer's 426 comes before the 421, and nothing after it",
  // The aborted transfer's 426 first, then 421 as the last reply (RFC 959 §4.2: 421 is sent when
  // the service is about to close the control connection).
  fn: async () => {
    await using t = startServer({ files: { "a.txt": "a" } });
    sparseFile(`${t.root}/huge.bin`, 100 * MiB);
    await using waiting = await loginBinary(t.port);
    await waiting.expect("EPSV", 229); // and never connect
    await waiting.send("RETR a.txt"); // no 150: it comes only with the data connection
    await using stalled = await loginBinary(t.port);
    const data = await stalled.epsv();
    try {
      await stalled.expect("RETR huge.bin", 150); // and never read
      await t.server.shutdown({ graceMs: 300 });
      deepEqual(await repliesUntilClose(waiting), [426, 421]);
      deepEqual(await repliesUntilClose(stalled), [426, 421]);
    } finally {
      closeQuietly(data);
    }
  },
});

// ---------------------------------------------------------------------------------------------
// The CLI: signals
// ---------------------------------------------------------------------------------------------

async function cli(root: string, extra: string[]) {
  return await ServerProcess.start([
    "--root",
    root,
    "--port",
    "0",
    "--user",
    "sig:secret",
    "--log-level",
    "error",
    ...extra,
  ]);
}

async function cliLogin(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.login("sig", "secret");
  await c.expect("TYPE I", 200);
  return c;
}

function tempRoot(files: Record<string, Uint8Array> = {}): string {
  const root = Deno.makeTempDirSync({ prefix: "ftpgate-signal-" });
  for (const [name, bytes] of Object.entries(files)) Deno.writeFileSync(`${root}/${name}`, bytes);
  return root;
}

Deno.test("CLI: SIGTERM lets a transfer in flight finish within --shutdown-grace, then exits 0", async () => {
  const payload = randomBytes(16 * MiB, 72);
  const root = tempRoot({ "f.bin": payload });
  try {
    await using server = await cli(root, ["--shutdown-grace", "5"]);
    await using c = await cliLogin(server.port);
    const data = await c.epsv();
    await c.expect("RETR f.bin", 150);
    const downloading = readSlowly(data, 256 * KiB, 15);
    await sleep(100);
    const started = Date.now();
    server.kill("SIGTERM");
    const got = await downloading;
    ok(equalBytes(got, payload), "the download in flight was cut");
    deepEqual(await repliesUntilClose(c), [226, 421]);
    const status = await server.exited(10_000);
    report(
      `CLI SIGTERM with a transfer in flight: exited ${status.code} after ${
        Date.now() - started
      } ms`,
    );
    equal(status.code, 0, server.stderr);
    ok(await refused(server.port));
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("CLI: SIGINT with idle sessions: 421 to each, exit 0 at once", async () => {
  const root = tempRoot();
  try {
    await using server = await cli(root, ["--shutdown-grace", "10"]);
    await using a = await cliLogin(server.port);
    await using b = await RawClient.connect(server.port);
    const started = Date.now();
    server.kill("SIGINT");
    deepEqual(await repliesUntilClose(a), [421]);
    deepEqual(await repliesUntilClose(b), [421]);
    const status = await server.exited(5_000);
    const elapsed = Date.now() - started;
    report(`CLI SIGINT with 2 idle sessions: exited ${status.code} after ${elapsed} ms`);
    equal(status.code, 0, server.stderr);
    ok(elapsed < 2_000, `exit took ${elapsed} ms`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("CLI: a transfer longer than --shutdown-grace is aborted (426/421); exit 0", async () => {
  const root = tempRoot({ "a.txt": utf8("a") });
  sparseFile(`${root}/huge.bin`, 100 * MiB);
  try {
    await using server = await cli(root, ["--shutdown-grace", "1"]);
    await using c = await cliLogin(server.port);
    const data = await c.epsv();
    try {
      await c.expect("RETR huge.bin", 150); // and never read
      const started = Date.now();
      server.kill("SIGTERM");
      const codes = await repliesUntilClose(c, 10_000);
      const status = await server.exited(10_000);
      const elapsed = Date.now() - started;
      report(
        `CLI SIGTERM past a 1 s grace: got ${codes}, exited ${status.code} after ${elapsed} ms`,
      );
      ok(abortedAtShutdown(codes), `codes ${codes}`);
      equal(status.code, 0, server.stderr);
      ok(elapsed >= 900 && elapsed < 5_000, `exit after ${elapsed} ms`);
    } finally {
      closeQuietly(data);
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test({
  name: "CLI: a second signal skips the grace period (main.ts contract)",
  // Regression (fixed): FtpServer.shutdown() memoizes the first call (`#shuttingDown ??= ...`), so the
  // `shutdown({ graceMs: 0 })` that main.ts issues on the second SIGINT/SIGTERM is ignored and
  // the transfer keeps the process alive for the whole first grace period. Expected: the
  // second signal aborts running transfers at once (426/421) and the process exits 0.
  fn: async () => {
    const root = tempRoot();
    sparseFile(`${root}/huge.bin`, 100 * MiB);
    try {
      await using server = await cli(root, ["--shutdown-grace", "30"]);
      await using c = await cliLogin(server.port);
      const data = await c.epsv();
      try {
        await c.expect("RETR huge.bin", 150); // and never read
        server.kill("SIGTERM");
        await sleep(300);
        const started = Date.now();
        server.kill("SIGINT");
        const codes = await repliesUntilClose(c, 5_000);
        const status = await server.exited(5_000);
        ok(abortedAtShutdown(codes), `codes ${codes}`);
        equal(status.code, 0, server.stderr);
        ok(Date.now() - started < 3_000);
      } finally {
        closeQuietly(data);
      }
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});
