/**
 * Identity → file system, over real sockets with real clients: users of one server with their
 * own roots, rules and mounts; a drop box; a read-only archive; anonymous upload-only access; a
 * back end whose missing capabilities the protocol obeys.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { Writable } from "node:stream";
import { FULL_CAPABILITIES, MemoryStorage, PERMISSIONS, serve } from "../../src/mod.ts";
import { connectFtp, downloadText, uploadBytes } from "../helpers/cli_helpers.ts";
import { assertExit, curl, lftp, localDir, python, writeTree } from "../helpers/clients.ts";
import { tempDir } from "../helpers/files.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { testServerAs } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

function tree(files: Record<string, string>): string {
  const root = tempDir("ftpgate-identity-");
  writeTree(root, files);
  return root;
}

/** Two users, each with their own tree: alice one directory, bob a mount table with a drop box. */
function twoUserServer() {
  const shared = tree({ "server-root.txt": "nobody sees this" });
  const alice = tree({ "alice.txt": "alice's file" });
  const bob = tree({ "bob.txt": "bob's file", "inbox/.keep": "" });
  const archive = tree({ "2025/report.csv": "a,b\n1,2\n" });
  const server = serve({
    root: shared,
    users: [
      { name: "alice", password: "alice pw", root: alice },
      {
        name: "bob",
        password: "bob pw",
        mounts: [{ path: "/", root: bob }, { path: "/archive", root: archive, readOnly: true }],
        rules: [{ path: "/", allow: PERMISSIONS }, { path: "/inbox", allow: ["upload"] }],
      },
    ],
  });
  return {
    alice: testServerAs(server, alice, "alice", "alice pw"),
    bob: testServerAs(server, bob, "bob", "bob pw"),
    roots: { shared, alice, bob, archive },
    async [Symbol.asyncDispose]() {
      await server.shutdown({ graceMs: 0 });
      for (const root of [shared, alice, bob, archive]) {
        await Deno.remove(root, { recursive: true }).catch(() => {});
      }
    },
  };
}

Deno.test("two users of one server see different trees (curl and basic-ftp)", async () => {
  await using s = twoUserServer();
  const aliceList = await curl(s.alice, ["--list-only", `ftp://127.0.0.1:${s.alice.port}/`]);
  assertExit(aliceList, "curl NLST as alice");
  deepEqual(aliceList.stdout.trim().split(/\r?\n/).sort(), ["alice.txt"]);
  const bobList = await curl(s.bob, ["--list-only", `ftp://127.0.0.1:${s.bob.port}/`]);
  assertExit(bobList, "curl NLST as bob");
  // The mount point shows in its parent even though bob's root has no such directory.
  deepEqual(bobList.stdout.trim().split(/\r?\n/).sort(), ["archive", "bob.txt", "inbox"]);
  await using alice = await connectFtp(s.alice);
  equal(await downloadText(alice, "alice.txt"), "alice's file");
  await rejects(downloadText(alice, "bob.txt"), /550/);
  await rejects(downloadText(alice, "archive/2025/report.csv"), /550/);
  await using bob = await connectFtp(s.bob);
  equal(await downloadText(bob, "archive/2025/report.csv"), "a,b\n1,2\n");
  await rejects(downloadText(bob, "alice.txt"), /550/);
});

Deno.test("a drop box takes an upload and refuses LIST and RETR (ftplib)", async () => {
  await using s = twoUserServer();
  const { result } = await python<Record<string, string>>(
    s.bob,
    `
ftp = connect(debug=0)
out = {}
out["stor"] = ftp.storbinary("STOR /inbox/report.csv", io.BytesIO(b"x,y\\n"))
for name, call in (("list", lambda: ftp.retrlines("LIST /inbox", lambda line: None)),
                   ("nlst", lambda: ftp.nlst("/inbox")),
                   ("retr", lambda: ftp.retrbinary("RETR /inbox/report.csv", lambda data: None)),
                   ("size", lambda: ftp.sendcmd("SIZE /inbox/report.csv")),
                   ("overwrite", lambda: ftp.storbinary("STOR /inbox/report.csv", io.BytesIO(b"z")))):
    try:
        out[name] = call()
    except ftplib.error_perm as e:
        out[name] = str(e)
out["cwd"] = ftp.cwd("/inbox")
ftp.quit()
result(out)
`,
  );
  match(result.stor, /^226 /);
  for (const name of ["list", "nlst", "retr", "size", "overwrite"]) {
    match(result[name], /^550 /, name);
  }
  match(result.cwd, /^250 /);
  equal(Deno.readTextFileSync(`${s.roots.bob}/inbox/report.csv`), "x,y\n");
});

Deno.test({
  name: "a read-only archive mount refuses every change and serves downloads (lftp)",
  ignore: needs("lftp"),
  async fn() {
    await using s = twoUserServer();
    await using local = localDir();
    Deno.writeTextFileSync(`${local.path}/new.txt`, "new");
    const get = await lftp(s.bob, ["get archive/2025/report.csv -o got.csv"], { cwd: local.path });
    assertExit(get, "lftp get from the archive");
    equal(Deno.readTextFileSync(`${local.path}/got.csv`), "a,b\n1,2\n");
    for (
      const command of [
        "put new.txt -o archive/new.txt",
        "rm archive/2025/report.csv",
        "mkdir archive/x",
        "mv archive/2025 archive/2026",
        "rmdir archive/2025",
      ]
    ) {
      const output = await lftp(s.bob, [command], { cwd: local.path });
      ok(output.code !== 0, `${command} should fail`);
      match(output.stderr, /550/, command);
    }
    // A rename out of the mount is refused with the reason, not half done.
    await using c = await RawClient.connect(s.bob.port);
    await c.login("bob", "bob pw");
    await c.expect("RNFR bob.txt", 350);
    const refused = await c.expect("RNTO archive/bob.txt", 550);
    match(refused.text, /Permission denied/);
    await c.expect("RNFR /archive/2025", 550);
    deepEqual([...Deno.readDirSync(`${s.roots.archive}/2025`)].map((e) => e.name), ["report.csv"]);
    equal(Deno.readTextFileSync(`${s.roots.bob}/bob.txt`), "bob's file");
  },
});

Deno.test("MLSD perm facts follow the rules: a drop box is 'ce', the archive read-only", async () => {
  await using s = twoUserServer();
  await using c = await RawClient.connect(s.bob.port);
  await c.login("bob", "bob pw");
  await c.expect("OPTS MLST type;perm;", 200);
  const listing = new TextDecoder().decode(await c.download("MLSD /")).trimEnd().split("\r\n");
  deepEqual(
    listing.sort(),
    [
      // No f (rename) for "/": rules start below it (and the root is never renamed).
      "type=cdir;perm=cdelmp; .",
      "type=dir;perm=ce; inbox",
      "type=dir;perm=el; archive",
      "type=file;perm=adfrw; bob.txt",
      "type=pdir;perm=cdelmp; ..",
    ].sort(),
  );
});

Deno.test("anonymous-write is upload-only: new files in, no overwrite, delete, rename or rmdir", async () => {
  const root = tree({ "pub/old.txt": "old", "pub/sub/.keep": "" });
  await using server = serve({ root, anonymous: "write" });
  try {
    await using c = await RawClient.connect(server.addr.port);
    await c.login("anonymous", "guest@example.com");
    await c.expect("TYPE I", 200);
    const stored = await c.upload("STOR pub/new.txt", new TextEncoder().encode("new"));
    equal(stored.code, 226);
    for (const line of ["STOR pub/old.txt", "APPE pub/old.txt", "STOU pub/old.txt"]) {
      // Refused before a data connection is needed (STOU names the file it would create).
      const reply = await c.command(line);
      if (line.startsWith("STOU")) continue;
      equal(reply.code, 550, line);
    }
    for (
      const line of [
        "DELE pub/old.txt",
        "RNFR pub/old.txt",
        "RMD pub/sub",
        "MKD pub/x",
        "SITE CHMOD 777 pub/old.txt",
        "MFMT 20000101000000 pub/old.txt",
      ]
    ) {
      equal((await c.command(line)).code, 550, line);
    }
    equal(new TextDecoder().decode(await c.download("RETR pub/old.txt")), "old");
    equal(Deno.readTextFileSync(`${root}/pub/new.txt`), "new");
    equal(Deno.readTextFileSync(`${root}/pub/old.txt`), "old");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("a back end without restart support: REST 502 and no REST STREAM in FEAT, on the wire", async () => {
  const storage = MemoryStorage.from({ "a.txt": "abcdef" });
  Object.defineProperty(storage, "capabilities", {
    value: { ...FULL_CAPABILITIES, readAtOffset: false, writeAtOffset: false },
  });
  await using server = serve({ root: storage, users: [{ name: "u", password: "p" }] });
  await using c = await RawClient.connect(server.addr.port);
  const before = await c.expect("FEAT", 211);
  ok(!before.lines.some((line) => line.includes("REST")), before.lines.join("\n"));
  await c.login("u", "p");
  const feat = await c.expect("FEAT", 211);
  ok(!feat.lines.some((line) => line.includes("REST")), feat.lines.join("\n"));
  await c.expect("REST 3", 502);
  await c.expect("TYPE I", 200);
  equal(new TextDecoder().decode(await c.download("RETR a.txt")), "abcdef");
  // basic-ftp notices: a resumed download fails cleanly instead of restarting silently.
  await using client = await connectFtp({
    host: "127.0.0.1",
    port: server.addr.port,
    user: "u",
    password: "p",
  });
  await rejects(
    client.downloadTo(new Writable({ write: (_c, _e, done) => done() }), "a.txt", 3),
    /502/,
  );
  await uploadBytes(client, "b.txt", "b");
  equal(new TextDecoder().decode(await storage.readFile("/b.txt")), "b");
});

Deno.test("users with password hashes log in (ftplib); wrong passwords and unknown users get 530", async () => {
  const { hashPassword, closePasswordVerifier } = await import(
    "../../src/identity/passwords/mod.ts"
  );
  const argon = await hashPassword("argon pw");
  await closePasswordVerifier();
  // SHA-512 crypt as /etc/shadow and vsftpd's PAM hold it (openssl passwd -6).
  const sha =
    "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";
  await using server = serve({
    root: "memory:",
    users: [{ name: "argon", passwordHash: argon }, { name: "sha", passwordHash: sha }],
  });
  const t = (user: string, password: string) => testServerAs(server, "", user, password);
  const attempt = `
out = {}
ftp = ftplib.FTP(timeout=10)
ftp.connect(HOST, PORT)
try:
    out["login"] = ftp.login(USER, PASSWORD)
except ftplib.error_perm as e:
    out["login"] = str(e)
result(out)
`;
  match((await python<{ login: string }>(t("argon", "argon pw"), attempt)).result.login, /^230 /);
  match((await python<{ login: string }>(t("argon", "wrong"), attempt)).result.login, /^530 /);
  match((await python<{ login: string }>(t("nobody", "argon pw"), attempt)).result.login, /^530 /);
  // Made by `openssl passwd -6 -salt saltsalt password`.
  match((await python<{ login: string }>(t("sha", "password"), attempt)).result.login, /^230 /);
  match((await python<{ login: string }>(t("sha", "Password"), attempt)).result.login, /^530 /);
});

Deno.test("reconfigure() changes users and limits for new logins without dropping a session", async () => {
  await using server = serve({ root: "memory:", users: [{ name: "old", password: "pw" }] });
  await using kept = await RawClient.connect(server.addr.port);
  await kept.login("old", "pw");
  server.reconfigure({ users: [{ name: "new", password: "pw2" }], maxLoginAttempts: 1 });
  // The session logged in before goes on.
  await kept.expect("PWD", 257);
  await using c = await RawClient.connect(server.addr.port);
  await c.expect("USER old", 331);
  await c.expect("PASS pw", 421); // gone, and one attempt is now the limit
  await using d = await RawClient.connect(server.addr.port);
  await d.login("new", "pw2");
  // What cannot change, and bad values, throw and leave the settings as they were.
  for (const changes of [{ port: 1 }, { maxSessions: 0 }]) {
    let threw = false;
    try {
      server.reconfigure(changes as Parameters<typeof server.reconfigure>[0]);
    } catch {
      threw = true;
    }
    equal(threw, true, JSON.stringify(changes));
  }
  await using e = await RawClient.connect(server.addr.port);
  await e.login("new", "pw2");
});
