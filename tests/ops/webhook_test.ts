import { createHmac, timingSafeEqual } from "node:crypto";
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { EventHub, type FtpEvent } from "../../src/events.ts";
import { signBody, Webhook } from "../../src/ops/webhook.ts";
import { report, until } from "./helpers.ts";

interface Received {
  headers: Headers;
  raw: Uint8Array;
  body: Record<string, unknown>;
}

/** A webhook receiver on loopback; `answer` decides each response. */
function receiver(answer: (request: Received, n: number) => number = () => 200) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const raw = new Uint8Array(await req.arrayBuffer());
    const entry = { headers: req.headers, raw, body: JSON.parse(new TextDecoder().decode(raw)) };
    received.push(entry);
    return new Response(null, { status: answer(entry, received.length) });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    received,
    close: () => server.shutdown(),
  };
}

const SESSION = { session: 5, remote: "192.0.2.44" };
const SCRIPT: FtpEvent[] = [
  { type: "session-opened", ...SESSION, remotePort: 50000, secure: false },
  { type: "login", ...SESSION, user: "dave", ok: false, anonymous: false, secure: false },
  { type: "login", ...SESSION, user: "dave", ok: true, anonymous: false, secure: false },
  { type: "command", ...SESSION, verb: "STOR", code: 226 }, // not an activity
  {
    type: "transfer",
    ...SESSION,
    user: "dave",
    anonymous: false,
    command: "STOR",
    direction: "in",
    path: "/in/a.txt",
    bytes: 12,
    offset: 0,
    durationMs: 30,
    result: "ok",
    code: 226,
    representation: "binary",
    secure: false,
  },
  {
    type: "transfer",
    ...SESSION,
    user: "dave",
    anonymous: false,
    command: "RETR",
    direction: "out",
    path: "/in/a.txt",
    bytes: 12,
    offset: 0,
    durationMs: 3,
    result: "ok",
    code: 226,
    representation: "binary",
    secure: false,
  },
  {
    type: "file-action",
    ...SESSION,
    user: "dave",
    action: "rename",
    path: "/in/a.txt",
    detail: "/done/a.txt",
    ok: true,
    code: 250,
  },
  {
    type: "file-action",
    ...SESSION,
    user: "dave",
    action: "mkdir",
    path: "/d",
    ok: true,
    code: 257,
  },
  {
    type: "file-action",
    ...SESSION,
    user: "dave",
    action: "rmdir",
    path: "/d",
    ok: true,
    code: 250,
  },
  {
    type: "file-action",
    ...SESSION,
    user: "dave",
    action: "delete",
    path: "/done/a.txt",
    ok: true,
    code: 250,
  },
  {
    type: "file-action",
    ...SESSION,
    user: "dave",
    action: "delete",
    path: "/nope",
    ok: false,
    code: 550,
  },
  { type: "session-closed", ...SESSION, user: "dave", durationMs: 900 },
];
const EXPECTED_TYPES = [
  "session.start",
  "login.failed",
  "login",
  "upload.completed",
  "download.completed",
  "rename",
  "mkdir",
  "rmdir",
  "delete",
  "session.end",
];

Deno.test("Webhook posts events in order, each with an id and a valid HMAC-SHA256 signature", async () => {
  const secret = "correct horse battery staple";
  const rx = receiver();
  const events = new EventHub();
  const hook = new Webhook(events, { url: rx.url, secret, userAgent: "ftpgate/test" });
  try {
    for (const event of SCRIPT) events.emit(event);
    await until(() => rx.received.length >= EXPECTED_TYPES.length, 5000, "10 deliveries");
    deepEqual(rx.received.map((r) => r.body.type), EXPECTED_TYPES);
    const ids = new Set<unknown>();
    for (const { headers, raw, body } of rx.received) {
      // The signature, checked the way a receiver in another language would: over the raw bytes.
      const expected = createHmac("sha256", secret).update(raw).digest("hex");
      const header = headers.get("x-ftpgate-signature") ?? "";
      match(header, /^sha256=[0-9a-f]{64}$/);
      ok(timingSafeEqual(Buffer.from(header.slice(7)), Buffer.from(expected)));
      equal(headers.get("content-type"), "application/json");
      equal(headers.get("user-agent"), "ftpgate/test");
      equal(headers.get("x-ftpgate-event"), body.type);
      equal(headers.get("x-ftpgate-delivery"), body.id);
      match(
        String(body.id),
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      ids.add(body.id);
      ok(!Number.isNaN(Date.parse(String(body.time))));
      equal(body.remote_address, "192.0.2.44");
      equal(body.session, 5);
      for (const key of ["user", "path", "size"]) ok(key in body, `${body.type} has ${key}`);
    }
    equal(ids.size, EXPECTED_TYPES.length);
    const upload = rx.received[3].body;
    equal(upload.path, "/in/a.txt");
    equal(upload.size, 12);
    equal(upload.user, "dave");
    equal(rx.received[5].body.to, "/done/a.txt");
    equal(rx.received[0].body.user, null);
    equal(
      await signBody(secret, rx.received[0].raw),
      createHmac("sha256", secret).update(rx.received[0].raw).digest("hex"),
    );
    deepEqual(hook.stats, { ok: 10, failed: 0, dropped: 0, retries: 0 });
  } finally {
    await hook.close();
    await rx.close();
  }
});

Deno.test("Webhook retries 500s with the same delivery id, keeps order, and gives up on a 400", async () => {
  const rx = receiver((r, n) => (n <= 2 ? 500 : r.body.type === "mkdir" ? 400 : 200));
  const events = new EventHub();
  const hook = new Webhook(events, { url: rx.url, backoffMs: 10, types: ["mkdir", "rmdir"] });
  try {
    events.emit({
      type: "file-action",
      ...SESSION,
      user: "u",
      action: "rmdir",
      path: "/a",
      ok: true,
      code: 250,
    });
    events.emit({
      type: "file-action",
      ...SESSION,
      user: "u",
      action: "mkdir",
      path: "/b",
      ok: true,
      code: 257,
    });
    events.emit({
      type: "file-action",
      ...SESSION,
      user: "u",
      action: "rmdir",
      path: "/c",
      ok: true,
      code: 250,
    });
    events.emit({
      type: "login",
      ...SESSION,
      user: "u",
      ok: true,
      anonymous: false,
      secure: false,
    }); // filtered
    await until(() => hook.stats.ok + hook.stats.failed === 3, 5000, "3 outcomes");
    deepEqual(rx.received.map((r) => r.body.path), ["/a", "/a", "/a", "/b", "/c"]);
    equal(new Set(rx.received.slice(0, 3).map((r) => r.body.id)).size, 1);
    deepEqual(hook.stats, { ok: 2, failed: 1, dropped: 0, retries: 2 });
    // No secret configured: no signature header.
    equal(rx.received[0].headers.get("x-ftpgate-signature"), null);
  } finally {
    await hook.close();
    await rx.close();
  }
});

Deno.test("Webhook to a hanging receiver never delays the emitter; the queue drops oldest first", async () => {
  // A receiver that accepts connections and never answers.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch { /* closed */ }
  })();
  const events = new EventHub();
  const hook = new Webhook(events, {
    url: `http://127.0.0.1:${listener.addr.port}/`,
    maxQueue: 10,
    timeoutMs: 60_000,
  });
  try {
    const event: FtpEvent = {
      type: "login",
      ...SESSION,
      user: "u",
      ok: true,
      anonymous: false,
      secure: false,
    };
    events.emit(event); // becomes the delivery in flight
    await until(() => held.length > 0, 5000, "the request to arrive");
    const n = 10_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) events.emit(event);
    const perEventUs = (performance.now() - started) * 1000 / n;
    report(`emit with a hanging webhook receiver: ${perEventUs.toFixed(2)} µs per event`);
    ok(perEventUs < 50, `${perEventUs} µs per event`);
    equal(hook.queueLength, 10);
    equal(hook.stats.dropped, n - 10);
    // The event loop stays free while the request hangs.
    const lagStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 0));
    ok(performance.now() - lagStart < 50);
    // close() gives up on the hanging request after its flush time.
    const closing = performance.now();
    await hook.close(100);
    ok(performance.now() - closing < 2000);
    equal(hook.stats.ok, 0);
    equal(hook.stats.dropped, n - 10 + 11); // the queue and the one in flight
  } finally {
    await hook.close();
    listener.close();
    await accepting;
    for (const conn of held) conn.close();
  }
});

Deno.test("Webhook to a closed port retries with back-off, then gives up", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // nothing listens there now: connection refused
  const events = new EventHub();
  const hook = new Webhook(events, {
    url: `http://127.0.0.1:${port}/`,
    backoffMs: 5,
    maxAttempts: 3,
  });
  try {
    events.emit({
      type: "login",
      ...SESSION,
      user: "u",
      ok: true,
      anonymous: false,
      secure: false,
    });
    await until(() => hook.stats.failed === 1, 5000, "giving up");
    deepEqual(hook.stats, { ok: 0, failed: 1, dropped: 0, retries: 2 });
  } finally {
    await hook.close();
  }
});
