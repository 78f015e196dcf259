/**
 * Control-connection commands over a real socket: login and access control (RFC 959 §4.1.1,
 * RFC 7151 HOST), parameters and their refusals, FEAT/OPTS (RFC 2389), informational commands,
 * navigation with the 257 quoting rule, and UTF-8 names (RFC 2640).
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { RawClient } from "../helpers/raw_client.ts";
import { PASSWORD, startServer, USER } from "../helpers/server.ts";
import { text, utf8 } from "../helpers/protocol_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Login and access control
// ---------------------------------------------------------------------------------------------

Deno.test("login: banner 220, USER 331, PASS 230", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  equal(c.banner.code, 220);
  deepEqual(c.banner.lines, ["220 ftpgate ready."]);
  const user = await c.expect(`USER ${USER}`, 331);
  equal(user.lines.length, 1);
  await c.expect(`PASS ${PASSWORD}`, 230);
  await c.expect("PWD", 257);
});

Deno.test("login: a wrong password gets 530 and the session can try again", async () => {
  await using t = startServer({ loginFailureDelayMs: 0 });
  await using c = await RawClient.connect(t.port);
  await c.expect(`USER ${USER}`, 331);
  await c.expect("PASS wrong", 530);
  // Not logged in after the failure.
  await c.expect("PWD", 530);
  // And the same connection can log in properly.
  await c.expect(`USER ${USER}`, 331);
  await c.expect(`PASS ${PASSWORD}`, 230);
  await c.expect("PWD", 257);
});

Deno.test("login: too many failed logins end the session with 421", async () => {
  await using t = startServer({ loginFailureDelayMs: 0, maxLoginAttempts: 2 });
  await using c = await RawClient.connect(t.port);
  await c.expect(`USER ${USER}`, 331);
  await c.expect("PASS wrong", 530);
  await c.expect(`USER ${USER}`, 331);
  await c.expect("PASS wrong again", 421);
  ok(await c.closedByServer(5_000));
});

Deno.test("login: an unknown user gets 530 at PASS", async () => {
  await using t = startServer({ loginFailureDelayMs: 0 });
  await using c = await RawClient.connect(t.port);
  await c.expect("USER nobody", 331);
  await c.expect(`PASS ${PASSWORD}`, 530);
});

Deno.test("login: PASS without USER gets 503", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.expect(`PASS ${PASSWORD}`, 503);
  await c.expect("PWD", 530);
});

Deno.test("login: every command that needs a login gets 530 before it", async () => {
  await using t = startServer({ files: { "a.txt": "hello\n", "d/x.txt": "x" } });
  const before = Deno.statSync(`${t.root}/a.txt`);
  await using c = await RawClient.connect(t.port);
  const commands = [
    "PWD",
    "XPWD",
    "CWD /d",
    "XCWD /d",
    "CDUP",
    "XCUP",
    "TYPE I",
    "STRU F",
    "MODE S",
    "REST 0",
    "ALLO 10",
    "PORT 127,0,0,1,200,0",
    "EPRT |1|127.0.0.1|51200|",
    "PASV",
    "EPSV",
    "EPSV ALL",
    "RETR a.txt",
    "STOR new.txt",
    "APPE a.txt",
    "STOU",
    "DELE a.txt",
    "MKD newdir",
    "XMKD newdir",
    "RMD d",
    "XRMD d",
    "RNFR a.txt",
    "RNTO b.txt",
    "SIZE a.txt",
    "MDTM a.txt",
    "MFMT 20200101000000 a.txt",
    "LIST",
    "NLST",
    "MLSD",
    "MLST a.txt",
    "STAT",
    "STAT a.txt",
    "SITE HELP",
    "SITE CHMOD 777 a.txt",
    "ABOR",
    // Without their required argument too: the login check comes first.
    "RETR",
    "CWD",
  ];
  for (const line of commands) {
    const reply = await c.command(line);
    equal(reply.code, 530, `${line} → ${reply.lines.join(" | ")}`);
  }
  // Nothing was changed.
  deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name).sort(), ["a.txt", "d"]);
  equal(Deno.readTextFileSync(`${t.root}/a.txt`), "hello\n");
  equal(Deno.statSync(`${t.root}/a.txt`).mode, before.mode);
});

Deno.test("login: commands that need no login work before it", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.expect("SYST", 215);
  await c.expect("NOOP", 200);
  await c.expect("FEAT", 211);
  await c.expect("HELP", 214);
  await c.expect("OPTS UTF8 ON", 200);
  await c.expect("CLNT test", 200);
});

Deno.test("login: anonymous is read-only when the server has no users", async () => {
  await using t = startServer({ users: [], files: { "pub.txt": "public\n" } });
  await using c = await RawClient.connect(t.port);
  await c.expect("USER anonymous", 331);
  await c.expect("PASS guest@example.com", 230);
  await c.expect("TYPE I", 200);
  equal(text(await c.download("RETR pub.txt")), "public\n");
  await c.expect("STOR up.txt", 550);
  await c.expect("MKD dir", 550);
  await c.expect("DELE pub.txt", 550);
  deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name), ["pub.txt"]);

  // "ftp" is the other anonymous name (RFC 1635).
  await using c2 = await RawClient.connect(t.port);
  await c2.expect("USER ftp", 331);
  await c2.expect("PASS x", 230);
});

Deno.test("login: anonymous is refused when users are configured", async () => {
  await using t = startServer({ loginFailureDelayMs: 0 });
  await using c = await RawClient.connect(t.port);
  await c.expect("USER anonymous", 331);
  await c.expect("PASS guest@example.com", 530);
  await c.expect("PWD", 530);
});

Deno.test("login: a read-only account cannot change anything (550)", async () => {
  await using t = startServer({
    users: [{ name: "reader", password: "pw", write: false }],
    files: { "a.txt": "keep\n", "d/inner.txt": "x" },
  });
  const before = Deno.statSync(`${t.root}/a.txt`);
  await using c = await RawClient.connect(t.port);
  await c.login("reader", "pw");
  await c.expect("TYPE I", 200);
  // Reading works.
  equal(text(await c.download("RETR a.txt")), "keep\n");
  // Every write is refused before a data connection is even needed.
  const refused = [
    "STOR a.txt",
    "STOR new.txt",
    "APPE a.txt",
    "STOU",
    "DELE a.txt",
    "MKD newdir",
    "XMKD newdir",
    "RMD d",
    "RNFR a.txt",
    "RNTO b.txt",
    "MFMT 20000101000000 a.txt",
    "SITE CHMOD 777 a.txt",
  ];
  for (const line of refused) {
    const reply = await c.command(line);
    equal(reply.code, 550, `${line} → ${reply.lines.join(" | ")}`);
  }
  const after = Deno.statSync(`${t.root}/a.txt`);
  equal(Deno.readTextFileSync(`${t.root}/a.txt`), "keep\n");
  equal(after.mode, before.mode);
  equal(after.mtime?.getTime(), before.mtime?.getTime());
  deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name).sort(), ["a.txt", "d"]);
  deepEqual([...Deno.readDirSync(`${t.root}/d`)].map((e) => e.name), ["inner.txt"]);
});

Deno.test("REIN: 220 and logged out; a new login works", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("MKD sub", 257);
  await c.expect("CWD sub", 250);
  await c.expect("TYPE I", 200);
  await c.expect("REIN", 220);
  await c.expect("PWD", 530);
  await c.login(USER, PASSWORD);
  // Back to the initial state: root directory, TYPE A (SIZE refuses in ASCII mode).
  equal((await c.expect("PWD", 257)).text, '"/" is the current directory.');
  ok((await c.expect("STAT", 211)).lines.some((line) => line.includes("TYPE: ASCII")));
});

Deno.test("QUIT: 221 and the server closes the connection", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("QUIT", 221);
  ok(await c.closedByServer(5_000));
});

Deno.test("QUIT: works before login too", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.expect("QUIT", 221);
  ok(await c.closedByServer(5_000));
});

Deno.test("HOST: 220 before login, 503 after USER or login (RFC 7151)", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.expect("HOST ftp.example.com", 220);
  await c.expect("HOST", 501);
  await c.expect(`USER ${USER}`, 331);
  await c.expect("HOST ftp.example.com", 503);
  await c.expect(`PASS ${PASSWORD}`, 230);
  await c.expect("HOST ftp.example.com", 503);
});

Deno.test("ACCT: 202 after login", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("ACCT billing", 202);
  await c.expect("ACCT", 501);
});

// ---------------------------------------------------------------------------------------------
// Syntax and parameters
// ---------------------------------------------------------------------------------------------

Deno.test("unknown verbs get 500, known but unimplemented ones 502", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.expect("FOOBAR", 500);
  await c.expect("XYZZY arg", 500);
  await c.expect("SMNT /mnt", 502);
  await c.expect("LANG EN", 502);
  await c.expect("AUTH TLS", 502);
  await c.login(USER, PASSWORD);
  await c.expect("FOOBAR", 500);
  await c.expect("SMNT /mnt", 502);
  await c.expect("LANG EN", 502);
  // Verbs are case-insensitive.
  await c.expect("noop", 200);
  await c.expect("pWd", 257);
});

Deno.test("a missing required argument gets 501; an unexpected one too", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  for (
    const verb of [
      "CWD",
      "XCWD",
      "RETR",
      "STOR",
      "APPE",
      "DELE",
      "MKD",
      "XMKD",
      "RMD",
      "XRMD",
      "RNFR",
      "SIZE",
      "MDTM",
      "MFMT",
      "TYPE",
      "STRU",
      "MODE",
      "REST",
      "PORT",
      "EPRT",
      "SITE",
      "ALLO",
      "OPTS",
    ]
  ) {
    const reply = await c.command(verb);
    equal(reply.code, 501, `${verb} → ${reply.lines.join(" | ")}`);
  }
  await c.expect("PWD extra", 501);
  await c.expect("CDUP extra", 501);
  await c.expect("PASV extra", 501);
  await c.expect("NOOP", 200);
});

Deno.test("TYPE: A and E with N/T/C, I, L 8 accepted; other byte sizes 504; X 501", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  for (const type of ["I", "A", "A N", "A T", "A C", "E", "E N", "E T", "E C", "L 8", "i", "a c"]) {
    await c.expect(`TYPE ${type}`, 200);
  }
  await c.expect("TYPE L 7", 504);
  await c.expect("TYPE L 36", 504);
  await c.expect("TYPE X", 501);
  await c.expect("TYPE A X", 501);
  await c.expect("TYPE L", 501);
  await c.expect("TYPE I X Y", 501);
  const status = await c.expect("TYPE E C", 200);
  match(status.text, /EBCDIC carriage control/);
});

Deno.test("TYPE L 8 is binary: SIZE works as in TYPE I", async () => {
  await using t = startServer({ files: { "a.txt": "a\nb\n" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("SIZE a.txt", 550);
  await c.expect("TYPE L 8", 200);
  equal((await c.expect("SIZE a.txt", 213)).text, "4");
});

Deno.test("STRU F and R 200, STRU P 504; MODE S, B, C and Z 200", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("STRU F", 200);
  await c.expect("STRU R", 200);
  await c.expect("STRU P", 504);
  await c.expect("STRU Q", 501);
  for (const mode of ["S", "B", "C", "s"]) await c.expect(`MODE ${mode}`, 200);
  // MODE Z is offered only when enabled (modeZ): lftp would compress every transfer.
  await c.expect("MODE Z", 504);
  await c.expect("MODE X", 501);
  await c.expect("OPTS MODE Z LEVEL 9", 504); // like MODE Z, while it is off
  match((await c.expect("STAT", 211)).lines.join("\n"), /STRU: Record; MODE: Stream/);
});

Deno.test("REST: a number gets 350, anything else 501", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("REST 0", 350);
  await c.expect("REST 1234", 350);
  await c.expect("REST abc", 501);
  await c.expect("REST -5", 501);
  await c.expect("REST 1.5", 501);
  await c.expect("REST 99999999999999999999", 501);
});

Deno.test("RNTO without RNFR gets 503", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("RNTO b.txt", 503);
  ok(Deno.statSync(`${t.root}/a.txt`).isFile);
});

Deno.test("a command between RNFR and RNTO cancels the rename (503)", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("RNFR a.txt", 350);
  await c.expect("NOOP", 200);
  await c.expect("RNTO b.txt", 503);
  ok(Deno.statSync(`${t.root}/a.txt`).isFile);
  // A second RNTO after a successful one is refused as well: the RNFR applies once.
  await c.expect("RNFR a.txt", 350);
  await c.expect("RNTO b.txt", 250);
  await c.expect("RNTO c.txt", 503);
  deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name), ["b.txt"]);
});

Deno.test("ALLO gets 202 (nothing to reserve), a size that is not a number 501", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("ALLO 1024", 202);
  await c.expect("ALLO 1024 R 512", 202);
  await c.expect("ALLO lots", 501);
  await c.expect("ALLO 1024 X 5", 501);
});

// ---------------------------------------------------------------------------------------------
// FEAT, OPTS, HELP, SYST, NOOP, STAT, SITE
// ---------------------------------------------------------------------------------------------

Deno.test("FEAT: 211 multi-line, one feature per line after a space (RFC 2389)", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  const reply = await c.expect("FEAT", 211);
  ok(reply.lines.length > 2);
  match(reply.lines[0], /^211-/);
  match(reply.lines[reply.lines.length - 1], /^211 /);
  const features = reply.lines.slice(1, -1);
  for (const line of features) match(line, /^ \S/, `feature line ${JSON.stringify(line)}`);
  const names = features.map((line) => line.slice(1));
  for (const wanted of ["EPSV", "EPRT", "REST STREAM", "SIZE", "MDTM", "UTF8", "TVFS", "HOST"]) {
    ok(names.includes(wanted), `FEAT lacks ${wanted}: ${names.join(", ")}`);
  }
  ok(names.includes("MFMT"), `FEAT lacks MFMT`);
  const mlst = names.find((name) => name.startsWith("MLST "));
  equal(mlst, "MLST type*;size*;modify*;perm*;unix.mode*;unique*;");
});

Deno.test("OPTS: UTF8 ON 200; MLST facts 200 and reflected in FEAT and MLSD", async () => {
  await using t = startServer({ files: { "a.txt": "hello", "d/x": "" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("OPTS UTF8 ON", 200);
  await c.expect("OPTS UTF8 OFF", 504);
  await c.expect("OPTS NONSENSE X", 501);
  const reply = await c.expect("OPTS MLST type;size;", 200);
  equal(reply.text, "MLST OPTS type;size;");
  const feat = await c.expect("FEAT", 211);
  ok(feat.lines.includes(" MLST type*;size*;modify;perm;unix.mode;unique;"));
  const listing = await c.listing("MLSD");
  const lines = listing.split("\r\n");
  equal(lines.pop(), "");
  deepEqual(lines.map((line) => line.replace(/size=\d+;/, "size=N;")), [
    "type=cdir;size=N; .",
    "type=pdir;size=N; ..",
    "type=file;size=N; a.txt",
    "type=dir;size=N; d",
  ]);
  ok(lines.includes("type=file;size=5; a.txt"));
  // MLST follows the same choice.
  const mlst = await c.expect("MLST a.txt", 250);
  equal(mlst.lines[1], " type=file;size=5; /a.txt");
  // Unknown facts are ignored (RFC 3659 §7.9); an empty list turns every fact off.
  equal((await c.expect("OPTS MLST bogus;modify;", 200)).text, "MLST OPTS modify;");
  equal((await c.expect("OPTS MLST", 200)).text, "MLST OPTS ");
  equal((await c.expect("MLST a.txt", 250)).lines[1], "  /a.txt");
});

Deno.test("HELP: 214 multi-line list; HELP RETR 214 with syntax", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  const help = await c.expect("HELP", 214);
  ok(help.lines.length > 3);
  match(help.lines[0], /^214-/);
  match(help.lines[help.lines.length - 1], /^214 /);
  const verbs = help.lines.slice(1, -1).join(" ").split(/\s+/);
  for (const verb of ["RETR", "STOR", "EPSV", "MLSD", "FEAT", "XPWD"]) ok(verbs.includes(verb));
  const retr = await c.expect("HELP RETR", 214);
  deepEqual(retr.lines, ["214 Syntax: RETR <sp> pathname"]);
  equal((await c.expect("HELP retr", 214)).text, "Syntax: RETR <sp> pathname");
  await c.expect("HELP NOSUCHVERB", 501);
});

Deno.test("SYST 215 UNIX Type: L8; NOOP 200", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  deepEqual((await c.expect("SYST", 215)).lines, ["215 UNIX Type: L8"]);
  await c.expect("NOOP", 200);
});

Deno.test("STAT without argument: 211 multi-line server status", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("TYPE I", 200);
  const reply = await c.expect("STAT", 211);
  ok(reply.lines.length >= 3);
  match(reply.lines[0], /^211-/);
  match(reply.lines[reply.lines.length - 1], /^211 /);
  ok(reply.lines.some((line) => line.includes(`Logged in as ${USER}`)));
  ok(reply.lines.some((line) => line.includes("127.0.0.1")));
  ok(reply.lines.some((line) => line.includes("TYPE: BINARY")));
});

Deno.test("STAT path: 213 multi-line with ls -l lines", async () => {
  await using t = startServer({ files: { "d/one.txt": "1", "d/two.txt": "22", "a.txt": "abc" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  const dir = await c.expect("STAT d", 213);
  equal(dir.lines.length, 4);
  equal(dir.lines[0], '213-Status of "/d":');
  match(dir.lines[1], /^-[-rwx]{9} +1 ftp +ftp +1 \w{3} [ \d]\d +[\d:]{4,5} one\.txt$/);
  match(dir.lines[2], /^-[-rwx]{9} +1 ftp +ftp +2 \w{3} [ \d]\d +[\d:]{4,5} two\.txt$/);
  equal(dir.lines[3], "213 End of status.");
  const file = await c.expect("STAT a.txt", 213);
  equal(file.lines.length, 3);
  match(file.lines[1], /^-[-rwx]{9} +1 ftp +ftp +3 .* a\.txt$/);
  await c.expect("STAT missing.txt", 550);
});

Deno.test("SITE: HELP 214, CHMOD 200 changes the mode on disk, unknown 504", async () => {
  await using t = startServer({ files: { "a.txt": "x" } });
  Deno.chmodSync(`${t.root}/a.txt`, 0o600);
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  const help = await c.expect("SITE HELP", 214);
  ok(help.lines.length > 1);
  ok(help.lines.some((line) => line.includes("CHMOD")));
  await c.expect("SITE CHMOD 755 a.txt", 200);
  equal(Deno.statSync(`${t.root}/a.txt`).mode! & 0o7777, 0o755);
  await c.expect("SITE chmod 640 /a.txt", 200);
  equal(Deno.statSync(`${t.root}/a.txt`).mode! & 0o7777, 0o640);
  // setuid/setgid bits are never set.
  await c.expect("SITE CHMOD 6755 a.txt", 200);
  equal(Deno.statSync(`${t.root}/a.txt`).mode! & 0o7777, 0o755);
  await c.expect("SITE CHMOD 999 a.txt", 501);
  await c.expect("SITE CHMOD 755", 501);
  await c.expect("SITE CHMOD 755 missing.txt", 550);
  await c.expect("SITE FOO", 504);
  await c.expect("SITE FOO bar", 504);
});

// ---------------------------------------------------------------------------------------------
// Navigation
// ---------------------------------------------------------------------------------------------

Deno.test("PWD/CWD/CDUP and the X-aliases", async () => {
  await using t = startServer({ files: { "a/b/c.txt": "c" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  deepEqual((await c.expect("PWD", 257)).lines, ['257 "/" is the current directory.']);
  await c.expect("CWD a", 250);
  equal((await c.expect("PWD", 257)).text, '"/a" is the current directory.');
  await c.expect("XCWD b", 250);
  equal((await c.expect("XPWD", 257)).text, '"/a/b" is the current directory.');
  await c.expect("CDUP", 250);
  equal((await c.expect("PWD", 257)).text, '"/a" is the current directory.');
  await c.expect("XCUP", 250);
  equal((await c.expect("PWD", 257)).text, '"/" is the current directory.');
  // CDUP at the root stays at the root.
  await c.expect("CDUP", 250);
  equal((await c.expect("PWD", 257)).text, '"/" is the current directory.');
  await c.expect("CWD /a/b", 250);
  equal((await c.expect("PWD", 257)).text, '"/a/b" is the current directory.');
  await c.expect("CWD /", 250);
  await c.expect("CWD missing", 550);
  await c.expect("CWD a/b/c.txt", 550);
  equal((await c.expect("PWD", 257)).text, '"/" is the current directory.');
  // X-aliases for directory creation and removal.
  equal((await c.expect("XMKD a/new", 257)).text, '"/a/new" directory created.');
  ok(Deno.statSync(`${t.root}/a/new`).isDirectory);
  await c.expect("XRMD a/new", 250);
  let gone = false;
  try {
    Deno.statSync(`${t.root}/a/new`);
  } catch (error) {
    gone = error instanceof Deno.errors.NotFound;
  }
  ok(gone);
});

Deno.test('257 doubles a quote inside a name: a"b → "/a""b"', async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  const mkd = await c.expect('MKD a"b', 257);
  equal(mkd.text, '"/a""b" directory created.');
  ok(Deno.statSync(`${t.root}/a"b`).isDirectory);
  await c.expect('CWD a"b', 250);
  equal((await c.expect("PWD", 257)).text, '"/a""b" is the current directory.');
  equal((await c.expect('MKD "q"', 257)).text, '"/a""b/""q""" directory created.');
});

Deno.test("UTF-8 names round-trip through MKD, STOR, LIST, NLST, MLSD, RETR", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("OPTS UTF8 ON", 200);
  await c.expect("TYPE I", 200);
  const dir = "日本語 ディレクトリ";
  const name = "日本語 ü.txt";
  const content = utf8("контент ✓\n");
  equal((await c.expect(`MKD ${dir}`, 257)).text, `"/${dir}" directory created.`);
  await c.expect(`CWD ${dir}`, 250);
  equal((await c.expect("PWD", 257)).text, `"/${dir}" is the current directory.`);
  await c.upload(`STOR ${name}`, content);
  // On disk under exactly that name, NFC bytes unchanged.
  deepEqual(Deno.readFileSync(`${t.root}/${dir}/${name}`), content);
  const list = await c.listing("LIST");
  match(list, new RegExp(`^-[-rwx]{9} +1 ftp +ftp +${content.length} .* ${name}\\r\\n$`));
  equal(await c.listing("NLST"), `${name}\r\n`);
  equal(await c.listing(`NLST /${dir}`), `/${dir}/${name}\r\n`);
  const mlsd = await c.listing("MLSD");
  ok(mlsd.split("\r\n").some((line) => line.endsWith(`; ${name}`) && line.startsWith("type=file")));
  deepEqual(await c.download(`RETR ${name}`), content);
  deepEqual(await c.download(`RETR /${dir}/${name}`), content);
  equal((await c.expect(`SIZE ${name}`, 213)).text, String(content.length));
  await c.expect("CDUP", 250);
  const root = await c.listing("LIST");
  match(root, new RegExp(`^d[-rwx]{9} .* ${dir}\\r\\n$`));
});

// ---------------------------------------------------------------------------------------------
// Command lines (RFC 959 §5.3, RFC 854 Telnet)
// ---------------------------------------------------------------------------------------------

Deno.test("command lines: bare LF, pipelined commands, leading-space names", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.sendRaw(utf8("NOOP\n"));
  equal((await c.read()).code, 200);
  await c.sendRaw(utf8("NOOP\r\nSYST\r\nPWD\r\n"));
  deepEqual([(await c.read()).code, (await c.read()).code, (await c.read()).code], [200, 215, 257]);
  // The argument is everything after the first space: names may start or end with spaces.
  equal((await c.expect("MKD  spaced ", 257)).text, '"/ spaced " directory created.');
  ok(Deno.statSync(`${t.root}/ spaced `).isDirectory);
  await c.expect("", 500);
  await c.expect("NOOP", 200);
});

Deno.test("command lines: too long → 500 and the session goes on; invalid UTF-8 → 501", async () => {
  await using t = startServer({ maxLineLength: 256 });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect(`MKD ${"x".repeat(1000)}`, 500);
  await c.expect("NOOP", 200);
  await c.sendRaw(new Uint8Array([...utf8("MKD bad"), 0xc3, 0x28, 0x0d, 0x0a]));
  equal((await c.read()).code, 501);
  deepEqual([...Deno.readDirSync(t.root)], []);
  await c.expect("NOOP", 200);
});

Deno.test("command lines: Telnet IAC sequences are removed (RFC 854)", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  // IAC IP IAC DM before a command, as sent ahead of ABOR (RFC 959 §4.1.3).
  await c.sendRaw(new Uint8Array([0xff, 0xf4, 0xff, 0xf2, ...utf8("NOOP\r\n")]));
  equal((await c.read()).code, 200);
  // IAC IAC is a literal 0xFF byte, which alone is not UTF-8.
  await c.sendRaw(new Uint8Array([...utf8("MKD a"), 0xff, 0xff, ...utf8("\r\n")]));
  equal((await c.read()).code, 501);
});

Deno.test("names: a name over 255 bytes gets 553; the root itself cannot be changed", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect(`MKD ${"語".repeat(86)}`, 553); // 258 bytes
  await c.expect(`MKD ${"n".repeat(255)}`, 257);
  for (const line of ["RMD /", "DELE /", "RNFR /", "MKD /", "RMD ..", "DELE ."]) {
    const reply = await c.command(line);
    equal(reply.code, 550, `${line} → ${reply.lines.join(" | ")}`);
  }
  ok(Deno.statSync(`${t.root}/a.txt`).isFile);
});

Deno.test("idle timeout: 421 and the connection is closed", async () => {
  await using t = startServer({ idleTimeoutMs: 300 });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  const reply = await c.read(5_000);
  equal(reply.code, 421);
  ok(await c.closedByServer(5_000));
});
