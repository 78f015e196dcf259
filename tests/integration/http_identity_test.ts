/**
 * The HTTP identity hook end to end: a real ftpgate whose logins a real hook (Deno.serve on
 * loopback) decides, driven by Python's ftplib. Allowed users land in the tree the hook named;
 * refusals are 530; a hook that hangs, answers garbage or names a root outside allowed_roots
 * gets the client a 421 and a closed connection, and nobody is logged in.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { type FtpEvent, serve } from "../../src/mod.ts";
import { type AuthHook, hookIdentity, json, startAuthHook } from "../helpers/auth_hook.ts";
import { python } from "../helpers/clients.ts";
import { tempDir } from "../helpers/files.ts";
import { testServerAs } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

const skip = needs("python3");

/** A server whose logins `hook` decides; the allowed root holds alice's tree. */
function hookedServer(hook: AuthHook, options: { timeoutMs?: number; cacheMs?: number } = {}) {
  const top = tempDir("ftpgate-hooked-");
  Deno.mkdirSync(`${top}/users/alice/reports`, { recursive: true });
  Deno.mkdirSync(`${top}/server-root`);
  Deno.mkdirSync(`${top}/elsewhere`);
  Deno.writeTextFileSync(`${top}/users/alice/hello.txt`, "hello from alice's tree\n");
  Deno.writeTextFileSync(`${top}/server-root/not-yours.txt`, "the server's root");
  const identity = hookIdentity(hook.url, `${top}/users`, {
    timeoutMs: options.timeoutMs ?? 2000,
    ...(options.cacheMs === undefined ? {} : { cacheMs: options.cacheMs }),
  });
  const server = serve({ identity, root: `${top}/server-root`, loginFailureDelayMs: 0 });
  const events: FtpEvent[] = [];
  const off = server.events.on((event) => void events.push(event));
  const as = (user: string, password: string) =>
    testServerAs(server, `${top}/users/${user}`, user, password);
  return {
    top,
    as,
    server,
    events,
    /** Logins that succeeded, from the server's own events. */
    loggedIn: () => events.filter((event) => event.type === "login" && event.ok),
    async [Symbol.asyncDispose]() {
      off();
      await server.shutdown({ graceMs: 0 });
      identity.close();
      await Deno.remove(top, { recursive: true }).catch(() => {});
    },
  };
}

/** ftplib: log in, then report the listing and a file, or the error the login raised. */
const LOGIN_AND_LOOK = `
try:
    ftp = connect()
except ftplib.all_errors as e:
    result({"error": str(e)})
else:
    names = sorted(ftp.nlst())
    buf = io.BytesIO()
    ftp.retrbinary("RETR hello.txt", buf.write)
    pwd = ftp.pwd()
    ftp.quit()
    result({"names": names, "hello": buf.getvalue().decode(), "pwd": pwd})
`;

/** ftplib: the login fails; report the reply and whether the server closed the connection. */
const LOGIN_THEN_PROBE = `
ftp = ftplib.FTP(timeout=10)
ftp.set_debuglevel(2)
ftp.connect(HOST, PORT)
try:
    ftp.login(USER, PASSWORD)
    result({"error": None})
except ftplib.all_errors as e:
    error = str(e)
    try:
        ftp.voidcmd("NOOP")
        closed = False
    except (EOFError, OSError):
        closed = True
    except ftplib.all_errors:
        closed = False
    result({"error": error, "closed": closed})
`;

Deno.test({
  name: "a login the hook allows lands in the root the hook returned (ftplib)",
  ignore: skip,
  async fn() {
    await using hook = startAuthHook((call) =>
      call.body.user === "alice" && call.body.password === "alice's pw"
        ? json({ root: `${s.top}/users/alice`, bandwidth: { download: 1_000_000 } })
        : new Response(null, { status: 401 })
    );
    await using s = hookedServer(hook);
    const { result } = await python<{ names: string[]; hello: string; pwd: string }>(
      s.as("alice", "alice's pw"),
      LOGIN_AND_LOOK,
    );
    deepEqual(result, {
      names: ["hello.txt", "reports"],
      hello: "hello from alice's tree\n",
      pwd: "/",
    });
    equal(hook.calls.length, 1);
    deepEqual(hook.calls[0].body, {
      user: "alice",
      password: "alice's pw",
      remote_address: "127.0.0.1",
      tls: false,
    });
    equal(s.loggedIn().length, 1);
  },
});

Deno.test({
  name: "a login the hook refuses gets 530 (ftplib)",
  ignore: skip,
  async fn() {
    await using hook = startAuthHook(() => new Response(null, { status: 401 }));
    await using s = hookedServer(hook);
    const { result } = await python<{ error: string; closed: boolean }>(
      s.as("alice", "wrong"),
      LOGIN_THEN_PROBE,
    );
    ok(result.error.startsWith("530"), result.error);
    equal(result.closed, false, "a wrong password leaves the session open for another try");
    equal(s.loggedIn().length, 0);
  },
});

for (
  const [what, answer, options] of [
    ["times out", () => "hang" as const, { timeoutMs: 500 }],
    ["answers garbage", () => new Response("<html>ok</html>"), {}],
    ["answers 500", () => new Response("down", { status: 500 }), {}],
    ["returns a root outside allowed_roots", null, {}],
  ] as const
) {
  Deno.test({
    name: `a hook that ${what} gets the client 421 and a closed connection, nobody logged in`,
    ignore: skip,
    async fn() {
      await using hook = startAuthHook(() => new Response(null, { status: 500 }));
      await using s = hookedServer(hook, options);
      hook.answer(answer ?? (() => json({ root: `${s.top}/elsewhere` })));
      const started = performance.now();
      const { result } = await python<{ error: string; closed: boolean }>(
        s.as("alice", "alice's pw"),
        LOGIN_THEN_PROBE,
      );
      ok(result.error.startsWith("421"), result.error);
      equal(result.closed, true, "the server closed the connection after 421");
      equal(hook.calls.length, 1);
      equal(s.loggedIn().length, 0, "no login succeeded");
      ok(
        s.server.status().sessions.every((session) => session.user === undefined),
        "no session has a user",
      );
      if (what === "times out") {
        const took = performance.now() - started;
        ok(took >= 450, `421 came after the hook's time-out (${took} ms)`);
      }
    },
  });
}

Deno.test({
  name: "two logins within the cache time ask the hook once (ftplib)",
  ignore: skip,
  async fn() {
    await using hook = startAuthHook(() => json({ root: `${s.top}/users/alice` }));
    await using s = hookedServer(hook, { cacheMs: 30_000 });
    const script = `
ftp1 = connect()
n1 = ftp1.nlst()
ftp1.quit()
ftp2 = connect()
n2 = ftp2.nlst()
ftp2.quit()
result({"first": sorted(n1), "second": sorted(n2)})
`;
    const { result } = await python<{ first: string[]; second: string[] }>(
      s.as("alice", "alice's pw"),
      script,
    );
    deepEqual(result, { first: ["hello.txt", "reports"], second: ["hello.txt", "reports"] });
    equal(hook.calls.length, 1, "the second login came from the cache");
    equal(s.loggedIn().length, 2);
  },
});
