/**
 * The root jail over real sockets: `..` chains, absolute paths, `%2e%2e`, backslashes, NUL, and
 * symlinks inside the root that point outside it. A canary file and directory live in a separate
 * temporary directory; no command may read, list, change or even name them.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { RawClient } from "../helpers/raw_client.ts";
import { PASSWORD, startServer, type TestServer, USER } from "../helpers/server.ts";
import { drain, text, Transcript, utf8 } from "../helpers/protocol_helpers.ts";
import { writeAll } from "../../src/io.ts";

const CANARY_CONTENT = "CANARY-CONTENT-8d1f4e never show this";
const CANARY_FILE = "canary-target-5b2c.txt";
const CANARY_DIR = "canary-dir-77aa";
const CANARY_HIDDEN = "canary-hidden-e93f.txt";
const CANARY_HIDDEN_CONTENT = "HIDDEN-CANARY-91c0";

/** A directory outside every root, with a canary file and a canary directory. */
class Canary implements Disposable {
  readonly base = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-canary-" }));
  readonly file = `${this.base}/${CANARY_FILE}`;
  readonly dir = `${this.base}/${CANARY_DIR}`;
  readonly #mtime = new Date("2011-11-11T11:11:11Z");

  constructor() {
    Deno.writeTextFileSync(this.file, CANARY_CONTENT);
    Deno.chmodSync(this.file, 0o640);
    Deno.utimeSync(this.file, this.#mtime, this.#mtime);
    Deno.mkdirSync(this.dir);
    Deno.writeTextFileSync(`${this.dir}/${CANARY_HIDDEN}`, CANARY_HIDDEN_CONTENT);
    Deno.writeTextFileSync(`${this.dir}/known.txt`, CANARY_CONTENT);
  }

  /** Asserts that nothing outside the root was changed. */
  assertIntact(): void {
    equal(Deno.readTextFileSync(this.file), CANARY_CONTENT);
    const info = Deno.statSync(this.file);
    equal(info.mode! & 0o7777, 0o640);
    equal(info.mtime!.getTime(), this.#mtime.getTime());
    deepEqual([...Deno.readDirSync(this.base)].map((e) => e.name).sort(), [
      CANARY_DIR,
      CANARY_FILE,
    ]);
    deepEqual([...Deno.readDirSync(this.dir)].map((e) => e.name).sort(), [
      CANARY_HIDDEN,
      "known.txt",
    ]);
    equal(Deno.readTextFileSync(`${this.dir}/${CANARY_HIDDEN}`), CANARY_HIDDEN_CONTENT);
    equal(Deno.readTextFileSync(`${this.dir}/known.txt`), CANARY_CONTENT);
  }

  /**
   * Asserts that nothing the server said names or shows the canary or a real path. With
   * `typed`, the test itself sent the canary's path in commands, and replies may echo it as a
   * virtual path: only the contents, the never-typed names and the root are checked then.
   */
  assertNotRevealed(transcript: Transcript, t: TestServer, typed = false): void {
    const all = transcript.all;
    const secrets = [CANARY_CONTENT, CANARY_HIDDEN_CONTENT, CANARY_HIDDEN, t.root];
    if (!typed) secrets.push(CANARY_FILE, CANARY_DIR, this.base);
    for (const secret of secrets) {
      ok(!all.includes(secret), `the server revealed ${JSON.stringify(secret)}:\n${all}`);
    }
  }

  [Symbol.dispose](): void {
    Deno.removeSync(this.base, { recursive: true });
  }
}

/** Logs in (TYPE I) and records everything the server says. */
async function session(c: RawClient): Promise<Transcript> {
  const transcript = new Transcript(c);
  transcript.record(await c.expect(`USER ${USER}`, 331));
  transcript.record(await c.expect(`PASS ${PASSWORD}`, 230));
  transcript.record(await c.expect("TYPE I", 200));
  return transcript;
}

/** Runs a data command through EPSV; returns the final code (or the refusal code) and data. */
async function dataCommand(
  transcript: Transcript,
  line: string,
  upload?: Uint8Array,
): Promise<{ code: number; data: Uint8Array }> {
  const c = transcript.client;
  const data = await c.epsv();
  const first = await transcript.command(line);
  if (first.code !== 150) {
    data.close();
    return { code: first.code, data: new Uint8Array() };
  }
  let received: Uint8Array = new Uint8Array();
  if (upload) {
    try {
      await writeAll(data, upload);
    } finally {
      data.close();
    }
  } else {
    received = transcript.recordData(await drain(data));
  }
  return { code: (await transcript.read()).code, data: received };
}

async function expectCode(transcript: Transcript, line: string, code: number): Promise<void> {
  const reply = await transcript.command(line);
  equal(reply.code, code, `${line} → ${reply.lines.join(" | ")}`);
}

Deno.test("jail: .. chains never climb above the root", async () => {
  await using t = startServer({ files: { "pub/a.txt": "a" } });
  using canary = new Canary();
  await using c = await RawClient.connect(t.port);
  const s = await session(c);
  const rootListing = text((await dataCommand(s, "LIST /")).data);
  // The canary's path, relative to the root's parent chain.
  const climb = "../".repeat(20);
  const outside = canary.file.slice(1); // "tmp/ftpgate-canary-…/canary-target-….txt"
  for (
    const line of [
      `RETR ${climb}${outside}`,
      `RETR pub/../../../${outside}`,
      `RETR /../../..${canary.file}`,
    ]
  ) {
    equal((await dataCommand(s, line)).code, 550, line);
  }
  for (const line of [`SIZE ${climb}${outside}`, `MDTM ${climb}${outside}`]) {
    await expectCode(s, line, 550);
  }
  await expectCode(s, `CWD ${climb}`, 250);
  equal((await s.command("PWD")).text, '"/" is the current directory.');
  await expectCode(s, "CWD pub/../../..", 250);
  equal((await s.command("PWD")).text, '"/" is the current directory.');
  // Listing "above" the root lists the root.
  equal(text((await dataCommand(s, `LIST ${climb}`)).data), rootListing);
  equal(text((await dataCommand(s, "LIST ..")).data), rootListing);
  equal(text((await dataCommand(s, "LIST -a pub/../../../..")).data), rootListing);
  equal((await dataCommand(s, `STOR ${climb}${outside}`, utf8("pwned"))).code, 550);
  await expectCode(s, `DELE ${climb}${outside}`, 550);
  await expectCode(s, `MKD ${climb}${canary.base.slice(1)}/new`, 550);
  canary.assertIntact();
  canary.assertNotRevealed(s, t, true);
});

Deno.test("jail: absolute paths are inside the root", async () => {
  await using t = startServer({ files: { "a.txt": "inside" } });
  using canary = new Canary();
  await using c = await RawClient.connect(t.port);
  const s = await session(c);
  equal((await dataCommand(s, `RETR ${canary.file}`)).code, 550);
  equal((await dataCommand(s, "RETR /etc/passwd")).code, 550);
  equal((await dataCommand(s, `LIST ${canary.base}`)).code, 550);
  await expectCode(s, `CWD ${canary.base}`, 550);
  await expectCode(s, `SIZE ${canary.file}`, 550);
  await expectCode(s, `DELE ${canary.file}`, 550);
  await expectCode(s, `RNFR ${canary.file}`, 550);
  await expectCode(s, `SITE CHMOD 777 ${canary.file}`, 550);
  await expectCode(s, `MFMT 20200101000000 ${canary.file}`, 550);
  equal((await dataCommand(s, `STOR ${canary.dir}/new.txt`, utf8("x"))).code, 550);
  // "/" is the root.
  equal(text((await dataCommand(s, "RETR /a.txt")).data), "inside");
  canary.assertIntact();
  // Replies name virtual paths only; the canary's path appears only because we typed it.
  canary.assertNotRevealed(s, t, true);
});

Deno.test("jail: %2e%2e is a literal name, never decoded", async () => {
  await using t = startServer({ files: { "pub/a.txt": "a" } });
  using canary = new Canary();
  await using c = await RawClient.connect(t.port);
  const s = await session(c);
  await expectCode(s, "CWD pub", 250);
  await expectCode(s, "CWD %2e%2e", 550);
  await expectCode(s, "CWD %2e%2e/%2e%2e/%2e%2e", 550);
  await expectCode(s, "CWD %2E%2E%2F%2E%2E", 550);
  equal((await s.command("PWD")).text, '"/pub" is the current directory.');
  equal((await dataCommand(s, `RETR %2e%2e/%2e%2e/%2e%2e${canary.file}`)).code, 550);
  equal((await dataCommand(s, `RETR ..%2f..%2f..%2f${canary.file.slice(1)}`)).code, 550);
  // Creating one makes a literal directory inside the root.
  await expectCode(s, "MKD %2e%2e", 257);
  ok(Deno.statSync(`${t.root}/pub/%2e%2e`).isDirectory);
  canary.assertIntact();
  canary.assertNotRevealed(s, t, true);
});

Deno.test("jail: backslashes are separators and cannot step around ..", async () => {
  await using t = startServer({ files: { "pub/sub/a.txt": "a" } });
  using canary = new Canary();
  await using c = await RawClient.connect(t.port);
  const s = await session(c);
  await expectCode(s, "CWD pub\\sub", 250);
  equal((await s.command("PWD")).text, '"/pub/sub" is the current directory.');
  equal(text((await dataCommand(s, "RETR ..\\sub\\a.txt")).data), "a");
  await expectCode(s, "CWD ..\\..\\..\\..\\..", 250);
  equal((await s.command("PWD")).text, '"/" is the current directory.');
  const back = canary.file.replaceAll("/", "\\");
  equal((await dataCommand(s, `RETR ..\\..\\..\\..${back}`)).code, 550);
  equal((await dataCommand(s, `RETR ${back}`)).code, 550);
  equal((await dataCommand(s, `RETR \\..\\..\\..${back}`)).code, 550);
  canary.assertIntact();
  canary.assertNotRevealed(s, t, true);
});

Deno.test("jail: a symlink to a file outside the root reveals and changes nothing", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  using canary = new Canary();
  Deno.symlinkSync(canary.file, `${t.root}/link.txt`);
  await using c = await RawClient.connect(t.port);
  const s = await session(c);

  equal((await dataCommand(s, "RETR link.txt")).code, 550);
  await expectCode(s, "REST 5", 350);
  equal((await dataCommand(s, "RETR link.txt")).code, 550);
  await expectCode(s, "SIZE link.txt", 550);
  await expectCode(s, "MDTM link.txt", 550);
  await expectCode(s, "MLST link.txt", 550);
  await expectCode(s, "STAT link.txt", 550);
  equal((await dataCommand(s, "LIST link.txt")).code, 550);
  equal((await dataCommand(s, "NLST link.txt")).code, 550);
  // Listings of the root leave it out.
  const list = await dataCommand(s, "LIST");
  equal(list.code, 226);
  ok(!text(list.data).includes("link.txt"));
  const mlsd = await dataCommand(s, "MLSD");
  ok(!text(mlsd.data).includes("link.txt"));
  await dataCommand(s, "NLST");
  await s.command("STAT /");
  // Writes through it are refused.
  equal((await dataCommand(s, "STOR link.txt", utf8("overwritten"))).code, 550);
  equal((await dataCommand(s, "APPE link.txt", utf8("appended"))).code, 550);
  await expectCode(s, "REST 3", 350);
  equal((await dataCommand(s, "STOR link.txt", utf8("resumed"))).code, 550);
  await expectCode(s, "SITE CHMOD 777 link.txt", 550);
  await expectCode(s, "MFMT 20200101000000 link.txt", 550);
  await expectCode(s, "RNFR link.txt", 550);
  await expectCode(s, "CWD link.txt", 550);
  canary.assertIntact();
  // DELE removes the link itself, never its target.
  await expectCode(s, "DELE link.txt", 250);
  let linkGone = false;
  try {
    Deno.lstatSync(`${t.root}/link.txt`);
  } catch (error) {
    linkGone = error instanceof Deno.errors.NotFound;
  }
  ok(linkGone);
  canary.assertIntact();
  canary.assertNotRevealed(s, t);
});

Deno.test("jail: a symlink to a directory outside the root reveals and changes nothing", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  using canary = new Canary();
  Deno.symlinkSync(canary.dir, `${t.root}/linkdir`);
  await using c = await RawClient.connect(t.port);
  const s = await session(c);

  await expectCode(s, "CWD linkdir", 550);
  equal((await s.command("PWD")).text, '"/" is the current directory.');
  equal((await dataCommand(s, "LIST linkdir")).code, 550);
  equal((await dataCommand(s, "LIST -la linkdir")).code, 550);
  equal((await dataCommand(s, "NLST linkdir")).code, 550);
  equal((await dataCommand(s, "MLSD linkdir")).code, 550);
  equal((await dataCommand(s, "NLST linkdir/*")).code, 550);
  await expectCode(s, "STAT linkdir", 550);
  await expectCode(s, "MLST linkdir", 550);
  equal((await dataCommand(s, "RETR linkdir/known.txt")).code, 550);
  await expectCode(s, "SIZE linkdir/known.txt", 550);
  await expectCode(s, "MDTM linkdir/known.txt", 550);
  equal((await dataCommand(s, "STOR linkdir/new.txt", utf8("planted"))).code, 550);
  equal((await dataCommand(s, "STOR linkdir/known.txt", utf8("overwritten"))).code, 550);
  equal((await dataCommand(s, "APPE linkdir/known.txt", utf8("appended"))).code, 550);
  equal((await dataCommand(s, "STOU linkdir/new.txt", utf8("unique"))).code, 550);
  await expectCode(s, "MKD linkdir/newdir", 550);
  await expectCode(s, "DELE linkdir/known.txt", 550);
  await expectCode(s, "RMD linkdir", 550);
  await expectCode(s, "RNFR linkdir/known.txt", 550);
  await expectCode(s, "RNFR a.txt", 350);
  await expectCode(s, "RNTO linkdir/a.txt", 550);
  await expectCode(s, "SITE CHMOD 777 linkdir/known.txt", 550);
  await expectCode(s, "MFMT 20200101000000 linkdir/known.txt", 550);
  // Through the parent too.
  equal((await dataCommand(s, "RETR linkdir/../a.txt")).data.length, 1);
  const list = await dataCommand(s, "LIST");
  ok(!text(list.data).includes("linkdir"));
  const mlsd = await dataCommand(s, "MLSD /");
  ok(!text(mlsd.data).includes("linkdir"));
  canary.assertIntact();
  ok(Deno.statSync(`${t.root}/a.txt`).isFile);
  canary.assertNotRevealed(s, t);
});

Deno.test("jail: a relative symlink that climbs out of the root is refused", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  using canary = new Canary();
  // A link to the root's parent, relative.
  Deno.symlinkSync("..", `${t.root}/up`);
  await using c = await RawClient.connect(t.port);
  const s = await session(c);
  await expectCode(s, "CWD up", 550);
  equal((await dataCommand(s, "LIST up")).code, 550);
  equal((await dataCommand(s, "STOR up/planted.txt", utf8("x"))).code, 550);
  ok(![...Deno.readDirSync(`${t.root}/..`)].some((e) => e.name === "planted.txt"));
  canary.assertIntact();
  canary.assertNotRevealed(s, t);
});

Deno.test("jail: a symlink that stays inside the root works", async () => {
  await using t = startServer({ files: { "data/real.txt": "real content", "data/sub/x": "x" } });
  Deno.symlinkSync(`${t.root}/data/real.txt`, `${t.root}/alias.txt`);
  Deno.symlinkSync("data/sub", `${t.root}/subalias`);
  await using c = await RawClient.connect(t.port);
  const s = await session(c);
  equal(text((await dataCommand(s, "RETR alias.txt")).data), "real content");
  equal((await s.command("SIZE alias.txt")).text, "12");
  const list = text((await dataCommand(s, "LIST")).data);
  ok(/^-[-rwx]{9} +1 ftp +ftp +12 .* alias\.txt$/m.test(list), list);
  ok(/^d[-rwx]{9} .* subalias$/m.test(list), list);
  await expectCode(s, "CWD subalias", 250);
  equal(text((await dataCommand(s, "NLST")).data), "x\r\n");
  equal((await dataCommand(s, "STOR /alias.txt", utf8("through the link"))).code, 226);
  equal(Deno.readTextFileSync(`${t.root}/data/real.txt`), "through the link");
});

Deno.test("jail: NUL (and other control bytes that end a line) in a path: 501", async () => {
  await using t = startServer({ files: { "a.txt": "a", "a": "plain a" } });
  await using c = await RawClient.connect(t.port);
  const s = await session(c);
  for (const verb of ["CWD", "SIZE", "MDTM", "MKD", "DELE", "RMD", "RNFR", "MLST", "STAT"]) {
    await expectCode(s, `${verb} a\0.txt`, 501);
  }
  equal((await dataCommand(s, "RETR a\0.txt")).code, 501);
  equal((await dataCommand(s, "STOR new\0.txt", utf8("x"))).code, 501);
  equal((await dataCommand(s, "LIST a\0.txt")).code, 501);
  await expectCode(s, "SITE CHMOD 777 a\0.txt", 501);
  deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name).sort(), ["a", "a.txt"]);
  equal(Deno.readTextFileSync(`${t.root}/a`), "plain a");
});
