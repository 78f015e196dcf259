/**
 * Every limit of `serve()` under attack: session caps (overall and per IP), idle, data and stall
 * timeouts (a busy transfer is not idle; a reader that never reads costs bounded memory), the
 * line length cap, a client flooding commands it never reads replies for, failed-login limits,
 * the delay before 530, and IP bans and their expiry.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { RawClient } from "../helpers/raw_client.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { closeQuietly, sleep, utf8, waitFor, withTimeout } from "../helpers/protocol_helpers.ts";
import {
  assertStillServes,
  canListenOn,
  connectFrom,
  equalBytes,
  hasPython,
  KiB,
  loginBinary,
  loud,
  MiB,
  mib,
  names,
  readSlowly,
  report,
  rss,
  rssSampler,
  ServerProcess,
  sparseFile,
  startServerProcess,
  transferredBytes,
} from "../helpers/hardening_helpers.ts";
import { writeAll } from "../../src/io.ts";

const OTHER_IP = "127.0.0.2";
const CAN_USE_OTHER_IP = canListenOn(OTHER_IP) && hasPython();
if (!CAN_USE_OTHER_IP) {
  loud(`the per-IP checks from ${OTHER_IP} are SKIPPED: needs python3 and that loopback address`);
}
const OK_TEXT = "limits-ok";

/** Connects and reads the greeting; returns its code and whether the server then closed. */
async function greet(port: number): Promise<{ code: number; closed: boolean }> {
  await using c = await RawClient.connect(port);
  const closed = c.banner.code === 421 ? await c.closedByServer(5_000) : false;
  return { code: c.banner.code, closed };
}

/** What a connection from another loopback address is greeted with ("" when nothing). */
async function greetFrom(source: string, port: number): Promise<string> {
  const seen = await connectFrom(source, "127.0.0.1", port, 0.5);
  ok(seen.connected, seen.error);
  return (seen.head ?? "").slice(0, 3);
}

// ---------------------------------------------------------------------------------------------
// Session caps
// ---------------------------------------------------------------------------------------------

Deno.test("maxSessionsPerIp: 421 and close past the cap; other IPs unaffected; refusals leak no slot", async () => {
  await using t = startServer({ maxSessionsPerIp: 2, maxSessions: 100 });
  const a = await RawClient.connect(t.port);
  await using b = await RawClient.connect(t.port);
  deepEqual([a.banner.code, b.banner.code], [220, 220]);
  const refused = await Promise.all(Array.from({ length: 20 }, () => greet(t.port)));
  for (const r of refused) deepEqual(r, { code: 421, closed: true });
  if (CAN_USE_OTHER_IP) equal(await greetFrom(OTHER_IP, t.port), "220");
  await a.expect("QUIT", 221);
  a.close();
  await waitFor(() => t.server.sessionCount === 1, "the first session to end");
  // Twenty refusals took no slot: exactly one comes free.
  await using d = await RawClient.connect(t.port);
  equal(d.banner.code, 220);
  deepEqual(await greet(t.port), { code: 421, closed: true });
});

Deno.test("maxSessions: a burst of 30 over the cap all get 421 and close; the slots come back", async () => {
  await using t = startServer({ maxSessions: 3, files: { "ok.txt": OK_TEXT } });
  const held = await Promise.all([0, 1, 2].map(() => RawClient.connect(t.port)));
  for (const c of held) equal(c.banner.code, 220);
  const burst = await Promise.all(Array.from({ length: 30 }, () => greet(t.port)));
  for (const r of burst) deepEqual(r, { code: 421, closed: true });
  equal(t.server.sessionCount, 3);
  for (const c of held) c.close();
  await waitFor(() => t.server.sessionCount === 0, "the held sessions to end");
  const again = await Promise.all([0, 1, 2].map(() => RawClient.connect(t.port)));
  for (const c of again) equal(c.banner.code, 220);
  deepEqual(await greet(t.port), { code: 421, closed: true });
  for (const c of again) c.close();
  await waitFor(() => t.server.sessionCount === 0, "the sessions to end");
  await assertStillServes(t.port, "ok.txt", OK_TEXT);
});

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

Deno.test("idleTimeoutMs: a slow RETR longer than the idle timeout completes; idle closes after", async () => {
  const idleTimeoutMs = 300;
  await using t = startServer({ idleTimeoutMs });
  sparseFile(`${t.root}/big.bin`, 24 * MiB);
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("RETR big.bin", 150);
  const opened = Date.now();
  const final = c.read(30_000).then((reply) => ({ reply, at: Date.now() }));
  const got = await readSlowly(data, 128 * KiB, 10);
  const { reply, at } = await final;
  equal(reply.code, 226, reply.lines.join(" | "));
  equal(got.length, 24 * MiB);
  ok(got.every((byte) => byte === 0));
  const serverSide = at - opened;
  report(
    `slow RETR: the server-side transfer took ${serverSide} ms (idle timeout ${idleTimeoutMs})`,
  );
  ok(serverSide > 2 * idleTimeoutMs, "the transfer was too fast to prove anything");
  // Idle from the end of the transfer on (the tail we were still draining was in the kernel's
  // buffers): 421, and the connection closes.
  equal((await c.read(5_000)).code, 421);
  ok(await c.closedByServer(5_000));
});

Deno.test("idleTimeoutMs: a slow STOR longer than the idle timeout completes byte for byte", async () => {
  const idleTimeoutMs = 300;
  await using t = startServer({ idleTimeoutMs });
  await using c = await loginBinary(t.port);
  const payload = randomBytes(20 * 64 * KiB, 41);
  const data = await c.epsv();
  await c.expect("STOR slow.bin", 150);
  const started = Date.now();
  try {
    for (let offset = 0; offset < payload.length; offset += 64 * KiB) {
      const chunk = payload.subarray(offset, offset + 64 * KiB);
      let written = 0;
      while (written < chunk.length) written += await data.write(chunk.subarray(written));
      await sleep(60);
    }
  } finally {
    data.close();
  }
  equal((await c.read(5_000)).code, 226);
  ok(Date.now() - started > 3 * idleTimeoutMs);
  ok(equalBytes(Deno.readFileSync(`${t.root}/slow.bin`), payload));
  await c.expect("NOOP", 200);
});

for (const atomicUploads of [false, true]) {
  Deno.test({
    name: `dataTimeoutMs: a STOR whose data connection never comes gets 425 and keeps the old file${
      atomicUploads ? " (atomicUploads)" : ""
    }`,
    fn: async () => {
      const old = "OLD-CONTENT-that-a-failed-STOR-must-not-destroy";
      await using t = startServer({ dataTimeoutMs: 300, atomicUploads, files: { "f.txt": old } });
      await using c = await loginBinary(t.port);
      await c.expect("EPSV", 229); // and never connect
      // The file is opened only once the data connection exists: a plain 425, nothing changed.
      await c.expect("STOR f.txt", 425);
      equal(Deno.readTextFileSync(`${t.root}/f.txt`), old);
      deepEqual(names(t.root), ["f.txt"]);
      await assertStillServes(t.port, "f.txt", old);
    },
  });
}

/**
 * The memory tests run the server as its own process (the CLI) and read its VmRSS: under
 * `deno test --parallel` test files are workers of one process, so this process's RSS would
 * include whatever the other files allocate meanwhile.
 */
async function memoryServer(extra: string[]) {
  const root = Deno.makeTempDirSync({ prefix: "ftpgate-memory-" });
  Deno.writeTextFileSync(`${root}/ok.txt`, OK_TEXT);
  const server = await startServerProcess(root, extra);
  return Object.assign(server, {
    root,
    async [Symbol.asyncDispose]() {
      await ServerProcess.prototype[Symbol.asyncDispose].call(server);
      Deno.removeSync(root, { recursive: true });
    },
  });
}

const RSS_GROWTH_BOUND = 64 * MiB;

Deno.test("stallTimeoutMs: a client that never reads a 200 MiB RETR gets 426; server memory stays bounded", async () => {
  await using server = await memoryServer(["--stall-timeout", "0.5"]);
  sparseFile(`${server.root}/huge.bin`, 200 * MiB);
  await using c = await loginBinary(server.port);
  await sleep(100);
  const before = server.rss;
  const testBefore = rss();
  const sampler = rssSampler(server.pid);
  const data = await c.epsv();
  try {
    await c.expect("RETR huge.bin", 150);
    const started = Date.now();
    const reply = await c.read(10_000);
    equal(reply.code, 426, reply.lines.join(" | "));
    report(`stalled reader: 426 after ${Date.now() - started} ms`);
  } finally {
    closeQuietly(data);
  }
  const peak = sampler.stop();
  const after = server.rss;
  report(
    `stalled reader (200 MiB RETR never read): server VmRSS before ${mib(before)}, ` +
      `peak ${mib(peak)}, after ${mib(after)}, growth ${mib(peak - before)}; ` +
      `this test process: ${mib(testBefore)} → ${mib(rss())}`,
  );
  ok(Number.isFinite(peak - before), "could not read the server's VmRSS");
  ok(peak - before < RSS_GROWTH_BOUND, `server RSS grew by ${mib(peak - before)}`);
  await c.expect("NOOP", 200);
  await assertStillServes(server.port, "ok.txt", OK_TEXT);
});

for (const atomicUploads of [false, true]) {
  Deno.test(
    `stallTimeoutMs: an upload that goes silent gets 426; ${
      atomicUploads ? "the old file is intact" : "the bytes received stay"
    }`,
    async () => {
      const old = "OLD";
      await using t = startServer({ stallTimeoutMs: 300, atomicUploads, files: { "f.bin": old } });
      await using c = await loginBinary(t.port);
      const payload = randomBytes(100 * KiB, 42);
      const data = await c.epsv();
      try {
        await c.expect("STOR f.bin", 150);
        await writeAll(data, payload);
        await waitFor(async () => (await transferredBytes(c)) === payload.length, "the bytes");
        // ...and now nothing more, but the connection stays open.
        equal((await c.read(5_000)).code, 426);
      } finally {
        closeQuietly(data);
      }
      await waitFor(
        () => names(t.root).every((name) => !name.startsWith(".ftpgate-upload-")),
        "the temporary file to go",
      );
      if (atomicUploads) equal(Deno.readTextFileSync(`${t.root}/f.bin`), old);
      else ok(equalBytes(Deno.readFileSync(`${t.root}/f.bin`), payload));
      await c.expect("NOOP", 200);
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Command lines
// ---------------------------------------------------------------------------------------------

Deno.test("maxLineLength: the limit is exact; three over-long lines (not in a row) close the session", async () => {
  await using t = startServer({ maxLineLength: 64 });
  await using c = await RawClient.connect(t.port);
  await c.expect(`USER ${"u".repeat(59)}`, 331); // 64 bytes
  await c.expect(`USER ${"u".repeat(60)}`, 500); // 65 bytes
  await c.expect("NOOP", 200);
  await c.expect(`MKD ${"x".repeat(5000)}`, 500);
  await c.expect("SYST", 215);
  await c.sendRaw(new Uint8Array(200 * KiB).fill(0x41)); // a third, sent in pieces
  await c.sendRaw(utf8("\r\nNOOP\r\n"));
  equal((await c.read()).code, 500);
  ok(await c.closedByServer(5_000), "the session stayed open after three over-long lines");
  await using again = await RawClient.connect(t.port);
  equal(again.banner.code, 220);
});

Deno.test("a line that never ends costs no memory and does not keep the session alive", async () => {
  await using server = await memoryServer(["--idle-timeout", "0.4"]);
  const c = await RawClient.connect(server.port);
  await sleep(100);
  const before = server.rss;
  const sampler = rssSampler(server.pid);
  let sent = 0;
  let stop = false;
  const chunk = new Uint8Array(64 * KiB).fill(0x42);
  const writing = (async () => {
    try {
      while (!stop) {
        sent += await c.conn.write(chunk);
        await sleep(1);
      }
    } catch { /* the server closed */ }
  })();
  try {
    const reply = await c.read(10_000);
    equal(reply.code, 421, reply.lines.join(" | "));
    ok(await c.closedByServer(5_000));
  } finally {
    stop = true;
    c.close();
    await writing;
  }
  const peak = sampler.stop();
  report(
    `endless line: ${mib(sent)} sent before the idle close, server VmRSS growth ${
      mib(peak - before)
    }`,
  );
  ok(sent > 4 * MiB, "too little was sent to mean anything");
  ok(peak - before < RSS_GROWTH_BOUND, `server RSS grew by ${mib(peak - before)}`);
  await assertStillServes(server.port, "ok.txt", OK_TEXT);
});

Deno.test("a client pipelining 200k NOOPs without reading: bounded memory, others still served", async () => {
  await using server = await memoryServer([]);
  const flood = await RawClient.connect(server.port);
  const lines = utf8("NOOP\r\n".repeat(200_000));
  await sleep(100);
  const before = server.rss;
  const sampler = rssSampler(server.pid);
  let written = 0;
  const writing = (async () => {
    try {
      while (written < lines.length) {
        written += await flood.conn.write(lines.subarray(written, written + 64 * KiB));
      }
    } catch { /* closed by us */ }
  })();
  let legitMs = 0;
  try {
    await sleep(300);
    const started = Date.now();
    await withTimeout(assertStillServes(server.port, "ok.txt", OK_TEXT), 2_000, "a legit client");
    legitMs = Date.now() - started;
    await sleep(500);
  } finally {
    flood.close();
    await writing;
  }
  const peak = sampler.stop();
  report(
    `command flood: ${written} of ${lines.length} bytes taken by the kernel, ` +
      `server VmRSS before ${mib(before)}, peak ${mib(peak)}, growth ${mib(peak - before)}; ` +
      `legit login + RETR during the flood took ${legitMs} ms`,
  );
  ok(peak - before < RSS_GROWTH_BOUND, `server RSS grew by ${mib(peak - before)}`);
  // The flooding session ends with its connection; the server goes on.
  await assertStillServes(server.port, "ok.txt", OK_TEXT);
});

// ---------------------------------------------------------------------------------------------
// Logins
// ---------------------------------------------------------------------------------------------

Deno.test("maxLoginAttempts: the last failure gets 421 and the close; USER again does not reset", async () => {
  await using t = startServer({
    maxLoginAttempts: 2,
    loginFailureDelayMs: 0,
    banAfterFailures: 100,
  });
  await using c = await RawClient.connect(t.port);
  await c.expect(`USER ${t.user}`, 331);
  await c.expect("PASS wrong", 530);
  await c.expect("USER someone-else", 331);
  equal((await c.command("PASS wrong again")).code, 421);
  ok(await c.closedByServer(5_000));
  // Per session: a new one can log in.
  await using d = await loginBinary(t.port);
  await d.expect("NOOP", 200);
});

Deno.test("loginFailureDelayMs: the 530 comes after the delay, and other sessions are served meanwhile", async () => {
  const delay = 800;
  await using t = startServer({ loginFailureDelayMs: delay, files: { "ok.txt": OK_TEXT } });
  await using c = await RawClient.connect(t.port);
  await c.expect(`USER ${t.user}`, 331);
  const sent = Date.now();
  await c.send("PASS wrong");
  const failure = c.read(5_000).then((reply) => ({ reply, at: Date.now() }));
  await assertStillServes(t.port, "ok.txt", OK_TEXT);
  const otherDone = Date.now();
  const { reply, at } = await failure;
  equal(reply.code, 530);
  report(`login failure delay: 530 after ${at - sent} ms (configured ${delay})`);
  ok(at - sent >= delay - 50, `530 after ${at - sent} ms`);
  ok(otherDone < at, "another session waited for the delayed 530");
});

Deno.test("banAfterFailures: a banned IP gets 421 at connect, other IPs do not, the ban lifts", async () => {
  const banDurationMs = 1_000;
  await using t = startServer({
    maxLoginAttempts: 2,
    loginFailureDelayMs: 0,
    banAfterFailures: 3,
    banDurationMs,
    files: { "ok.txt": OK_TEXT },
  });
  // Failures spread over sessions still count against the address.
  await using a = await RawClient.connect(t.port);
  await a.expect(`USER ${t.user}`, 331);
  await a.expect("PASS wrong", 530);
  await a.expect(`USER ${t.user}`, 331);
  equal((await a.command("PASS wrong")).code, 421);
  await using b = await RawClient.connect(t.port);
  await b.expect(`USER ${t.user}`, 331);
  // The failure that brings the ban closes its session too.
  await b.expect("PASS wrong", 421);
  const bannedAt = Date.now();
  // Banned: even the right password cannot get in, the greeting is already 421.
  await using c = await RawClient.connect(t.port);
  equal(c.banner.code, 421);
  ok(/failed logins/i.test(c.banner.text), c.banner.text);
  ok(await c.closedByServer(5_000));
  if (CAN_USE_OTHER_IP) equal(await greetFrom(OTHER_IP, t.port), "220");
  // Lifted after the ban duration.
  let liftedAt = 0;
  await waitFor(
    async () => {
      const { code } = await greet(t.port);
      if (code === 220) liftedAt = Date.now();
      return code === 220;
    },
    "the ban to lift",
    banDurationMs + 3_000,
  );
  report(`ban lifted ${liftedAt - bannedAt} ms after it started (duration ${banDurationMs} ms)`);
  ok(liftedAt - bannedAt >= banDurationMs - 100, "the ban lifted early");
  await assertStillServes(t.port, "ok.txt", OK_TEXT);
});

Deno.test("maxPipelinedBytes: with a tiny read-ahead, pipelined commands are all answered in order", async () => {
  // The server reads at most 16 bytes ahead: lines span reads, and none is lost or reordered.
  await using t = startServer({ maxPipelinedBytes: 16 });
  await using c = await loginBinary(t.port);
  await c.sendRaw(new TextEncoder().encode("NOOP\r\n".repeat(10)));
  for (let i = 0; i < 10; i++) equal((await c.read()).code, 200);
  await c.expect("PWD", 257);
});
