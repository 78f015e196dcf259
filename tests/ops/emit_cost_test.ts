/**
 * What the ops modules cost the server per event: everything attached (metrics, status page
 * feed, transfer log, upload hook, webhook to a receiver that never answers), events emitted
 * in a tight loop as the server would, time per `emit()` measured.
 */

import { ok } from "node:assert/strict";
import type { FtpEvent } from "../../src/events.ts";
import { attachOps } from "../../src/ops/mod.ts";
import { report, TestHost } from "./helpers.ts";

Deno.test("emit() with every ops module attached costs microseconds per event (measured)", async () => {
  const dir = await Deno.makeTempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch { /* closed */ }
  })();
  const host = new TestHost();
  const ops = await attachOps(host, {
    http: { port: 0 },
    transferLog: { path: `${dir}/xferlog` },
    onUpload: { command: ["/bin/true"], maxQueue: 10 },
    webhook: { url: `http://127.0.0.1:${listener.addr.port}/`, maxQueue: 100, timeoutMs: 60_000 },
  });
  try {
    const session = { session: 1, remote: "192.0.2.1" };
    const kinds: [string, FtpEvent][] = [
      ["command", { type: "command", ...session, verb: "NOOP", code: 200 }],
      ["login", {
        type: "login",
        ...session,
        user: "u",
        ok: true,
        anonymous: false,
        secure: false,
      }],
      ["storage-operation", {
        type: "storage-operation",
        backend: "local",
        operation: "stat",
        durationMs: 0.02,
        ok: true,
      }],
      ["transfer (upload)", {
        type: "transfer",
        ...session,
        user: "u",
        anonymous: false,
        command: "STOR",
        direction: "in",
        path: "/in/file.bin",
        bytes: 1000,
        offset: 0,
        durationMs: 3,
        result: "ok",
        code: 226,
        representation: "binary",
        secure: false,
      }],
    ];
    const n = 20_000;
    for (const [name, event] of kinds) {
      for (let i = 0; i < 2000; i++) host.events.emit(event); // warm up
      const started = performance.now();
      for (let i = 0; i < n; i++) host.events.emit(event);
      const us = (performance.now() - started) * 1000 / n;
      report(`emit ${name.padEnd(18)} with all ops attached: ${us.toFixed(2)} µs/event`);
      ok(us < 50, `${name}: ${us} µs per event`);
    }
  } finally {
    await ops.close();
    listener.close();
    await accepting;
    for (const conn of held) conn.close();
    await Deno.remove(dir, { recursive: true });
  }
});
