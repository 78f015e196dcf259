/**
 * A user's own limits, enforced over real sockets with real clients: quota in bytes and files
 * (552, existing data untouched), bandwidth per direction shared by the user's sessions (within
 * ±15% over 10 MiB, not exceeded by parallel sessions) and per session, networks, TLS-only
 * users, sessions at once.
 */
import { equal, match, ok } from "node:assert/strict";
import { serve } from "../../src/mod.ts";
import { assertExit, curl, localDir, python } from "../helpers/clients.ts";
import { tempDir } from "../helpers/files.ts";
import { loginAs, RawClient, readAll } from "../helpers/raw_client.ts";
import { randomBytes, startServer, type TestServer, testServerAs } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

const MiB = 1024 * 1024;

Deno.test({
  name: "quota: an upload past the bytes answers 552, a file past the count too; data stays",
  ignore: needs("python3"),
  async fn() {
    const root = tempDir("ftpgate-limits-");
    Deno.writeTextFileSync(`${root}/existing.txt`, "x".repeat(10_000));
    try {
      await using server = serve({
        root,
        atomicUploads: true,
        users: [{ name: "q", password: "pw", limits: { quotaBytes: 100_000, quotaFiles: 3 } }],
      });
      const { result } = await python<Record<string, string>>(
        testServerAs(server, root, "q", "pw"),
        `
ftp = connect(debug=0)
out = {}
def stor(name, size):
    try:
        return ftp.storbinary("STOR " + name, io.BytesIO(b"y" * size))
    except ftplib.error_perm as e:
        return str(e)
out["first"] = stor("a.bin", 60_000)        # 70,000 of 100,000 used
out["over"] = stor("b.bin", 60_000)         # would be 130,000: refused at the crossing byte
out["replace"] = stor("a.bin", 80_000)      # replaces 60,000: 90,000 used, fits
out["third"] = stor("c.bin", 100)           # files: existing, a, c = 3
out["fourth"] = stor("d.bin", 100)          # a fourth file: refused
ftp.delete("c.bin")
out["after_delete"] = stor("d.bin", 100)
ftp.quit()
result(out)
`,
      );
      match(result.first, /^226 /);
      match(result.over, /^552 /);
      match(result.replace, /^226 /);
      match(result.third, /^226 /);
      match(result.fourth, /^552 /);
      match(result.after_delete, /^226 /);
      equal(Deno.readTextFileSync(`${root}/existing.txt`), "x".repeat(10_000));
      equal(Deno.statSync(`${root}/a.bin`).size, 80_000);
      // With atomic uploads nothing of the refused one is left.
      ok(![...Deno.readDirSync(root)].some((entry) => entry.name === "b.bin"));
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "bandwidth: 10 MiB at 4 MiB/s within ±15%, and two sessions of one user share the limit",
  ignore: needs("curl"),
  async fn() {
    const root = tempDir("ftpgate-limits-");
    Deno.writeFileSync(`${root}/ten.bin`, new Uint8Array(10 * MiB));
    try {
      const rate = 4 * MiB;
      await using server = serve({
        root,
        users: [{
          name: "slow",
          password: "pw",
          limits: { downloadBytesPerSecond: rate, uploadBytesPerSecond: rate },
        }],
      });
      const t = testServerAs(server, root, "slow", "pw");
      await using local = localDir();
      const url = `ftp://127.0.0.1:${t.port}/ten.bin`;
      let started = performance.now();
      assertExit(await curl(t, ["-o", "one.bin", url], { cwd: local.path }), "curl RETR");
      const one = (performance.now() - started) / 1000;
      const expected = 10 * MiB / rate;
      ok(
        Math.abs(one - expected) <= expected * 0.15,
        `10 MiB took ${one.toFixed(2)} s, expected ${expected} s`,
      );
      // Two at once: together still 4 MiB/s, so twice as long.
      started = performance.now();
      const both = await Promise.all([
        curl(t, ["-o", "a.bin", url], { cwd: local.path }),
        curl(t, ["-o", "b.bin", url], { cwd: local.path }),
      ]);
      for (const output of both) assertExit(output, "parallel curl RETR");
      const two = (performance.now() - started) / 1000;
      ok(
        two >= 2 * expected * 0.85,
        `two parallel sessions took ${two.toFixed(2)} s: over the limit`,
      );
      // Uploads are held to it too.
      started = performance.now();
      assertExit(
        await curl(t, ["-T", "one.bin", `ftp://127.0.0.1:${t.port}/up.bin`], { cwd: local.path }),
        "curl STOR",
      );
      const up = (performance.now() - started) / 1000;
      ok(Math.abs(up - expected) <= expected * 0.15, `a 10 MiB upload took ${up.toFixed(2)} s`);
      equal(Deno.statSync(`${root}/up.bin`).size, 10 * MiB);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "bandwidth per session: each session of a user keeps to its own rate (within ±15%), under the user's",
  ignore: needs("curl"),
  async fn() {
    const root = tempDir("ftpgate-limits-");
    Deno.writeFileSync(`${root}/four.bin`, new Uint8Array(4 * MiB));
    try {
      const rate = 2 * MiB;
      await using server = serve({
        root,
        users: [{
          name: "each",
          password: "pw",
          limits: { sessionDownloadBytesPerSecond: rate, sessionUploadBytesPerSecond: rate },
        }, {
          name: "both",
          password: "pw",
          // Each session 2 MiB/s, the user 3 MiB/s: two at once are held to the user's rate.
          limits: { sessionDownloadBytesPerSecond: rate, downloadBytesPerSecond: 3 * MiB },
        }],
      });
      await using local = localDir();
      const expected = 4 * MiB / rate;
      const timed = async (t: TestServer, args: string[][]) => {
        const started = performance.now();
        const outputs = await Promise.all(args.map((a) => curl(t, a, { cwd: local.path })));
        for (const output of outputs) assertExit(output, "curl");
        return (performance.now() - started) / 1000;
      };
      const each = testServerAs(server, root, "each", "pw");
      const url = `ftp://127.0.0.1:${each.port}/four.bin`;
      // Two sessions at once each get the full session rate: together twice as fast as one
      // user-wide limit would allow.
      const two = await timed(each, [["-o", "a.bin", url], ["-o", "b.bin", url]]);
      ok(Math.abs(two - expected) <= expected * 0.15, `two sessions took ${two.toFixed(2)} s`);
      const up = await timed(each, [["-T", "a.bin", `ftp://127.0.0.1:${each.port}/up.bin`]]);
      ok(Math.abs(up - expected) <= expected * 0.15, `an upload took ${up.toFixed(2)} s`);
      equal(Deno.statSync(`${root}/up.bin`).size, 4 * MiB);
      const both = testServerAs(server, root, "both", "pw");
      const capped = await timed(both, [["-o", "c.bin", url], ["-o", "d.bin", url]]);
      const userBound = 8 * MiB / (3 * MiB);
      ok(
        Math.abs(capped - userBound) <= userBound * 0.15,
        `two sessions under a 3 MiB/s user limit took ${capped.toFixed(2)} s, expected ${
          userBound.toFixed(2)
        } s`,
      );
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});

Deno.test("networks, TLS-only users and sessions at once are checked at login", async () => {
  await using server = serve({
    root: "memory:",
    tls: { selfSigned: true },
    users: [
      { name: "office", password: "pw", allowedNetworks: ["10.0.0.0/8"] },
      { name: "local", password: "pw", allowedNetworks: ["127.0.0.0/8", "::1/128"] },
      { name: "secure", password: "pw", requireTls: true },
      { name: "two", password: "pw", limits: { maxSessions: 2 } },
    ],
  });
  const port = server.addr.port;
  await using a = await RawClient.connect(port);
  // Refused like a wrong password: the reply must not tell that the password was right.
  await a.expect("USER office", 331);
  equal((await a.expect("PASS pw", 530)).text, "Login incorrect.");
  await a.login("local", "pw");
  await using b = await RawClient.connect(port);
  await b.expect("USER secure", 331);
  equal((await b.expect("PASS pw", 530)).text, "Login incorrect.");
  await using c1 = await RawClient.connect(port);
  await c1.login("two", "pw");
  await using c2 = await RawClient.connect(port);
  await c2.login("two", "pw");
  await using c3 = await RawClient.connect(port);
  await c3.expect("USER two", 331);
  await c3.expect("PASS pw", 421);
  // One of the two leaves: there is room again.
  await c1.expect("QUIT", 221);
  await using c4 = await RawClient.connect(port);
  let admitted = false;
  for (let i = 0; i < 50 && !admitted; i++) {
    await c4.expect("USER two", 331);
    admitted = (await c4.command("PASS pw")).code === 230;
    if (!admitted) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  ok(admitted, "a session freed by QUIT can be taken");
});

Deno.test({
  name: "a TLS-only user logs in over AUTH TLS (ftplib FTP_TLS)",
  ignore: needs("python3"),
  async fn() {
    await using server = serve({
      root: "memory:",
      tls: { selfSigned: true },
      users: [{ name: "secure", password: "pw", requireTls: true }],
    });
    const { result } = await python<{ login: string }>(
      testServerAs(server, "", "secure", "pw"),
      `
import ssl
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=context, timeout=10)
ftp.connect(HOST, PORT)
out = {"login": ftp.login(USER, PASSWORD)}
ftp.quit()
result(out)
`,
    );
    match(result.login, /^230 /);
  },
});

Deno.test("a download throttled below a piece per stall timeout is slowed, not aborted as stalled", async () => {
  // ThrottledConnection (src/limits/throttled.ts) waits for a whole piece before writing it, and
  // the stall clock sees no byte move meanwhile: 64 KiB pieces at 8 KiB/s waited ~6 s each, so
  // a 3 s stall timeout aborted the download with 426 after sending nothing. The limit is the
  // server's own choice, not a stalled client: 226 and the whole file, at about the rate.
  const file = randomBytes(64 * 1024);
  await using t = startServer({
    files: { "f.bin": file },
    users: [{ name: "slow", password: "pw", limits: { downloadBytesPerSecond: 8 * 1024 } }],
    stallTimeoutMs: 3_000,
  });
  await using c = await loginAs(t.port, "slow", "pw");
  const data = await c.epsv();
  await c.expect("RETR f.bin", 150);
  const started = performance.now();
  const got = await readAll(data, 30_000);
  const done = await c.read(30_000);
  equal(done.code, 226, done.lines.join(" | "));
  equal(got.length, file.length);
  // 64 KiB at 8 KiB/s, less the 16 KiB burst: about 6 s.
  const seconds = (performance.now() - started) / 1000;
  ok(seconds > 4.5 && seconds < 12, `${seconds.toFixed(1)} s`);
});
