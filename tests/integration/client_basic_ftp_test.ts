/**
 * Interoperability with basic-ftp (npm, run in-process): the client most Node/Deno programs use.
 * basic-ftp lists with MLSD when FEAT announces MLST, and falls back to `LIST -a` otherwise; both
 * paths are covered.
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { Client, FileType } from "basic-ftp";
import {
  assertBytes,
  assertSameTree,
  localDir,
  lsDate,
  readTree,
  writeTree,
} from "../helpers/clients.ts";
import { concat, randomBytes, startServer, type TestServer } from "../helpers/server.ts";

const MiB = 1 << 20;

/** A logged-in basic-ftp client, closed at the end of the scope. */
interface Ftp extends Disposable {
  client: Client;
}

async function connect(t: TestServer): Promise<Ftp> {
  const client = new Client(10_000);
  try {
    await client.access({ host: t.host, port: t.port, user: t.user, password: t.password });
  } catch (error) {
    client.close();
    throw error;
  }
  return { client, [Symbol.dispose]: () => client.close() };
}

/** Downloads a remote file into memory (optionally from `startAt`, sent as REST). */
async function download(client: Client, path: string, startAt = 0): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await client.downloadTo(
    new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(new Uint8Array(chunk));
        callback();
      },
    }),
    path,
    startAt,
  );
  return concat(chunks);
}

function source(bytes: Uint8Array): Readable {
  return Readable.from(bytes.length === 0 ? [] : [bytes]);
}

/** Sets a file's modification time to a whole second, so MLSD/MDTM can report it exactly. */
function touch(t: TestServer, path: string, mtime: Date): void {
  Deno.utimeSync(`${t.root}/${path}`, mtime, mtime);
}

const OLD = new Date("2020-01-02T03:04:05Z");

/** basic-ftp rebuilds `rawModifiedAt` from tokens, so compare dates with single spaces. */
function squeeze(text: string): string {
  return text.replace(/\s+/g, " ");
}

Deno.test("basic-ftp: access() logs in, ensureDir()/cd()/pwd() navigate", async () => {
  await using t = startServer({ files: { "pub/readme": "x" } });
  using ftp = await connect(t);
  const { client } = ftp;
  const features = await client.features();
  ok(features.has("MLST"), "FEAT announces MLST");
  ok(features.has("UTF8"), "FEAT announces UTF8");
  equal(await client.pwd(), "/");
  await client.ensureDir("a/b/c");
  equal(await client.pwd(), "/a/b/c");
  ok(Deno.statSync(`${t.root}/a/b/c`).isDirectory);
  await client.cd("/pub");
  equal(await client.pwd(), "/pub");
  await client.cdup();
  equal(await client.pwd(), "/");
  await client.cd("a/b");
  equal(await client.pwd(), "/a/b");
  await rejects(client.cd("/missing"), /550/);
  equal(await client.pwd(), "/a/b", "a failed CWD leaves the directory alone");
});

Deno.test("basic-ftp: list() over MLSD parses names, sizes, types and dates", async () => {
  await using t = startServer({
    files: { "a.txt": "hello\n", "big.bin": randomBytes(70_000), "dir/inner": "1" },
  });
  touch(t, "a.txt", OLD);
  Deno.chmodSync(`${t.root}/a.txt`, 0o640);
  touch(t, "big.bin", new Date("2024-06-30T23:59:59Z"));
  touch(t, "dir", new Date("2023-03-04T05:06:07Z"));
  using ftp = await connect(t);
  const { client } = ftp;
  const list = await client.list();
  deepEqual(client.availableListCommands, ["MLSD"], "basic-ftp settled on MLSD");
  deepEqual(
    list.map((f) => [f.name, f.type, f.size, f.modifiedAt?.toISOString()]),
    [
      ["a.txt", FileType.File, 6, "2020-01-02T03:04:05.000Z"],
      ["big.bin", FileType.File, 70_000, "2024-06-30T23:59:59.000Z"],
      ["dir", FileType.Directory, Deno.statSync(`${t.root}/dir`).size, "2023-03-04T05:06:07.000Z"],
    ],
  );
  deepEqual(list[0].permissions, { user: 6, group: 4, world: 0 }, "unix.mode fact");
  ok(list.every((f) => f.uniqueID), "unique fact");
  // Listing a subdirectory by path.
  deepEqual((await client.list("dir")).map((f) => [f.name, f.size]), [["inner", 1]]);
});

Deno.test("basic-ftp: list() over LIST parses names, sizes, types and dates", async () => {
  await using t = startServer({
    files: { "a.txt": "hello\n", "big.bin": randomBytes(70_000), "dir/inner": "1" },
  });
  const recent = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
  touch(t, "a.txt", OLD);
  Deno.chmodSync(`${t.root}/a.txt`, 0o640);
  touch(t, "big.bin", recent);
  using ftp = await connect(t);
  const { client } = ftp;
  // What basic-ftp uses when FEAT has no MLST.
  client.availableListCommands = ["LIST -a", "LIST"];
  const list = await client.list();
  deepEqual(client.availableListCommands, ["LIST -a"], "basic-ftp settled on LIST -a");
  deepEqual(
    list.map((f) => [f.name, f.type, f.size, squeeze(f.rawModifiedAt)]),
    [
      ["a.txt", FileType.File, 6, "Jan 2 2020"],
      ["big.bin", FileType.File, 70_000, squeeze(lsDate(recent))],
      [
        "dir",
        FileType.Directory,
        Deno.statSync(`${t.root}/dir`).size,
        squeeze(lsDate(Deno.statSync(`${t.root}/dir`).mtime!)),
      ],
    ],
  );
  deepEqual(list[0].permissions, { user: 6, group: 4, world: 0 }, "ls permissions");
  equal(list[0].modifiedAt, undefined, "LIST dates are not parsed by basic-ftp");
  deepEqual((await client.list("dir")).map((f) => [f.name, f.size]), [["inner", 1]]);
});

Deno.test("basic-ftp: uploadFrom()/downloadTo() are byte-exact for 0 B, 1 B and 5 MiB", async () => {
  await using t = startServer();
  await using local = localDir();
  using ftp = await connect(t);
  const { client } = ftp;
  for (
    const [name, data] of [
      ["zero.bin", new Uint8Array(0)],
      ["one.bin", new Uint8Array([0xff])],
      ["five.bin", randomBytes(5 * MiB, 7)],
    ] as const
  ) {
    // Streams both ways.
    await client.uploadFrom(source(data), name);
    assertBytes(await Deno.readFile(`${t.root}/${name}`), data, `server copy of ${name}`);
    assertBytes(await download(client, name), data, `download of ${name}`);
    // Local files both ways.
    Deno.writeFileSync(`${local.path}/up-${name}`, data);
    await client.uploadFrom(`${local.path}/up-${name}`, `file-${name}`);
    assertBytes(await Deno.readFile(`${t.root}/file-${name}`), data, `file upload of ${name}`);
    await client.downloadTo(`${local.path}/down-${name}`, `file-${name}`);
    assertBytes(await Deno.readFile(`${local.path}/down-${name}`), data, `file download ${name}`);
  }
});

Deno.test("basic-ftp: appendFrom() appends to a file, and creates a missing one", async () => {
  await using t = startServer({ files: { "log.txt": "first\n" } });
  using ftp = await connect(t);
  const { client } = ftp;
  await client.appendFrom(source(new TextEncoder().encode("second\n")), "log.txt");
  equal(Deno.readTextFileSync(`${t.root}/log.txt`), "first\nsecond\n");
  await client.appendFrom(source(new TextEncoder().encode("new\n")), "fresh.txt");
  equal(Deno.readTextFileSync(`${t.root}/fresh.txt`), "new\n");
});

Deno.test("basic-ftp: downloadTo() with startAt resumes a partial download (REST)", async () => {
  const data = randomBytes(3 * MiB + 123, 11);
  await using t = startServer({ files: { "big.bin": data } });
  await using local = localDir();
  using ftp = await connect(t);
  const { client } = ftp;
  // Into a stream: only the tail arrives.
  const at = 1_000_003;
  assertBytes(await download(client, "big.bin", at), data.subarray(at), "tail from REST");
  // Into a partial local file: basic-ftp writes from the same offset.
  const partial = `${local.path}/big.bin`;
  Deno.writeFileSync(partial, data.subarray(0, at));
  await client.downloadTo(partial, "big.bin", at);
  assertBytes(await Deno.readFile(partial), data, "resumed local file");
  // A restart at the very end transfers nothing and still succeeds.
  assertBytes(await download(client, "big.bin", data.length), new Uint8Array(0), "REST at EOF");
});

Deno.test("basic-ftp: an interrupted upload resumes with appendFrom({ localStart })", async () => {
  const data = randomBytes(2 * MiB + 5, 13);
  await using t = startServer();
  await using local = localDir();
  const path = `${local.path}/up.bin`;
  Deno.writeFileSync(path, data);
  using ftp = await connect(t);
  const { client } = ftp;
  // The first attempt got only part of the file across.
  await client.uploadFrom(path, "up.bin", { localEndInclusive: 777_776 });
  const remoteSize = await client.size("up.bin");
  equal(remoteSize, 777_777);
  // Resume from what the server has (SIZE), the way basic-ftp's docs suggest.
  await client.appendFrom(path, "up.bin", { localStart: remoteSize });
  assertBytes(await Deno.readFile(`${t.root}/up.bin`), data, "resumed upload");
  // uploadFrom with localStart (STOR of the tail only) replaces the file with the tail.
  await client.uploadFrom(path, "tail.bin", { localStart: 2 * MiB });
  assertBytes(await Deno.readFile(`${t.root}/tail.bin`), data.subarray(2 * MiB), "tail upload");
});

Deno.test("basic-ftp: uploadFromDir()/downloadToDir() copy a tree both ways", async () => {
  await using t = startServer();
  await using local = localDir();
  writeTree(`${local.path}/tree`, {
    "top.txt": "top\n",
    "big.bin": randomBytes(MiB + 3, 21),
    "empty.bin": new Uint8Array(0),
    "a/b/deep.txt": "deep",
    "ü 日本/名前.txt": "utf-8",
  });
  Deno.mkdirSync(`${local.path}/tree/empty-dir`);
  const expected = await readTree(`${local.path}/tree`);
  using ftp = await connect(t);
  const { client } = ftp;
  await client.uploadFromDir(`${local.path}/tree`, "/remote");
  assertSameTree(await readTree(`${t.root}/remote`), expected, "uploaded tree");
  await client.downloadToDir(`${local.path}/back`, "/remote");
  assertSameTree(await readTree(`${local.path}/back`), expected, "downloaded tree");
});

Deno.test("basic-ftp: rename(), remove() and removeDir() change the tree", async () => {
  await using t = startServer({
    files: {
      "a.txt": "a",
      "b.txt": "b",
      "tree/x": "x",
      "tree/sub/y": "y",
      "tree/sub/deeper/z": "",
    },
  });
  using ftp = await connect(t);
  const { client } = ftp;
  await client.rename("a.txt", "renamed.txt");
  equal(Deno.readTextFileSync(`${t.root}/renamed.txt`), "a");
  await client.rename("renamed.txt", "tree/sub/moved.txt");
  equal(Deno.readTextFileSync(`${t.root}/tree/sub/moved.txt`), "a");
  await client.remove("b.txt");
  await rejects(client.remove("b.txt"), /550/);
  await client.removeDir("tree");
  deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name), []);
  deepEqual(await client.list(), []);
});

Deno.test("basic-ftp: size() and lastMod() report size and modification time", async () => {
  await using t = startServer({ files: { "f.bin": randomBytes(12_345), "d/x": "" } });
  touch(t, "f.bin", OLD);
  using ftp = await connect(t);
  const { client } = ftp;
  equal(await client.size("f.bin"), 12_345);
  equal((await client.lastMod("f.bin")).toISOString(), OLD.toISOString());
  await rejects(client.size("missing"), /550/);
  await rejects(client.size("d"), /550/);
});

Deno.test("basic-ftp: UTF-8 names round-trip through upload, list and download", async () => {
  const name = "ü 日本.txt";
  const data = new TextEncoder().encode("grüße 日本語\n");
  await using t = startServer();
  using ftp = await connect(t);
  const { client } = ftp;
  await client.ensureDir("dïr 目录");
  await client.uploadFrom(source(data), name);
  assertBytes(await Deno.readFile(`${t.root}/dïr 目录/${name}`), data, "server copy");
  deepEqual((await client.list()).map((f) => [f.name, f.size]), [[name, data.length]]);
  client.availableListCommands = ["LIST"];
  deepEqual((await client.list()).map((f) => [f.name, f.size]), [[name, data.length]]);
  assertBytes(await download(client, name), data, "download");
  equal(await client.size(name), data.length);
  await client.rename(name, "ñ.txt");
  await client.cd("/");
  deepEqual((await client.list("dïr 目录")).map((f) => f.name), ["ñ.txt"]);
});

Deno.test("basic-ftp: 20 concurrent clients each upload and download their own file", async () => {
  await using t = startServer();
  const results = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const data = randomBytes(100_000 + i * 4099, i + 1);
      using ftp = await connect(t);
      const { client } = ftp;
      await client.ensureDir(`/c${i}`);
      await client.uploadFrom(source(data), `f${i}.bin`);
      const back = await download(client, `f${i}.bin`);
      const listed = (await client.list()).map((f) => [f.name, f.size]);
      return { i, data, back, listed };
    }),
  );
  for (const { i, data, back, listed } of results) {
    assertBytes(back, data, `client ${i} download`);
    assertBytes(await Deno.readFile(`${t.root}/c${i}/f${i}.bin`), data, `client ${i} on disk`);
    deepEqual(listed, [[`f${i}.bin`, data.length]]);
  }
});
