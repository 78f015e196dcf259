/**
 * What an operator reads in the logs and events: exact byte counts in every outcome, one
 * time-out line per session, passive-port exhaustion, every change to the tree with who, what
 * and the result, the REST offset of a transfer, and session numbers per server.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import type { FileActionEvent, FtpEvent, TransferEvent } from "../../src/events.ts";
import { MemoryStorage, serve } from "../../src/mod.ts";
import { writeAll } from "../../src/io.ts";
import { formatLogValue } from "../../src/log.ts";
import { exists, tempDir } from "../helpers/files.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { parseEpsv, sleep, waitFor } from "../helpers/protocol_helpers.ts";
import { startServer } from "../helpers/server.ts";
import { captureLogs, logMessage } from "../helpers/tls_helpers.ts";

function collect(server: { events: { on(listener: (event: FtpEvent) => void): () => void } }) {
  const events: FtpEvent[] = [];
  server.events.on((event) => events.push(event));
  return events;
}

function transfers(events: FtpEvent[]): TransferEvent[] {
  return events.filter((event): event is TransferEvent => event.type === "transfer");
}

Deno.test("a RETR cut short by shutdown reports exactly the bytes the client received", async () => {
  const t = startServer({ files: { "big.bin": new Uint8Array(64 << 20) } });
  const events = collect(t.server);
  const c = await RawClient.connect(t.port);
  await c.login(t.user, t.password);
  await c.expect("TYPE I", 200);
  const port = parseEpsv(await c.expect("EPSV", 229));
  const data = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.send("RETR big.bin");
  equal((await c.read()).code, 150);
  // Read a few MiB, slowly enough that the server's writes are not all done, then shut down.
  let received = 0;
  const buffer = new Uint8Array(64 * 1024);
  while (received < 3 << 20) received += (await data.read(buffer)) ?? 0;
  const stopped = t.server.shutdown({ graceMs: 0 });
  for (;;) {
    const n = await data.read(buffer).catch(() => null);
    if (n === null) break;
    received += n;
  }
  data.close();
  await stopped;
  await c[Symbol.asyncDispose]();
  await t[Symbol.asyncDispose]();
  const [record] = transfers(events);
  equal(record.result, "aborted");
  ok(received < 64 << 20, `the transfer was cut (${received} bytes)`);
  equal(record.bytes, received, "logged bytes = bytes the client received");
});

Deno.test("a STOR into a full storage reports at least what was stored, at most what was sent", async () => {
  const storage = new MemoryStorage({ maxBytes: 1 << 20 });
  await using server = serve({ root: storage, users: [{ name: "u", password: "p" }] });
  const events = collect(server);
  await using c = await RawClient.connect(server.addr.port);
  await c.login("u", "p");
  await c.expect("TYPE I", 200);
  const data = await c.epsv();
  await c.expect("STOR full.bin", 150);
  // The server stops reading when the storage fails: the rest of the upload may not go out.
  await writeAll(data, new Uint8Array(3 << 20)).catch(() => {});
  data.close();
  equal((await c.read()).code, 452);
  await waitFor(() => transfers(events).length === 1, "the transfer event");
  const [record] = transfers(events);
  const stored = storage.usedBytes;
  ok(record.bytes >= stored && record.bytes <= 3 << 20, `${record.bytes} vs ${stored} stored`);
  equal(record.result, "failed");
  equal(record.code, 452);
});

Deno.test("idle timeout 0 means none; a timed-out session is logged once", async () => {
  {
    await using server = serve({
      root: "memory:",
      idleTimeoutMs: 0,
      users: [{ name: "u", password: "p" }],
    });
    await using c = await RawClient.connect(server.addr.port);
    await c.login("u", "p");
    await sleep(300);
    await c.expect("NOOP", 200);
  }
  using logs = captureLogs();
  await using server = serve({ root: "memory:", idleTimeoutMs: 200 });
  const c = await RawClient.connect(server.addr.port);
  await waitFor(() => server.sessionCount === 0, "the idle session to end", 5_000);
  await sleep(300); // sweeps after the close must not report it again
  c.conn.close();
  const timedOut = logs.records.filter((record) => /timed out/.test(logMessage(record)));
  equal(timedOut.length, 1, timedOut.map(logMessage).join("\n"));
});

Deno.test("passive-port exhaustion is logged with the range", async () => {
  using logs = captureLogs();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  await using server = serve({
    root: "memory:",
    users: [{ name: "u", password: "p" }],
    passivePorts: [port, port],
  });
  await using first = await RawClient.connect(server.addr.port);
  await first.login("u", "p");
  await first.expect("EPSV", 229);
  await using second = await RawClient.connect(server.addr.port);
  await second.login("u", "p");
  const refused = await second.expect("EPSV", 425);
  match(refused.text, /No passive port available/);
  const warning = logs.records.find((record) => /No passive port free/.test(logMessage(record)));
  ok(warning, "a warning names the exhausted range");
  equal(warning.level, "warning");
  match(logMessage(warning), new RegExp(`${port}-${port}`));
});

Deno.test("changes to the tree are logged with who, what and the result; REST offsets too", async () => {
  using logs = captureLogs();
  await using t = startServer({ files: { "a.txt": "abcdef", "gone.txt": "x" } });
  const events = collect(t.server);
  await using c = await RawClient.connect(t.port);
  await c.login(t.user, t.password);
  await c.expect("MKD d", 257);
  await c.expect("RNFR a.txt", 350);
  await c.expect("RNTO d/b.txt", 250);
  await c.expect("SITE CHMOD 600 d/b.txt", 200);
  await c.expect("MFMT 20200102030405 d/b.txt", 213);
  await c.expect("DELE gone.txt", 250);
  await c.expect("DELE gone.txt", 550);
  await c.expect("RMD d", 550);
  await c.expect("TYPE I", 200);
  await c.expect("REST 2", 350);
  equal(new TextDecoder().decode(await c.download("RETR d/b.txt")), "cdef");
  const actions = events.filter((e): e is FileActionEvent => e.type === "file-action");
  deepEqual(actions.map((a) => `${a.action} ${a.path} ${a.ok ? "ok" : "failed"} ${a.code}`), [
    "mkdir /d ok 257",
    "rename /a.txt ok 250",
    "chmod /d/b.txt ok 200",
    "mtime /d/b.txt ok 213",
    "delete /gone.txt ok 250",
    "delete /gone.txt failed 550",
    "rmdir /d failed 550",
  ]);
  const lines = logs.records.filter((record) => record.category.join(".") === "ftpgate.session")
    .map(logMessage).filter((line) => / (mkdir|rename|chmod|mtime|delete|rmdir) /.test(line));
  equal(lines.length, 7, lines.join("\n"));
  match(lines[1], /rename \/a\.txt -> \/d\/b\.txt by tester from 127\.0\.0\.1: ok \(250\)/);
  match(lines[5], /delete \/gone\.txt by tester from 127\.0\.0\.1: failed \(550\)/);
  // As the text log renders them (values escaped): no empty placeholder shows up as "".
  const rendered = logs.records.filter((record) => record.category.join(".") === "ftpgate.session")
    .map((record) =>
      record.message.map((part, i) => i % 2 === 0 ? part : formatLogValue(part)).join("")
    );
  ok(rendered.some((line) => / mkdir \/d by tester /.test(line)), rendered.join("\n"));
  ok(!rendered.some((line) => line.includes('""')), rendered.join("\n"));
  await waitFor(() => transfers(events).length === 1, "the transfer event");
  equal(transfers(events)[0].offset, 2);
  const transferLine = logs.records.map(logMessage).find((line) =>
    /^Session \d+: RETR /.test(line)
  );
  match(transferLine ?? "", /from offset 2/);
});

Deno.test("each server numbers its sessions from 1", async () => {
  await using a = serve({ root: "memory:" });
  await using b = serve({ root: "memory:" });
  const seen: number[] = [];
  for (const server of [a, b]) {
    server.events.on((event) => event.type === "session-opened" && seen.push(event.session));
    await using c = await RawClient.connect(server.addr.port);
    await c.expect("NOOP", 200);
  }
  deepEqual(seen, [1, 1]);
});

Deno.test("temporary files of atomic uploads left by a killed process are removed at start", async () => {
  const root = tempDir("ftpgate-stale-");
  try {
    Deno.mkdirSync(`${root}/deep/er`, { recursive: true });
    const old = new Date(Date.now() - 3_600_000);
    const stale = [
      `${root}/.ftpgate-upload-0b6f1f1e-2f1a-4d7e-9c41-1f6a3c2d9e10`,
      `${root}/deep/er/.ftpgate-upload-9a7d5e2c-1b3f-4c6d-8e9f-0a1b2c3d4e5f`,
    ];
    const kept = [
      `${root}/.ftpgate-upload-not-a-uuid`, // not our naming pattern
      `${root}/ftpgate-upload-0b6f1f1e-2f1a-4d7e-9c41-1f6a3c2d9e10`, // not hidden
      `${root}/deep/report.csv`,
    ];
    for (const path of [...stale, ...kept]) {
      Deno.writeTextFileSync(path, "partial");
      Deno.utimeSync(path, old, old);
    }
    // One of this run's own uploads (changed after the start) must stay.
    const fresh = `${root}/deep/.ftpgate-upload-11111111-2222-4333-8444-555555555555`;
    await using server = serve({ root, atomicUploads: true });
    Deno.writeTextFileSync(fresh, "in progress");
    Deno.utimeSync(fresh, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    await using _client = await RawClient.connect(server.addr.port);
    await waitFor(() => stale.every((path) => !exists(path)), "the stale uploads to go");
    for (const path of [...kept, fresh]) ok(exists(path), `${path} was kept`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
