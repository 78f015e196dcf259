/**
 * File transfers and file commands over real sockets: byte-exact RETR/STOR, REST (RFC 3659 §5),
 * APPE, STOU (RFC 1123 §4.1.2.9), SIZE/MDTM (RFC 3659 §4, §3), MFMT, DELE/MKD/RMD/RNFR/RNTO,
 * TYPE A conversion (RFC 959 §3.1.1.1), and the LIST/NLST/MLSD/MLST formats.
 */

import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { RawClient, writeAllAndClose } from "../helpers/raw_client.ts";
import { PASSWORD, randomBytes, startServer, USER } from "../helpers/server.ts";
import { exists } from "../helpers/files.ts";
import { loginBinary, names } from "../helpers/hardening_helpers.ts";
import { drain, text, utf8 } from "../helpers/protocol_helpers.ts";

const MiB = 1024 * 1024;

/** `time-val` of RFC 3659 §2.3 for a date: YYYYMMDDHHMMSS, UTC. */
function timeVal(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/[-T:]/g, "");
}

/** The MLSx `unique` fact the local storage reports for a file. */
function uniqueFact(path: string): string {
  const info = Deno.statSync(path);
  return `${info.dev.toString(16)}g${info.ino!.toString(16)}`;
}

// ---------------------------------------------------------------------------------------------
// RETR / STOR
// ---------------------------------------------------------------------------------------------

for (const size of [0, 1, 5 * MiB]) {
  Deno.test(`RETR sends a ${size}-byte file byte for byte`, async () => {
    const data = randomBytes(size, size + 7);
    await using t = startServer({ files: { "f.bin": data } });
    await using c = await loginBinary(t.port);
    const got = await c.download("RETR f.bin");
    equal(got.length, size);
    deepEqual(got, Deno.readFileSync(`${t.root}/f.bin`));
  });

  Deno.test(`STOR stores a ${size}-byte file byte for byte`, async () => {
    const data = randomBytes(size, size + 11);
    await using t = startServer();
    await using c = await loginBinary(t.port);
    const done = await c.upload("STOR up.bin", data);
    equal(done.code, 226);
    const disk = Deno.readFileSync(`${t.root}/up.bin`);
    equal(disk.length, size);
    deepEqual(disk, data);
    // And it reads back the same.
    deepEqual(await c.download("RETR up.bin"), data);
  });
}

Deno.test("RETR: 150 names the file and its size; 226 after the bytes", async () => {
  await using t = startServer({ files: { "a.txt": "hello" } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  const opening = await c.expect("RETR a.txt", 150);
  equal(opening.text, 'Opening BINARY mode data connection for "a.txt" (5 bytes).');
  equal(text(await drain(data)), "hello");
  equal((await c.read()).code, 226);
  await c.expect("NOOP", 200);
});

Deno.test("STOR replaces an existing file completely", async () => {
  await using t = startServer({ files: { "a.txt": "a much longer original content\n" } });
  await using c = await loginBinary(t.port);
  await c.upload("STOR a.txt", utf8("short"));
  equal(Deno.readTextFileSync(`${t.root}/a.txt`), "short");
});

Deno.test("RETR of a missing file: 550 and no 150", async () => {
  await using t = startServer();
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  const reply = await c.expect("RETR missing.txt", 550);
  equal(reply.lines.length, 1);
  data.close();
  // The very next reply belongs to the next command: no stray 150 or 226 is queued.
  await c.expect("NOOP", 200);
  await c.expect("NOOP", 200);
});

Deno.test("RETR of a directory: 550", async () => {
  await using t = startServer({ files: { "d/x.txt": "x" } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("RETR d", 550);
  await c.expect("RETR /", 550);
  data.close();
  await c.expect("NOOP", 200);
});

Deno.test("STOR into a missing directory: 550, nothing created", async () => {
  await using t = startServer();
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("STOR nodir/x.bin", 550);
  data.close();
  await c.expect("NOOP", 200);
  deepEqual(names(t.root), []);
});

Deno.test("STOR onto a directory: 550, directory intact", async () => {
  await using t = startServer({ files: { "d/x.txt": "x" } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("STOR d", 550);
  data.close();
  await c.expect("NOOP", 200);
  deepEqual(names(`${t.root}/d`), ["x.txt"]);
});

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

Deno.test("REST + RETR returns the tail from the offset", async () => {
  const data = randomBytes(100_000, 3);
  await using t = startServer({ files: { "f.bin": data } });
  await using c = await loginBinary(t.port);
  await c.expect("REST 12345", 350);
  deepEqual(await c.download("RETR f.bin"), data.subarray(12345));
  // The offset applies once: the next RETR is whole again.
  deepEqual(await c.download("RETR f.bin"), data);
  // REST to exactly the size: nothing left to send, and that is fine.
  await c.expect(`REST ${data.length}`, 350);
  equal((await c.download("RETR f.bin")).length, 0);
});

Deno.test("REST + STOR keeps the first part and writes from the offset", async () => {
  const original = randomBytes(10_000, 5);
  const tail = randomBytes(3_000, 6);
  await using t = startServer({ files: { "f.bin": original } });
  await using c = await loginBinary(t.port);
  await c.expect("REST 4000", 350);
  await c.upload("STOR f.bin", tail);
  const disk = Deno.readFileSync(`${t.root}/f.bin`);
  equal(disk.length, 7_000);
  deepEqual(disk.subarray(0, 4000), original.subarray(0, 4000));
  deepEqual(disk.subarray(4000), tail);
});

Deno.test("REST + STOR at the end of the file resumes an upload", async () => {
  const whole = randomBytes(50_000, 9);
  await using t = startServer({ files: { "f.bin": whole.subarray(0, 20_000) } });
  await using c = await loginBinary(t.port);
  equal((await c.expect("SIZE f.bin", 213)).text, "20000");
  await c.expect("REST 20000", 350);
  await c.upload("STOR f.bin", whole.subarray(20_000));
  deepEqual(Deno.readFileSync(`${t.root}/f.bin`), whole);
});

Deno.test("REST beyond the end of the file: 554 for RETR and STOR, file unchanged", async () => {
  await using t = startServer({ files: { "f.bin": "0123456789" } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("REST 11", 350);
  await c.expect("RETR f.bin", 554);
  await c.expect("REST 100", 350);
  await c.expect("STOR f.bin", 554);
  data.close();
  equal(Deno.readTextFileSync(`${t.root}/f.bin`), "0123456789");
  // The refused offset is gone: a plain RETR sends everything.
  equal(text(await c.download("RETR f.bin")), "0123456789");
});

// ---------------------------------------------------------------------------------------------
// APPE, STOU
// ---------------------------------------------------------------------------------------------

Deno.test("APPE appends to an existing file and creates a missing one", async () => {
  await using t = startServer({ files: { "log.txt": "one\n" } });
  await using c = await loginBinary(t.port);
  await c.upload("APPE log.txt", utf8("two\n"));
  await c.upload("APPE log.txt", utf8("three\n"));
  equal(Deno.readTextFileSync(`${t.root}/log.txt`), "one\ntwo\nthree\n");
  await c.upload("APPE fresh.txt", utf8("new\n"));
  equal(Deno.readTextFileSync(`${t.root}/fresh.txt`), "new\n");
});

Deno.test("STOU: 150 FILE: name, a new file, never overwriting", async () => {
  await using t = startServer({ files: { "taken.txt": "original" } });
  await using c = await loginBinary(t.port);

  // Without an argument the server picks the name.
  let data = await c.epsv();
  const first = await c.expect("STOU", 150);
  const name = /^FILE: (.+)$/.exec(first.text)?.[1];
  ok(name, `150 reply ${first.text}`);
  await writeAllAndClose(data, utf8("unique one"));
  const done = await c.read();
  equal(done.code, 226);
  ok(done.text.includes(name!));
  equal(Deno.readTextFileSync(`${t.root}/${name}`), "unique one");

  // With the name of an existing file, a different name is used.
  data = await c.epsv();
  const second = await c.expect("STOU taken.txt", 150);
  const other = /^FILE: (.+)$/.exec(second.text)?.[1];
  ok(other);
  notEqual(other, "taken.txt");
  await writeAllAndClose(data, utf8("unique two"));
  equal((await c.read()).code, 226);
  equal(Deno.readTextFileSync(`${t.root}/taken.txt`), "original");
  equal(Deno.readTextFileSync(`${t.root}/${other}`), "unique two");
  equal(names(t.root).length, 3);
});

// ---------------------------------------------------------------------------------------------
// SIZE, MDTM, MFMT
// ---------------------------------------------------------------------------------------------

Deno.test("SIZE: 213 in TYPE I, 550 in TYPE A, 550 for a directory or a missing file", async () => {
  await using t = startServer({ files: { "f.bin": randomBytes(4321), "d/x": "" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("SIZE f.bin", 550); // TYPE A is the default (RFC 959)
  await c.expect("TYPE I", 200);
  deepEqual((await c.expect("SIZE f.bin", 213)).lines, ["213 4321"]);
  await c.expect("SIZE d", 550);
  await c.expect("SIZE missing", 550);
  await c.expect("TYPE A", 200);
  await c.expect("SIZE f.bin", 550);
});

Deno.test("MDTM: 213 YYYYMMDDHHMMSS in UTC, matching the file's mtime", async () => {
  await using t = startServer({ files: { "a.txt": "a", "d/x": "" } });
  await using c = await loginBinary(t.port);
  const mtime = Deno.statSync(`${t.root}/a.txt`).mtime!;
  const reply = await c.expect("MDTM a.txt", 213);
  match(reply.text, /^\d{14}$/);
  equal(reply.text, timeVal(mtime));
  // A fixed date in the past, to rule out local time.
  Deno.utimeSync(`${t.root}/a.txt`, new Date(), new Date("2001-02-03T04:05:06Z"));
  equal((await c.expect("MDTM a.txt", 213)).text, "20010203040506");
  await c.expect("MDTM missing", 550);
  await c.expect("MDTM d", 550);
});

Deno.test("MFMT: sets the modification time; 213 Modify=; bad syntax 501", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  const reply = await c.expect("MFMT 20200102030405 a.txt", 213);
  equal(reply.text, "Modify=20200102030405; a.txt");
  equal(Deno.statSync(`${t.root}/a.txt`).mtime!.toISOString(), "2020-01-02T03:04:05.000Z");
  equal((await c.expect("MDTM a.txt", 213)).text, "20200102030405");
  await c.expect("MFMT 20201301000000 a.txt", 501); // month 13
  await c.expect("MFMT 2020 a.txt", 501);
  await c.expect("MFMT 20200102030405", 501);
  await c.expect("MFMT 20200102030405 missing.txt", 550);
  equal(Deno.statSync(`${t.root}/a.txt`).mtime!.toISOString(), "2020-01-02T03:04:05.000Z");
});

// ---------------------------------------------------------------------------------------------
// DELE, MKD, RMD, RNFR/RNTO
// ---------------------------------------------------------------------------------------------

Deno.test("DELE removes a file; refuses a directory and a missing file", async () => {
  await using t = startServer({ files: { "a.txt": "a", "d/x.txt": "x" } });
  await using c = await loginBinary(t.port);
  await c.expect("DELE a.txt", 250);
  ok(!exists(`${t.root}/a.txt`));
  await c.expect("DELE a.txt", 550);
  await c.expect("DELE d", 550);
  ok(exists(`${t.root}/d/x.txt`));
});

Deno.test("MKD creates (257 with the path); existing 550; RMD empty 250, non-empty 550", async () => {
  await using t = startServer({ files: { "full/x.txt": "x" } });
  await using c = await loginBinary(t.port);
  equal((await c.expect("MKD new", 257)).text, '"/new" directory created.');
  ok(Deno.statSync(`${t.root}/new`).isDirectory);
  await c.expect("MKD new", 550);
  await c.expect("MKD missing/child", 550);
  equal((await c.expect("MKD /new/child", 257)).text, '"/new/child" directory created.');
  await c.expect("RMD new", 550); // not empty
  await c.expect("RMD new/child", 250);
  await c.expect("RMD new", 250);
  ok(!exists(`${t.root}/new`));
  await c.expect("RMD full", 550);
  ok(exists(`${t.root}/full/x.txt`));
  await c.expect("RMD full/x.txt", 550); // a file
  await c.expect("RMD /", 550);
  await c.expect("RMD missing", 550);
});

Deno.test("RNFR + RNTO rename files and directories", async () => {
  await using t = startServer({ files: { "a.txt": "A", "d/x.txt": "x", "b.txt": "B" } });
  await using c = await loginBinary(t.port);
  await c.expect("RNFR a.txt", 350);
  await c.expect("RNTO renamed.txt", 250);
  equal(Deno.readTextFileSync(`${t.root}/renamed.txt`), "A");
  ok(!exists(`${t.root}/a.txt`));
  // Into a directory, by absolute path.
  await c.expect("RNFR renamed.txt", 350);
  await c.expect("RNTO /d/moved.txt", 250);
  equal(Deno.readTextFileSync(`${t.root}/d/moved.txt`), "A");
  // A directory.
  await c.expect("RNFR d", 350);
  await c.expect("RNTO e", 250);
  deepEqual(names(`${t.root}/e`), ["moved.txt", "x.txt"]);
  // Onto an existing file: replaced.
  await c.expect("RNFR e/x.txt", 350);
  await c.expect("RNTO b.txt", 250);
  equal(Deno.readTextFileSync(`${t.root}/b.txt`), "x");
  // Refusals.
  await c.expect("RNFR missing", 550);
  await c.expect("RNTO anything", 503);
  await c.expect("RNFR /", 550);
  await c.expect("RNFR b.txt", 350);
  await c.expect("RNTO nodir/b.txt", 550);
  equal(Deno.readTextFileSync(`${t.root}/b.txt`), "x");
});

// ---------------------------------------------------------------------------------------------
// TYPE A
// ---------------------------------------------------------------------------------------------

Deno.test("TYPE A: RETR turns LF into CRLF", async () => {
  await using t = startServer({ files: { "a.txt": "a\nb\n", "mixed.txt": "x\r\ny\n" } });
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("TYPE A", 200);
  const data = await c.epsv();
  const opening = await c.expect("RETR a.txt", 150);
  match(opening.text, /^Opening ASCII mode/);
  deepEqual(await drain(data), utf8("a\r\nb\r\n"));
  equal((await c.read()).code, 226);
  deepEqual(await c.download("RETR mixed.txt"), utf8("x\r\ny\r\n"));
  // TYPE I sends the bytes as they are.
  await c.expect("TYPE I", 200);
  deepEqual(await c.download("RETR a.txt"), utf8("a\nb\n"));
});

Deno.test("TYPE A: STOR turns CRLF into LF", async () => {
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("TYPE A", 200);
  await c.upload("STOR a.txt", utf8("a\r\nb\r\n"));
  deepEqual(Deno.readFileSync(`${t.root}/a.txt`), utf8("a\nb\n"));
  // A lone CR is data and stays.
  await c.upload("STOR cr.txt", utf8("x\ry\r\n"));
  deepEqual(Deno.readFileSync(`${t.root}/cr.txt`), utf8("x\ry\n"));
  await c.expect("TYPE I", 200);
  await c.upload("STOR b.txt", utf8("a\r\nb\r\n"));
  deepEqual(Deno.readFileSync(`${t.root}/b.txt`), utf8("a\r\nb\r\n"));
});

Deno.test("TYPE A: a large file with CRLF split across chunks round-trips", async () => {
  const line = "line of text ending here\n";
  const unix = line.repeat(200_000); // ~5 MB: many chunk boundaries
  await using t = startServer();
  await using c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("TYPE A", 200);
  await c.upload("STOR big.txt", utf8(unix.replaceAll("\n", "\r\n")));
  equal(Deno.readTextFileSync(`${t.root}/big.txt`), unix);
  equal(text(await c.download("RETR big.txt")), unix.replaceAll("\n", "\r\n"));
});

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------

const LS_LINE =
  /^([-d])([-r][-w][-x]){3} +1 ftp +ftp +(\d+) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d ( \d{4}|\d\d:\d\d) (.+)$/;

/** Seeds a root with fixed modes and times so that listings can be compared exactly. */
function seedFixed(root: string): void {
  Deno.writeTextFileSync(`${root}/a.txt`, "hello");
  Deno.writeTextFileSync(`${root}/b.log`, "0123456789");
  Deno.mkdirSync(`${root}/dir`);
  Deno.writeTextFileSync(`${root}/dir/inner.txt`, "in");
  Deno.chmodSync(`${root}/a.txt`, 0o640);
  Deno.chmodSync(`${root}/b.log`, 0o604);
  Deno.chmodSync(`${root}/dir`, 0o750);
  const old = new Date("2020-01-02T03:04:05Z");
  for (const path of ["a.txt", "b.log", "dir/inner.txt", "dir"]) {
    Deno.utimeSync(`${root}/${path}`, old, old);
  }
}

Deno.test("LIST: ls -l lines, exact for fixed modes and dates", async () => {
  await using t = startServer();
  seedFixed(t.root);
  await using c = await loginBinary(t.port);
  const list = await c.listing("LIST");
  const dirSize = Deno.statSync(`${t.root}/dir`).size;
  equal(
    list,
    "-rw-r-----    1 ftp      ftp                 5 Jan  2  2020 a.txt\r\n" +
      "-rw----r--    1 ftp      ftp                10 Jan  2  2020 b.log\r\n" +
      `drwxr-x---    1 ftp      ftp      ${String(dirSize).padStart(12)} Jan  2  2020 dir\r\n`,
  );
  for (const line of list.split("\r\n").slice(0, -1)) match(line, LS_LINE);
});

Deno.test("LIST: recent files show the time; options -la and -a /dir are accepted", async () => {
  await using t = startServer({ files: { "a.txt": "hello", "dir/inner.txt": "in" } });
  await using c = await loginBinary(t.port);
  const plain = await c.listing("LIST");
  const lines = plain.split("\r\n");
  equal(lines.pop(), "");
  equal(lines.length, 2);
  for (const line of lines) match(line, LS_LINE);
  const mtime = Deno.statSync(`${t.root}/a.txt`).mtime!;
  const hhmm = mtime.toISOString().slice(11, 16);
  match(lines[0], new RegExp(` ${hhmm} a\\.txt$`));
  match(lines[0], /^-rw/);
  match(lines[1], /^d.* dir$/);
  equal(await c.listing("LIST -la"), plain);
  equal(await c.listing("LIST -a"), plain);
  const sub = await c.listing("LIST -a /dir");
  match(sub, /^-[-rwx]{9} +1 ftp +ftp +2 .* inner\.txt\r\n$/);
  equal(await c.listing("LIST dir"), sub);
  equal(await c.listing("LIST -l dir"), sub);
  // A file lists as itself.
  match(await c.listing("LIST a.txt"), /^-[-rwx]{9} +1 ftp +ftp +5 .* a\.txt\r\n$/);
  // An empty directory lists as nothing.
  await c.expect("MKD empty", 257);
  equal(await c.listing("LIST empty"), "");
  // A missing path: 550, before any 150.
  const data = await c.epsv();
  await c.expect("LIST missing", 550);
  data.close();
  await c.expect("NOOP", 200);
});

Deno.test("NLST: names only; a directory argument prefixes them; globs", async () => {
  await using t = startServer({
    files: { "a.txt": "", "b.txt": "", "c.log": "", "dir/x.txt": "", "dir/y.log": "" },
  });
  await using c = await loginBinary(t.port);
  equal(await c.listing("NLST"), "a.txt\r\nb.txt\r\nc.log\r\ndir\r\n");
  equal(await c.listing("NLST dir"), "dir/x.txt\r\ndir/y.log\r\n");
  equal(await c.listing("NLST dir/"), "dir/x.txt\r\ndir/y.log\r\n");
  equal(await c.listing("NLST /dir"), "/dir/x.txt\r\n/dir/y.log\r\n");
  equal(await c.listing("NLST *.txt"), "a.txt\r\nb.txt\r\n");
  equal(await c.listing("NLST dir/*.log"), "dir/y.log\r\n");
  equal(await c.listing("NLST ?.log"), "c.log\r\n");
  equal(await c.listing("NLST *.none"), "");
  equal(await c.listing("NLST a.txt"), "a.txt\r\n");
  equal(await c.listing("NLST -la"), "a.txt\r\nb.txt\r\nc.log\r\ndir\r\n");
  await c.expect("CWD dir", 250);
  equal(await c.listing("NLST"), "x.txt\r\ny.log\r\n");
});

Deno.test("LIST with a glob lists the matching entries", async () => {
  await using t = startServer({ files: { "a.txt": "1", "b.txt": "22", "c.log": "333" } });
  await using c = await loginBinary(t.port);
  const lines = (await c.listing("LIST *.txt")).split("\r\n").slice(0, -1);
  equal(lines.length, 2);
  match(lines[0], / a\.txt$/);
  match(lines[1], / b\.txt$/);
});

Deno.test("MLSD: cdir, pdir and entries with every fact, exact", async () => {
  await using t = startServer();
  seedFixed(t.root);
  await using c = await loginBinary(t.port);
  const listing = await c.listing("MLSD");
  const lines = listing.split("\r\n");
  equal(lines.pop(), "");
  const root = Deno.statSync(t.root);
  const dir = Deno.statSync(`${t.root}/dir`);
  const rootFacts = `size=${root.size};modify=${timeVal(root.mtime!)};perm=cdeflmp;unix.mode=0${
    (root.mode! & 0o7777).toString(8)
  };unique=${uniqueFact(t.root)};`;
  deepEqual(lines, [
    `type=cdir;${rootFacts} .`,
    `type=pdir;${rootFacts} ..`,
    `type=file;size=5;modify=20200102030405;perm=adfrw;unix.mode=0640;unique=${
      uniqueFact(`${t.root}/a.txt`)
    }; a.txt`,
    `type=file;size=10;modify=20200102030405;perm=adfrw;unix.mode=0604;unique=${
      uniqueFact(`${t.root}/b.log`)
    }; b.log`,
    `type=dir;size=${dir.size};modify=20200102030405;perm=cdeflmp;unix.mode=0750;unique=${
      uniqueFact(`${t.root}/dir`)
    }; dir`,
  ]);
  // MLSD of a subdirectory: pdir is the root.
  const sub = (await c.listing("MLSD dir")).split("\r\n");
  match(sub[0], /^type=cdir;.*unix\.mode=0750;.* \.$/);
  equal(sub[1], `type=pdir;${rootFacts} ..`);
  match(sub[2], /^type=file;size=2;.* inner\.txt$/);
  // MLSD of a file: 550 "Not a directory", as CWD answers it (RFC 3659 §7.2.1: the command
  // fails), before any 150.
  const data = await c.epsv();
  await c.expect("MLSD a.txt", 550);
  await c.expect("MLSD missing", 550);
  data.close();
  await c.expect("NOOP", 200);
});

Deno.test("MLSD: read-only accounts get read-only perm facts", async () => {
  await using t = startServer({
    users: [{ name: "r", password: "p", write: false }],
    files: { "a.txt": "a", "d/x": "" },
  });
  await using c = await RawClient.connect(t.port);
  await c.login("r", "p");
  const lines = (await c.listing("MLSD")).split("\r\n");
  ok(lines.some((line) => line.startsWith("type=file;") && line.includes(";perm=r;")));
  ok(lines.some((line) => line.startsWith("type=dir;") && line.includes(";perm=el;")));
});

Deno.test("MLST: 250 multi-line; the fact line starts with a space (RFC 3659 §7.2)", async () => {
  await using t = startServer();
  seedFixed(t.root);
  await using c = await loginBinary(t.port);
  const reply = await c.expect("MLST a.txt", 250);
  equal(reply.lines.length, 3);
  match(reply.lines[0], /^250-/);
  equal(
    reply.lines[1],
    ` type=file;size=5;modify=20200102030405;perm=adfrw;unix.mode=0640;unique=${
      uniqueFact(`${t.root}/a.txt`)
    }; /a.txt`,
  );
  match(reply.lines[2], /^250 /);
  const dir = await c.expect("MLST /dir", 250);
  match(dir.lines[1], /^ type=dir;size=\d+;modify=20200102030405;perm=cdeflmp;unix\.mode=0750;/);
  ok(dir.lines[1].endsWith("; /dir"));
  // Without an argument: the current directory.
  await c.expect("CWD dir", 250);
  const cwd = await c.expect("MLST", 250);
  ok(cwd.lines[1].startsWith(" type=dir;"));
  ok(cwd.lines[1].endsWith("; /dir"));
  await c.expect("MLST missing", 550);
});
