/**
 * HttpIdentityProvider against a real hook (Deno.serve on loopback): what it sends, how each
 * answer is taken (identity, wrong credentials, cannot decide), roots held to allowed_roots,
 * bounded concurrency, the cache.
 */
import { deepEqual, equal, match, notEqual, ok, rejects } from "node:assert/strict";
import { HttpAuthError, HttpIdentityProvider } from "../../src/identity/http.ts";
import { collectList, LocalStorage } from "../../src/mod.ts";
import { hookIdentity, json, startAuthHook } from "../helpers/auth_hook.ts";
import { tempDir } from "../helpers/files.ts";

const context = { remoteAddress: "127.0.0.1", secure: false };

/** Allowed root `base`, with `alice/` (one file) inside and `outside/` next to it. */
function roots() {
  const top = tempDir("ftpgate-hook-");
  const base = `${top}/users`;
  Deno.mkdirSync(`${base}/alice`, { recursive: true });
  Deno.mkdirSync(`${base}/archive`);
  Deno.mkdirSync(`${top}/outside`);
  Deno.writeTextFileSync(`${base}/alice/hello.txt`, "hello alice");
  Deno.writeTextFileSync(`${top}/outside/secret.txt`, "not for the hook to hand out");
  return {
    top,
    base,
    [Symbol.dispose]() {
      Deno.removeSync(top, { recursive: true });
    },
  };
}

async function expectCannotDecide(
  promise: Promise<unknown>,
  reason: HttpAuthError["reason"],
  text: RegExp,
): Promise<void> {
  await rejects(promise, (error: unknown) => {
    ok(error instanceof HttpAuthError, `expected HttpAuthError, got ${error}`);
    equal(error.reason, reason);
    match(error.message, text);
    // The message reaches the server's log: no password, no hook URL, no real path.
    ok(!/sekrit|ftp-login|127\.0\.0\.1|ftpgate-hook-/.test(error.message), error.message);
    return true;
  });
}

Deno.test("HttpIdentityProvider posts the login and opens the root the hook returns", async () => {
  using dirs = roots();
  await using hook = startAuthHook(() =>
    json({
      root: `${dirs.base}/alice`,
      quota: { bytes: 1000, files: 10 },
      bandwidth: { upload: 100, download: 200 },
      max_sessions: 2,
      allowed_networks: ["127.0.0.0/8"],
      require_tls: true,
      home: "/",
    })
  );
  const identity = await hookIdentity(hook.url, dirs.base, { token: "hook-token" })
    .authenticate("alice", 'pa:ss"word', { remoteAddress: "192.0.2.7", secure: true });
  ok(identity !== null);
  equal(identity.name, "alice");
  equal(identity.anonymous, false);
  deepEqual((await collectList(identity.storage, "/")).map((entry) => entry.name), ["hello.txt"]);
  deepEqual(identity.limits, {
    uploadBytesPerSecond: 100,
    downloadBytesPerSecond: 200,
    maxSessions: 2,
    quotaBytes: 1000,
    quotaFiles: 10,
  });
  deepEqual(identity.allowedNetworks, ["127.0.0.0/8"]);
  equal(identity.requireTls, true);
  equal(identity.rules.allows("delete", "/hello.txt"), true, "no rules: full rights");
  equal(hook.calls.length, 1);
  deepEqual(hook.calls[0].body, {
    user: "alice",
    password: 'pa:ss"word',
    remote_address: "192.0.2.7",
    tls: true,
  });
  equal(hook.calls[0].authorization, "Bearer hook-token");
  equal(hook.calls[0].contentType, "application/json");
});

Deno.test("HttpIdentityProvider maps mounts, read-only mounts and rules", async () => {
  using dirs = roots();
  await using hook = startAuthHook(() =>
    json({
      ok: true,
      mounts: [
        { path: "/", root: `${dirs.base}/alice` },
        { path: "/archive", root: `${dirs.base}/archive`, read_only: true },
      ],
      rules: [{ path: "/", allow: ["*"] }, { path: "/inbox", allow: ["upload"] }],
    })
  );
  const identity = await hookIdentity(hook.url, dirs.base).authenticate("alice", "pw", context);
  ok(identity !== null);
  const names = (await collectList(identity.storage, "/")).map((entry) => entry.name).sort();
  deepEqual(names, ["archive", "hello.txt"]);
  equal(identity.rules.allows("upload", "/archive/x"), false, "read-only mount");
  equal(identity.rules.allows("download", "/archive/x"), true);
  equal(identity.rules.allows("upload", "/inbox/x"), true);
  equal(identity.rules.allows("list", "/inbox"), false, "drop box");
  equal(identity.rules.allows("delete", "/hello.txt"), true, '"*" grants everything');
});

Deno.test("HttpIdentityProvider takes 401, 403 and {ok: false} as wrong credentials", async () => {
  using dirs = roots();
  const answers = [
    new Response("no", { status: 401 }),
    new Response(null, { status: 403 }),
    json({ ok: false, reason: "ignored" }),
  ];
  await using hook = startAuthHook(() => answers.shift()!);
  const hooked = hookIdentity(hook.url, dirs.base);
  for (let i = 0; i < 3; i++) equal(await hooked.authenticate("alice", "wrong", context), null);
  equal(hook.calls.length, 3);
});

Deno.test("HttpIdentityProvider cannot decide on 5xx, redirects, garbage and invalid bodies", async () => {
  using dirs = roots();
  await using hook = startAuthHook(() => new Response("oops", { status: 500 }));
  const hooked = hookIdentity(hook.url, dirs.base);
  await expectCannotDecide(
    hooked.authenticate("a", "sekrit-pw", context),
    "status",
    /answered 500/,
  );
  hook.answer(() => new Response(null, { status: 302, headers: { location: hook.url + "2" } }));
  await expectCannotDecide(
    hooked.authenticate("a", "sekrit-pw", context),
    "status",
    /answered 302/,
  );
  equal(hook.calls.length, 2, "the redirect was not followed");
  hook.answer(() => new Response(null, { status: 204 }));
  await expectCannotDecide(
    hooked.authenticate("a", "sekrit-pw", context),
    "status",
    /answered 204/,
  );
  hook.answer(() => new Response("<html>login ok</html>"));
  await expectCannotDecide(hooked.authenticate("a", "sekrit-pw", context), "invalid", /not JSON/);
  hook.answer(() => new Response(""));
  await expectCannotDecide(hooked.authenticate("a", "sekrit-pw", context), "invalid", /not JSON/);
  const invalid: [unknown, RegExp][] = [
    [[1, 2], /expected a JSON object/],
    [{ ok: true }, /root: root or mounts is required/],
    [{ root: `${dirs.base}/alice`, admin: true }, /admin: unknown key/],
    [{ root: `${dirs.base}/alice`, readonly: true }, /readonly: unknown key/],
    [
      { root: `${dirs.base}/alice`, rules: [{ path: "/", allow: ["sudo"] }] },
      /rules\[0\]\.allow\[0\]/,
    ],
    [{ root: `${dirs.base}/alice`, allowed_networks: ["10.0.0.1/8"] }, /host bits/],
    [
      { root: `${dirs.base}/alice`, mounts: [{ path: "/", root: dirs.base }] },
      /exclude each other/,
    ],
    [{ root: "users/alice" }, /root: must be an absolute path/],
    [{ root: "memory:" }, /root: must be an absolute path/],
    [{ root: `${dirs.base}/nobody` }, /root: does not exist/],
    [{ root: `${dirs.base}/alice/hello.txt` }, /root: is not a directory/],
  ];
  for (const [body, pattern] of invalid) {
    hook.answer(() => json(body));
    await expectCannotDecide(hooked.authenticate("a", "sekrit-pw", context), "invalid", pattern);
  }
  hook.answer(() => json({ root: "x".repeat(70_000) }));
  await expectCannotDecide(
    hooked.authenticate("a", "sekrit-pw", context),
    "invalid",
    /larger than 65536/,
  );
});

Deno.test("HttpIdentityProvider refuses roots outside allowed_roots, via .. or a symbolic link too", async () => {
  using dirs = roots();
  Deno.symlinkSync(`${dirs.top}/outside`, `${dirs.base}/escape`);
  Deno.mkdirSync(`${dirs.base}x`); // a prefix of the path, not a parent
  await using hook = startAuthHook(() => json({}));
  const hooked = hookIdentity(hook.url, dirs.base);
  for (
    const root of [
      `${dirs.top}/outside`,
      `${dirs.base}/../outside`,
      `${dirs.base}/escape`,
      `${dirs.base}x`,
      "/",
    ]
  ) {
    hook.answer(() => json({ root }));
    await expectCannotDecide(
      hooked.authenticate("a", "sekrit-pw", context),
      "invalid",
      /root: is outside auth\.http\.allowed_roots/,
    );
  }
  hook.answer(() =>
    json({ mounts: [{ path: "/", root: `${dirs.base}/alice` }, { path: "/x", root: dirs.top }] })
  );
  await expectCannotDecide(
    hooked.authenticate("a", "sekrit-pw", context),
    "invalid",
    /mounts\[1\]\.root: is outside/,
  );
  hook.answer(() => json({ root: dirs.base }));
  ok(await hooked.authenticate("a", "sekrit-pw", context), "the allowed root itself is allowed");
});

Deno.test("HttpIdentityProvider gives up after timeoutMs and when the hook is unreachable", async () => {
  using dirs = roots();
  await using hook = startAuthHook(() => "hang");
  const hooked = hookIdentity(hook.url, dirs.base, { timeoutMs: 300 });
  const started = performance.now();
  await expectCannotDecide(
    hooked.authenticate("a", "sekrit-pw", context),
    "timeout",
    /within 300 ms/,
  );
  const took = performance.now() - started;
  ok(took >= 250 && took < 3000, `took ${took} ms`);
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  await expectCannotDecide(
    hookIdentity(`http://127.0.0.1:${port}/`, dirs.base).authenticate("a", "sekrit-pw", context),
    "unreachable",
    /cannot be reached/,
  );
  deepEqual(hooked.stats().failures.timeout, 1);
});

Deno.test("HttpIdentityProvider's time-out covers a body that never ends", async () => {
  using dirs = roots();
  let cancelled = false;
  await using hook = startAuthHook(() =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"root": '));
        },
        cancel() {
          cancelled = true;
        },
      }),
      { headers: { "content-type": "application/json" } },
    )
  );
  await expectCannotDecide(
    hookIdentity(hook.url, dirs.base, { timeoutMs: 300 }).authenticate("a", "sekrit-pw", context),
    "timeout",
    /within 300 ms/,
  );
  for (let i = 0; i < 100 && !cancelled; i++) await new Promise((r) => setTimeout(r, 10));
  ok(cancelled, "the hook saw the connection go");
});

Deno.test("HttpIdentityProvider gives up when the session goes away", async () => {
  using dirs = roots();
  await using hook = startAuthHook(() => "hang");
  const session = new AbortController();
  const login = hookIdentity(hook.url, dirs.base).authenticate("a", "sekrit-pw", {
    ...context,
    signal: session.signal,
  });
  setTimeout(() => session.abort(), 50);
  await expectCannotDecide(login, "closed", /abandoned/);
});

Deno.test("HttpIdentityProvider refuses logins beyond its concurrency at once", async () => {
  using dirs = roots();
  await using hook = startAuthHook(() => "hang");
  const hooked = hookIdentity(hook.url, dirs.base, { concurrency: 2, timeoutMs: 2000 });
  const slow = [
    hooked.authenticate("a", "sekrit-pw", context).catch((error) => error),
    hooked.authenticate("b", "p", context).catch((error) => error),
  ];
  const started = performance.now();
  await expectCannotDecide(hooked.authenticate("c", "p", context), "busy", /2 requests in flight/);
  ok(performance.now() - started < 500, "refused without waiting");
  while (hook.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  hooked.close(); // aborts the two in flight
  for (const error of await Promise.all(slow)) {
    ok(error instanceof HttpAuthError);
    equal(error.reason, "closed");
  }
  equal(hook.calls.length, 2, "the third login never reached the hook");
});

Deno.test("HttpIdentityProvider caches accepted logins per user, password, address and TLS", async () => {
  using dirs = roots();
  await using hook = startAuthHook(() => json({ root: `${dirs.base}/alice` }));
  const hooked = hookIdentity(hook.url, dirs.base, { cacheMs: 400 });
  const first = await hooked.authenticate("alice", "pw", context);
  const second = await hooked.authenticate("alice", "pw", context);
  ok(first !== null && second !== null);
  equal(hook.calls.length, 1, "second login from the cache");
  equal(hooked.stats().cacheHits, 1);
  await hooked.authenticate("alice", "other", context);
  await hooked.authenticate("alice", "pw", { remoteAddress: "127.0.0.2", secure: false });
  await hooked.authenticate("alice", "pw", { remoteAddress: "127.0.0.1", secure: true });
  equal(hook.calls.length, 4, "another password, address or TLS asks again");
  // Refusals are not cached: a user who just fixed their password gets in at once.
  hook.answer(() => new Response(null, { status: 401 }));
  equal(await hooked.authenticate("bob", "pw", context), null);
  hook.answer(() => json({ root: `${dirs.base}/alice` }));
  notEqual(await hooked.authenticate("bob", "pw", context), null);
  equal(hook.calls.length, 6);
  await new Promise((resolve) => setTimeout(resolve, 450));
  await hooked.authenticate("alice", "pw", context);
  equal(hook.calls.length, 7, "expired after cacheMs");
  hooked.clearCache();
  await hooked.authenticate("alice", "pw", context);
  equal(hook.calls.length, 8, "cleared");
});

Deno.test("HttpIdentityProvider without cacheMs asks every time", async () => {
  using dirs = roots();
  await using hook = startAuthHook(() => json({ root: `${dirs.base}/alice` }));
  const hooked = hookIdentity(hook.url, dirs.base);
  await hooked.authenticate("alice", "pw", context);
  await hooked.authenticate("alice", "pw", context);
  equal(hook.calls.length, 2);
});

Deno.test("new HttpIdentityProvider() refuses a bad URL and relative allowed roots", () => {
  const openRoot = (root: string) => new LocalStorage(root);
  let error: unknown;
  try {
    new HttpIdentityProvider({ url: "ftp://x/", allowedRoots: ["/srv"], openRoot });
  } catch (e) {
    error = e;
  }
  ok(error instanceof TypeError);
  error = undefined;
  try {
    new HttpIdentityProvider({ url: "http://127.0.0.1/", allowedRoots: ["srv"], openRoot });
  } catch (e) {
    error = e;
  }
  ok(error instanceof TypeError);
});
