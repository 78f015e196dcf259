/**
 * The library API a test author meets first: `startTestServer()` from `src/testing.ts`, and
 * `serve()` as a handle (listening on return, `await using`, `signal`, `shutdown()`, `finished`,
 * `transcript()`), driven by basic-ftp and a raw socket.
 */

import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { FTPError } from "basic-ftp";
import { type FtpServer, MemoryStorage, serve, type Storage } from "../../src/mod.ts";
import { startTestServer } from "../../src/testing.ts";
import {
  connectFtp,
  downloadBytes,
  downloadText,
  median,
  uploadBytes,
  urlTarget,
} from "../helpers/cli_helpers.ts";
import { waitFor, withTimeout } from "../helpers/protocol_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { randomBytes } from "../helpers/server.ts";

const encoder = new TextEncoder();

/** True when the promise has settled (after letting pending callbacks run). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

/** True when nothing accepts connections on the port any more. */
async function refused(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return true;
    throw error;
  }
}

/**
 * Waits until the port refuses connections. The listener is released a moment after shutdown()
 * resolves (see the regression test "shutdown() has released the port when it resolves").
 */
async function portClosed(port: number): Promise<void> {
  await waitFor(() => refused(port).catch(() => false), `port ${port} to close`);
}

function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

// --- startTestServer -------------------------------------------------------------------------

Deno.test("startTestServer() seeds files on disk that clients and helpers see", async () => {
  const binary = randomBytes(4096, 7);
  let root: string;
  {
    await using ftp = startTestServer({
      files: { "in/hello.txt": "hi there", "/top.bin": binary, "deep/er/x.txt": "x" },
    });
    ok(ftp.root, "a disk server has a root");
    root = ftp.root;
    equal(Deno.readTextFileSync(`${root}/in/hello.txt`), "hi there");
    equal(ftp.user, "test");
    equal(ftp.password, "test");
    await using client = await connectFtp(ftp);
    equal(await downloadText(client, "in/hello.txt"), "hi there");
    deepEqual(await downloadBytes(client, "/top.bin"), binary);
    deepEqual(await ftp.list(), ["/deep/er/x.txt", "/in/hello.txt", "/top.bin"]);
    equal(await ftp.readText("in/hello.txt"), "hi there");
    deepEqual(await ftp.readFile("top.bin"), binary);
  }
  equal(pathExists(root), false, `the temporary root ${root} is removed after dispose`);
});

Deno.test("startTestServer() seeds files in memory, with no directory on disk", async () => {
  await using ftp = startTestServer({
    storage: "memory",
    files: { "a.txt": "alpha", "sub/b.bin": new Uint8Array([0, 1, 2, 255]) },
  });
  equal(ftp.root, undefined);
  ok(ftp.storage instanceof MemoryStorage);
  await using client = await connectFtp(ftp);
  equal(await downloadText(client, "a.txt"), "alpha");
  deepEqual(await downloadBytes(client, "sub/b.bin"), new Uint8Array([0, 1, 2, 255]));
  deepEqual((await client.list("sub")).map((f) => [f.name, f.size]), [["b.bin", 4]]);
  deepEqual(await ftp.list(), ["/a.txt", "/sub/b.bin"]);
});

for (const storage of ["disk", "memory"] as const) {
  Deno.test(`startTestServer() helpers see what a client uploaded (${storage})`, async () => {
    await using ftp = startTestServer({ storage });
    equal(await ftp.exists("/report.csv"), false);
    deepEqual(await ftp.list(), []);
    await using client = await connectFtp(ftp);
    await uploadBytes(client, "report.csv", "id,total\n1,42\n");
    await client.ensureDir("/out/2026");
    await uploadBytes(client, "data.bin", randomBytes(70_000, 3));
    equal(await ftp.exists("/report.csv"), true);
    equal(await ftp.exists("report.csv"), true, "a relative path is taken from /");
    equal(await ftp.exists("/out/2026"), true, "exists() sees directories too");
    equal(await ftp.exists("/nope.csv"), false);
    equal(await ftp.readText("/report.csv"), "id,total\n1,42\n");
    deepEqual(await ftp.readFile("/out/2026/data.bin"), randomBytes(70_000, 3));
    deepEqual(await ftp.list(), ["/out/2026/data.bin", "/report.csv"]);
    if (storage === "disk") {
      equal(Deno.readTextFileSync(`${ftp.root}/report.csv`), "id,total\n1,42\n");
    }
  });
}

Deno.test("startTestServer() url carries the credentials, and basic-ftp can use its parts", async () => {
  await using ftp = startTestServer({
    users: [{ name: "ann@example", password: "p:ss w/rd%" }, { name: "bob", password: "b" }],
    storage: "memory",
    files: { "x.txt": "x" },
  });
  const url = new URL(ftp.url);
  equal(url.protocol, "ftp:");
  equal(url.hostname, "127.0.0.1");
  equal(Number(url.port), ftp.port);
  equal(url.pathname, "/");
  equal(decodeURIComponent(url.username), "ann@example");
  equal(decodeURIComponent(url.password), "p:ss w/rd%");
  equal(ftp.user, "ann@example");
  equal(ftp.password, "p:ss w/rd%");
  deepEqual(ftp.addr, { transport: "tcp", hostname: "127.0.0.1", port: ftp.port });
  equal(ftp.host, "127.0.0.1");
  deepEqual(urlTarget(ftp.url), {
    host: "127.0.0.1",
    port: ftp.port,
    user: "ann@example",
    password: "p:ss w/rd%",
  });
  await using client = await connectFtp(ftp.url);
  equal(await downloadText(client, "x.txt"), "x");
});

/** A Storage of the test's own: memory underneath, every call counted. */
class CountingStorage extends MemoryStorage {
  readonly calls: string[] = [];
  override stat(path: string) {
    this.calls.push(`stat ${path}`);
    return super.stat(path);
  }
  override write(path: string, options?: Parameters<Storage["write"]>[1]) {
    this.calls.push(`write ${path}`);
    return super.write(path, options);
  }
  override read(path: string, options?: Parameters<Storage["read"]>[1]) {
    this.calls.push(`read ${path}`);
    return super.read(path, options);
  }
}

Deno.test("startTestServer() serves a custom Storage", async () => {
  const storage = new CountingStorage();
  const seed = await storage.write("/seed.txt");
  const writer = seed.getWriter();
  await writer.write(encoder.encode("seeded by the test"));
  await writer.close();
  await using ftp = startTestServer({ storage });
  equal(ftp.storage, storage);
  equal(ftp.root, undefined);
  await using client = await connectFtp(ftp);
  equal(await downloadText(client, "seed.txt"), "seeded by the test");
  await uploadBytes(client, "up.txt", "uploaded");
  equal(await ftp.readText("/up.txt"), "uploaded");
  ok(storage.calls.includes("read /seed.txt"), storage.calls.join(", "));
  ok(storage.calls.includes("write /up.txt"), storage.calls.join(", "));
});

Deno.test("startTestServer() refuses files together with a custom Storage", () => {
  throws(
    () => startTestServer({ storage: new MemoryStorage(), files: { "a.txt": "a" } }),
    TypeError,
  );
});

Deno.test("startTestServer() runs 20 servers in parallel without a port clash or a leak", async () => {
  const servers = Array.from({ length: 20 }, (_, i) =>
    startTestServer({
      storage: i % 2 === 0 ? "disk" : "memory",
      files: { "id.txt": `server ${i}` },
    }));
  const roots = servers.flatMap((s) => (s.root ? [s.root] : []));
  try {
    equal(new Set(servers.map((s) => s.port)).size, 20, "every server has its own port");
    await withTimeout(
      Promise.all(servers.map(async (ftp, i) => {
        await using client = await connectFtp(ftp);
        equal(await downloadText(client, "id.txt"), `server ${i}`);
        await uploadBytes(client, `from-${i}.bin`, randomBytes(20_000, i + 1));
        deepEqual(await ftp.readFile(`from-${i}.bin`), randomBytes(20_000, i + 1));
        deepEqual(await ftp.list(), [`/from-${i}.bin`, "/id.txt"]);
      })),
      20_000,
      "20 clients",
    );
  } finally {
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  }
  equal(roots.length, 10);
  for (const root of roots) equal(pathExists(root), false, `${root} is removed`);
  for (const ftp of servers) equal(ftp.server.sessionCount, 0);
});

// --- serve() ---------------------------------------------------------------------------------

Deno.test("serve() is listening when it returns", async () => {
  const server = serve({ root: "memory:", users: [{ name: "u", password: "p" }] });
  try {
    // No await between serve() and the connect: the listener must already be there.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      const buffer = new Uint8Array(256);
      const n = await withTimeout(conn.read(buffer), 5_000, "the greeting");
      ok(n !== null);
      ok(new TextDecoder().decode(buffer.subarray(0, n)).startsWith("220 "));
    } finally {
      conn.close();
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("serve() with await using is shut down at the end of the scope", async () => {
  let server: FtpServer;
  {
    await using s = serve({ root: "memory:", users: [{ name: "u", password: "p" }] });
    server = s;
    await using client = await connectFtp({
      host: "127.0.0.1",
      port: s.addr.port,
      user: "u",
      password: "p",
    });
    await uploadBytes(client, "a.txt", "a");
    equal(await settled(s.finished), false, "finished is pending while the server runs");
  }
  equal(await settled(server.finished), true, "finished resolved by the end of the scope");
  equal(server.sessionCount, 0);
  await portClosed(server.addr.port);
});

Deno.test("serve() shuts down when its signal is aborted", async () => {
  const controller = new AbortController();
  const server = serve({ root: "memory:", signal: controller.signal });
  await using c = await RawClient.connect(server.addr.port);
  await c.login("anonymous", "a@b.c");
  controller.abort();
  await withTimeout(server.finished, 5_000, "finished after abort");
  equal((await c.read()).code, 421);
  ok(await c.closedByServer(2_000));
  await portClosed(server.addr.port);
});

Deno.test("serve() with an already aborted signal shuts down at once", async () => {
  const server = serve({ root: "memory:", signal: AbortSignal.abort() });
  await withTimeout(server.finished, 5_000, "finished");
  await portClosed(server.addr.port);
});

// Regression (fixed): with no session open, shutdown() (and `finished`) resolve while the listening socket is
// still bound: Deno closes a listener only once its pending accept() op is cancelled, on a later
// turn of the event loop, and #shutdown does not wait for the accept loops to return. Right after
// `await server.shutdown()` a connect gets ECONNRESET instead of ECONNREFUSED, and listening on
// the same port again throws AddrInUse (a test that restarts a server on its port fails).
// Expected: when shutdown() resolves, the port is free.
Deno.test({
  name: "FtpServer.shutdown() has released the port when it resolves",
  async fn() {
    const server = serve({ root: "memory:" });
    await server.shutdown();
    ok(await refused(server.addr.port), "connect is refused, not reset");
    const again = serve({ root: "memory:", port: server.addr.port });
    await again.shutdown();
  },
});

Deno.test("FtpServer.shutdown() with 5 idle sessions resolves within 100 ms; clients see 421", async () => {
  const server = serve({ root: "memory:", users: [{ name: "u", password: "p" }] });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const c = await RawClient.connect(server.addr.port);
      clients.push(c);
      await c.login("u", "p");
      await c.expect("PWD", 257);
    }
    equal(server.sessionCount, 5);
    equal(await settled(server.finished), false);
    const start = performance.now();
    await server.shutdown();
    const elapsed = performance.now() - start;
    // deno-lint-ignore no-console
    console.log(`library shutdown() with 5 idle sessions: ${elapsed.toFixed(1)} ms`);
    ok(elapsed < 100, `shutdown took ${elapsed.toFixed(1)} ms`);
    equal(await settled(server.finished), true, "finished resolves with shutdown()");
    equal(server.sessionCount, 0);
    for (const c of clients) {
      const reply = await c.read(2_000);
      equal(reply.code, 421, reply.lines.join(" | "));
      ok(await c.closedByServer(2_000), "the server closes the connection after 421");
    }
    await server.shutdown(); // a second call is harmless
  } finally {
    for (const c of clients) c.close();
    await server.shutdown();
  }
});

Deno.test("FtpServer.shutdown() timing, median of 5 rounds with 5 idle sessions", async () => {
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    const server = serve({ root: "memory:", users: [{ name: "u", password: "p" }] });
    const clients = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const c = await RawClient.connect(server.addr.port);
        await c.login("u", "p");
        return c;
      }),
    );
    const start = performance.now();
    await server.shutdown();
    times.push(performance.now() - start);
    for (const c of clients) {
      equal((await c.read(2_000)).code, 421);
      c.close();
    }
  }
  // deno-lint-ignore no-console
  console.log(
    `library shutdown() with 5 idle sessions: median ${median(times).toFixed(1)} ms ` +
      `(${times.map((t) => t.toFixed(1)).join(", ")})`,
  );
  ok(median(times) < 100);
});

Deno.test("serve() startup: median of 20 calls until listening", async () => {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    const server = serve({ root: "memory:", users: [{ name: "u", password: "p" }] });
    const listening = performance.now() - start;
    times.push(listening);
    // Listening means a client gets the greeting; check it outside the timed part.
    await using c = await RawClient.connect(server.addr.port);
    equal(c.banner.code, 220);
    c.close();
    await server.shutdown();
  }
  // deno-lint-ignore no-console
  console.log(
    `library serve() until listening: median ${median(times).toFixed(2)} ms over 20 calls`,
  );
  ok(median(times) < 1_000, "a very generous bound");
});

Deno.test("FtpServer.transcript() records each session's commands and replies in order", async () => {
  await using ftp = startTestServer({
    storage: "memory",
    transcript: true,
    users: [{ name: "alice", password: "wonder land" }, { name: "bob", password: "b0b" }],
    files: { "f.txt": "file" },
  });
  await using a = await RawClient.connect(ftp.port);
  await using b = await RawClient.connect(ftp.port);
  await a.expect("USER alice", 331);
  await b.expect("USER bob", 331);
  await a.expect("PASS wonder land", 230);
  await b.expect("PASS b0b", 230);
  await a.expect("PWD", 257);
  await b.expect("TYPE I", 200);
  await b.expect("SIZE f.txt", 213);
  await a.expect("NOSUCH", 500);
  await a.expect("QUIT", 221);
  ok(await a.closedByServer(2_000));
  await b.expect("NOOP", 200);

  const entries = ftp.server.transcript();
  const sessions = [...new Set(entries.map((e) => e.session))];
  equal(sessions.length, 2);
  const [first, second] = sessions;
  const of = (session: number) =>
    entries.filter((e) => e.session === session).map((e) => `${e.direction}: ${e.text}`);
  deepEqual(of(first), [
    "reply: 220 ftpgate ready.",
    "command: USER alice",
    "reply: 331 Please specify the password.",
    "command: PASS ****",
    "reply: 230 Login successful.",
    "command: PWD",
    'reply: 257 "/" is the current directory.',
    "command: NOSUCH",
    "reply: 500 Syntax error, command unrecognized.",
    "command: QUIT",
    "reply: 221 Goodbye.",
  ]);
  deepEqual(of(second).filter((line) => line.startsWith("command")), [
    "command: USER bob",
    "command: PASS ****",
    "command: TYPE I",
    "command: SIZE f.txt",
    "command: NOOP",
  ]);
  deepEqual(of(second).filter((line) => line.startsWith("reply")).map((l) => l.slice(7, 10)), [
    "220",
    "331",
    "230",
    "200",
    "213",
    "200",
  ]);
  for (let i = 1; i < entries.length; i++) ok(entries[i].time >= entries[i - 1].time);
  ok(typeof entries[0].time === "number");
});

Deno.test("FtpServer.transcript() is empty without the transcript option", async () => {
  await using ftp = startTestServer({ storage: "memory" });
  await using c = await RawClient.connect(ftp.port);
  await c.login("test", "test");
  deepEqual(ftp.server.transcript(), []);
});

Deno.test("basic-ftp sees a 530 for wrong credentials from startTestServer()", async () => {
  await using ftp = startTestServer({ storage: "memory", loginFailureDelayMs: 0 });
  await rejects(
    connectFtp({ host: ftp.host, port: ftp.port, user: "test", password: "wrong" }),
    (e: unknown) => e instanceof FTPError && e.code === 530,
  );
});

Deno.test("src/testing.ts and src/mod.ts type-check from a project of their own (no import map)", async () => {
  // Another project imports ftpgate by URL: its own deno.json knows none of our import names,
  // so src/ names its npm packages in full (a bare name would be an untyped `any` there).
  const dir = Deno.makeTempDirSync({ prefix: "ftpgate-consumer-" });
  try {
    Deno.writeTextFileSync(`${dir}/deno.json`, "{}");
    const src = new URL("../../src/", import.meta.url).href;
    Deno.writeTextFileSync(
      `${dir}/consumer_test.ts`,
      `import { startTestServer } from "${src}testing.ts";\n` +
        `import { serve, type ServeOptions } from "${src}mod.ts";\n` +
        `const options: ServeOptions = { root: "memory:" };\n` +
        `export const check = [startTestServer, serve, options];\n`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "consumer_test.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(output.stderr);
    equal(output.code, 0, said);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
