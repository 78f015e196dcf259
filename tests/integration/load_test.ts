/**
 * Load, bounded in count and time: 1,000 idle TCP connections against a server (the CLI, in its
 * own process so that its memory can be read from /proc) limited to 200 sessions. The 200 get
 * 220 and sit there; every other connection gets 421 and is closed; a legitimate client still
 * logs in and downloads within 2 s; the server's resident memory stays under a stated bound.
 *
 * File descriptors: the test runs with the caller's `ulimit -n`. When it is too low for 1,000
 * sockets (or opening them hits EMFILE) the test scales down and says so loudly.
 */

import { equal, ok } from "node:assert/strict";
import { RawClient } from "../helpers/raw_client.ts";
import { randomBytes } from "../helpers/server.ts";
import { closeQuietly, sleep, withTimeout } from "../helpers/protocol_helpers.ts";
import {
  equalBytes,
  KiB,
  loud,
  MiB,
  mib,
  report,
  ServerProcess,
} from "../helpers/hardening_helpers.ts";

const WANTED = 1_000;
const MAX_SESSIONS = 200;
/** The bound we promise for the server process with 200 idle sessions. */
const RSS_BOUND = 150 * MiB;

/** The soft limit on open files of this process (Infinity when unknown or unlimited). */
function openFileLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\S+)/m.exec(limits);
    return match && match[1] !== "unlimited" ? Number(match[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

/** Reads the first line a connection receives; "" when it closes or times out first. */
async function firstLine(conn: Deno.TcpConn, timeoutMs: number): Promise<string> {
  const buffer = new Uint8Array(512);
  let text = "";
  const timer = setTimeout(() => closeQuietly(conn), timeoutMs);
  try {
    while (!text.includes("\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
  } catch {
    /* reset, or closed by the timer */
  } finally {
    clearTimeout(timer);
  }
  return text.split("\r\n")[0];
}

/** True when the server closes the connection within `timeoutMs`. */
async function closedWithin(conn: Deno.TcpConn, timeoutMs: number): Promise<boolean> {
  const buffer = new Uint8Array(512);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, timeoutMs);
  try {
    while ((await conn.read(buffer)) !== null) { /* more text after 421? keep reading */ }
    return true;
  } catch (error) {
    return !timedOut && error instanceof Deno.errors.ConnectionReset;
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

Deno.test("load: 1,000 idle connections, maxSessions 200: 421 past the cap, a legit client in < 2 s, bounded RSS", async () => {
  const limit = openFileLimit();
  let target = WANTED;
  report(`open-file limit (ulimit -n) of the test process: ${limit}`);
  if (limit < WANTED + 200) {
    target = Math.max(MAX_SESSIONS + 50, limit - 200);
    loud(`ulimit -n is ${limit}: SCALING DOWN from ${WANTED} to ${target} connections`);
  }
  const root = Deno.makeTempDirSync({ prefix: "ftpgate-load-" });
  const payload = randomBytes(256 * KiB, 61);
  Deno.writeFileSync(`${root}/ok.bin`, payload);
  const conns: Deno.TcpConn[] = [];
  try {
    await using server = await ServerProcess.start([
      "--root",
      root,
      "--port",
      "0",
      "--max-sessions",
      String(MAX_SESSIONS),
      "--max-sessions-per-ip",
      "1000",
      "--user",
      "load:secret",
      "--log-level",
      "error",
    ]);
    await sleep(100);
    const rssBefore = server.rss;

    // Open the flood in batches; EMFILE scales it down instead of failing.
    const started = Date.now();
    while (conns.length < target) {
      const batch = Math.min(100, target - conns.length);
      const results = await Promise.allSettled(
        Array.from(
          { length: batch },
          () => Deno.connect({ hostname: "127.0.0.1", port: server.port }),
        ),
      );
      let failed: unknown = null;
      for (const result of results) {
        if (result.status === "fulfilled") conns.push(result.value);
        else failed = result.reason;
      }
      if (failed !== null) {
        loud(
          `opening connection ${
            conns.length + 1
          } failed (${failed}): SCALING DOWN to ${conns.length}`,
        );
        target = conns.length;
        break;
      }
    }
    ok(conns.length > MAX_SESSIONS, `only ${conns.length} connections could be opened`);
    const greetings = await Promise.all(conns.map((conn) => firstLine(conn, 15_000)));
    const admitted = conns.filter((_, i) => greetings[i].startsWith("220 "));
    const refusedIndexes = greetings.flatMap((line, i) => (line.startsWith("421 ") ? [i] : []));
    const floodMs = Date.now() - started;
    equal(admitted.length, MAX_SESSIONS, `admitted: ${admitted.length}`);
    equal(refusedIndexes.length, conns.length - MAX_SESSIONS, "every other connection gets 421");
    const closed = await Promise.all(refusedIndexes.map((i) => closedWithin(conns[i], 10_000)));
    equal(
      closed.filter((c) => c).length,
      refusedIndexes.length,
      "a refused connection stayed open",
    );
    await sleep(200);
    const rssFlood = server.rss;

    // A legitimate client, while 199 idle sessions sit there: one slot is given back first.
    closeQuietly(admitted[0]);
    const legitStarted = Date.now();
    let attempts = 0;
    let c: RawClient | null = null;
    while (c === null) {
      attempts++;
      const attempt = await RawClient.connect(server.port);
      if (attempt.banner.code === 220) c = attempt;
      else {
        attempt.close();
        ok(Date.now() - legitStarted < 2_000, "no slot came free within 2 s");
        await sleep(10);
      }
    }
    try {
      await c.login("load", "secret");
      await c.expect("TYPE I", 200);
      const got = await withTimeout(c.download("RETR ok.bin"), 2_000, "the legit RETR");
      ok(equalBytes(got, payload));
    } finally {
      c.close();
    }
    const legitMs = Date.now() - legitStarted;
    const rssAfter = server.rss;
    report(
      `load: ${conns.length} connections in ${floodMs} ms: ${admitted.length} admitted, ` +
        `${refusedIndexes.length} refused with 421 and closed; legit login + RETR in ${legitMs} ms ` +
        `(${attempts} connect attempts); server VmRSS before ${mib(rssBefore)}, ` +
        `with the flood ${mib(rssFlood)}, after the legit RETR ${mib(rssAfter)} ` +
        `(bound ${mib(RSS_BOUND)})`,
    );
    ok(legitMs < 2_000, `the legit client took ${legitMs} ms`);
    ok(Number.isFinite(rssFlood), "could not read the server's VmRSS");
    ok(rssFlood < RSS_BOUND && rssAfter < RSS_BOUND, "server RSS over the bound");

    // A clean stop with 199 idle sessions still connected.
    server.kill("SIGTERM");
    const status = await server.exited(10_000);
    equal(status.code, 0, server.stderr);
  } finally {
    for (const conn of conns) closeQuietly(conn);
    Deno.removeSync(root, { recursive: true });
  }
});
