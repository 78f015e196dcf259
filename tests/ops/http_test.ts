import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { isLoopback, OpsConfigError } from "../../src/ops/http.ts";
import { attachOps, readSecretFile } from "../../src/ops/mod.ts";
import { parseExposition, sampleValue, TestHost, until } from "./helpers.ts";

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

/** A request with a chosen Host header (fetch does not let one set it). */
async function rawGet(port: number, host: string, path = "/healthz"): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    return (await new Response(conn.readable).text()).split("\r\n")[0];
  } catch {
    conn.close();
    throw new Error("raw request failed");
  }
}

Deno.test("GET /healthz is 200 while accepting and 503 while draining, with its JSON body", async () => {
  const host = new TestHost();
  await using ops = await attachOps(host, { http: { port: 0 } });
  const s = host.open();
  host.login(s, "alice");
  host.startTransfer(s, "RETR", "/a", 10);
  let r = await get(`${ops.http!.url}healthz`);
  equal(r.status, 200);
  equal(r.headers.get("content-type"), "application/json; charset=utf-8");
  const body = JSON.parse(r.text);
  deepEqual(Object.keys(body).sort(), ["sessions", "status", "transfers", "uptime_s", "version"]);
  deepEqual({ ...body, uptime_s: 0 }, {
    status: "ok",
    sessions: 1,
    transfers: 1,
    uptime_s: 0,
    version: "0.1.0-test",
  });
  ok(body.uptime_s >= 65);
  host.draining = true;
  r = await get(`${ops.http!.url}healthz`);
  equal(r.status, 503);
  equal(JSON.parse(r.text).status, "draining");
  r = await get(`${ops.http!.url}readyz`);
  equal(r.status, 503);
});

Deno.test("GET /readyz reports the host's probe, and a probe that hangs as not ready", async () => {
  const host = new TestHost();
  await using ops = await attachOps(host, { http: { port: 0, readyTimeoutMs: 200 } });
  let r = await get(`${ops.http!.url}readyz`);
  equal(r.status, 200);
  deepEqual(JSON.parse(r.text), { status: "ready" });
  host.readyResult = { ok: false, detail: "storage unavailable" };
  r = await get(`${ops.http!.url}readyz`);
  equal(r.status, 503);
  deepEqual(JSON.parse(r.text), { status: "not ready", detail: "storage unavailable" });
  let release!: () => void;
  let probes = 0;
  host.readyResult = () => {
    probes++;
    return new Promise((resolve) => (release = () => resolve({ ok: true })));
  };
  const started = Date.now();
  const [a, b] = await Promise.all([get(`${ops.http!.url}readyz`), get(`${ops.http!.url}readyz`)]);
  ok(Date.now() - started < 2000);
  equal(a.status, 503);
  equal(b.status, 503);
  equal(probes, 1); // one probe at a time, shared
  match(JSON.parse(a.text).detail, /no answer within 200 ms/);
  release();
});

Deno.test("A token from a file is required when configured: 401 without it, Bearer or Basic with it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "t0ken-with-enough-entropy\n");
    const host = new TestHost();
    await using ops = await attachOps(host, { http: { port: 0, tokenFile: `${dir}/token` } });
    ok(ops.http!.authenticated);
    for (const path of ["healthz", "readyz", "metrics", "", "events", "status.json", "app.js"]) {
      const r = await get(`${ops.http!.url}${path}`);
      equal(r.status, 401, path);
    }
    const denied = await get(`${ops.http!.url}metrics`, { authorization: "Bearer wrong" });
    equal(denied.status, 401);
    match(denied.headers.get("www-authenticate") ?? "", /^Basic realm="ftpgate"/);
    equal(
      (await get(`${ops.http!.url}metrics`, { authorization: "Bearer t0ken-with-enough-entropy" }))
        .status,
      200,
    );
    equal(
      (await get(`${ops.http!.url}metrics`, {
        authorization: "Bearer t0ken-with-enough-entropy\n",
      })).status,
      200,
    );
    equal(
      (await get(`${ops.http!.url}metrics`, { authorization: "Bearer t0ken-with-enough" })).status,
      401,
    );
    const basic = `Basic ${btoa("anyone:t0ken-with-enough-entropy")}`;
    equal((await get(ops.http!.url, { authorization: basic })).status, 200);
    equal(
      (await get(ops.http!.url, { authorization: `Basic ${btoa("t0ken-with-enough-entropy:")}` }))
        .status,
      401,
    );
    equal((await get(ops.http!.url, { authorization: "Basic !!!" })).status, 401);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A non-loopback HTTP address needs a token or an explicit insecure flag", async () => {
  const host = new TestHost();
  await rejects(attachOps(host, { http: { port: 0, hostname: "0.0.0.0" } }), OpsConfigError);
  await rejects(attachOps(host, { http: { port: 0, hostname: "::" } }), OpsConfigError);
  await rejects(attachOps(host, { http: { port: 0, token: "" } }), OpsConfigError);
  const empty = await Deno.makeTempFile();
  try {
    await rejects(readSecretFile(empty, "--http-token-file"), /is empty/);
    await rejects(
      readSecretFile(`${empty}.missing`, "--http-token-file"),
      /cannot read it \(NotFound\)/,
    );
  } finally {
    await Deno.remove(empty);
  }
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
    ok(isLoopback(h), h);
  }
  for (
    const h of ["0.0.0.0", "::", "192.0.2.1", "128.0.0.1", "localhost.example", "::ffff:10.0.0.1"]
  ) {
    ok(!isLoopback(h), h);
  }
});

Deno.test("Without a token, the loopback port answers only requests addressed to a loopback name", async () => {
  const host = new TestHost();
  await using ops = await attachOps(host, { http: { port: 0 } });
  const port = ops.http!.addr.port;
  equal(await rawGet(port, `127.0.0.1:${port}`), "HTTP/1.1 200 OK");
  equal(await rawGet(port, `localhost:${port}`), "HTTP/1.1 200 OK");
  equal(await rawGet(port, `[::1]:${port}`), "HTTP/1.1 200 OK");
  // DNS rebinding: a web page at evil.example whose name now resolves to 127.0.0.1.
  equal(await rawGet(port, "evil.example"), "HTTP/1.1 401 Unauthorized");
  equal(await rawGet(port, `evil.example:${port}`, "/status.json"), "HTTP/1.1 401 Unauthorized");
});

Deno.test("GET /metrics serves the exposition; other paths and methods are refused", async () => {
  const host = new TestHost();
  await using ops = await attachOps(host, { http: { port: 0 } });
  const s = host.open();
  host.login(s, "bob");
  const r = await get(`${ops.http!.url}metrics`);
  equal(r.status, 200);
  equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const scrape = parseExposition(r.text);
  equal(sampleValue(scrape, "ftpgate_logins_total", { result: "ok" }), 1);
  equal(sampleValue(scrape, "ftpgate_sessions_open"), 1);
  equal((await get(`${ops.http!.url}nope`)).status, 404);
  const post = await fetch(`${ops.http!.url}metrics`, { method: "POST", body: "x" });
  await post.body?.cancel();
  equal(post.status, 405);
});

Deno.test("The status page is served with a strict CSP; /events streams state, views and activities", async () => {
  const host = new TestHost();
  await using ops = await attachOps(host, { http: { port: 0 } });
  const page = await get(ops.http!.url);
  equal(page.status, 200);
  match(page.headers.get("content-security-policy") ?? "", /script-src 'self';/);
  ok(!/<script>/.test(page.text)); // no inline script
  match(page.text, /<script src="app.js" defer><\/script>/);
  equal(
    (await get(`${ops.http!.url}app.js`)).headers.get("content-type"),
    "text/javascript; charset=utf-8",
  );
  equal((await get(`${ops.http!.url}app.css`)).status, 200);

  const response = await fetch(`${ops.http!.url}events`);
  equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const next = async (): Promise<{ event: string; data: Record<string, unknown> }> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = block.match(/^event: (.*)$/m)?.[1];
        const data = block.match(/^data: (.*)$/m)?.[1];
        if (event && data) return { event, data: JSON.parse(data) };
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      buffer += value;
    }
  };
  try {
    const first = await next();
    equal(first.event, "state");
    deepEqual(first.data.activities, []);
    const s = host.open("198.51.100.7");
    host.login(s, "<img src=x onerror=alert(1)>");
    const opened = await next();
    equal(opened.event, "activity");
    equal(opened.data.type, "session.start");
    const login = await next();
    equal(login.data.user, "<img src=x onerror=alert(1)>");
    const view = await next(); // within a second
    equal(view.event, "view");
    equal((view.data.sessions as unknown[]).length, 1);
    const state = JSON.parse((await get(`${ops.http!.url}status.json`)).text);
    equal(state.activities.length, 2);
  } finally {
    await reader.cancel();
  }
});

Deno.test("close() ends open event streams promptly", async () => {
  const host = new TestHost();
  const ops = await attachOps(host, { http: { port: 0 } });
  const response = await fetch(`${ops.http!.url}events`);
  const reader = response.body!.getReader();
  await reader.read();
  const started = Date.now();
  await ops.close();
  ok(Date.now() - started < 1000);
  await until(async () => (await reader.read()).done, 2000, "the stream to end");
});

Deno.test("The configuration summary masks anything that looks like a secret", async () => {
  const host = new TestHost();
  host.config = { port: 21, webhookSecret: "s3cret", httpToken: "t", password: "p", tls: false };
  await using ops = await attachOps(host, { http: { port: 0 } });
  const state = JSON.parse((await get(`${ops.http!.url}status.json`)).text);
  deepEqual(state.config, {
    port: 21,
    webhookSecret: "***",
    httpToken: "***",
    password: "***",
    tls: false,
  });
});
