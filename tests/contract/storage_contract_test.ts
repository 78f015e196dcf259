/**
 * The storage contract: the same behaviour, error kinds included, from every Storage back end.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  LocalStorage,
  MemoryStorage,
  type Storage,
  StorageError,
  type StorageErrorKind,
} from "../../src/mod.ts";
import { collectList } from "../../src/storage/storage.ts";
import { concat } from "../helpers/server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Backend {
  name: string;
  create(): { storage: Storage; cleanup(): void };
}

const BACKENDS: Backend[] = [
  {
    name: "LocalStorage",
    create() {
      const root = Deno.makeTempDirSync({ prefix: "ftpgate-contract-" });
      return {
        storage: new LocalStorage(root),
        cleanup: () => Deno.removeSync(root, { recursive: true }),
      };
    },
  },
  {
    name: "LocalStorage (atomic uploads)",
    create() {
      const root = Deno.makeTempDirSync({ prefix: "ftpgate-contract-" });
      return {
        storage: new LocalStorage(root, { atomicUploads: true }),
        cleanup: () => Deno.removeSync(root, { recursive: true }),
      };
    },
  },
  {
    name: "MemoryStorage",
    create: () => ({ storage: new MemoryStorage(), cleanup() {} }),
  },
];

async function put(storage: Storage, path: string, text: string | Uint8Array): Promise<void> {
  const writer = (await storage.write(path)).getWriter();
  await writer.write(typeof text === "string" ? encoder.encode(text) : text);
  await writer.close();
}

async function get(storage: Storage, path: string, offset = 0): Promise<string> {
  const { readable } = await storage.read(path, { offset });
  const chunks: Uint8Array[] = [];
  for await (const chunk of readable) chunks.push(chunk);
  return decoder.decode(concat(chunks));
}

async function rejectsWith(promise: Promise<unknown>, kind: StorageErrorKind): Promise<void> {
  await rejects(promise, (error: unknown) => {
    ok(error instanceof StorageError, `expected StorageError, got ${error}`);
    equal(error.kind, kind);
    return true;
  });
}

for (const backend of BACKENDS) {
  const test = (name: string, fn: (storage: Storage) => Promise<void>) =>
    Deno.test(`${backend.name}: ${name}`, async () => {
      const { storage, cleanup } = backend.create();
      try {
        await fn(storage);
      } finally {
        cleanup();
      }
    });

  test("write() then read() round-trips bytes, and stat() reports them", async (s) => {
    await put(s, "/a.txt", "hello");
    equal(await get(s, "/a.txt"), "hello");
    const stat = await s.stat("/a.txt");
    equal(stat.type, "file");
    equal(stat.size, 5);
    equal(stat.name, "a.txt");
    ok(stat.mtime instanceof Date && !Number.isNaN(stat.mtime.getTime()));
    ok(stat.id.length > 0);
  });

  test("read() at an offset yields the tail; past the end yields nothing", async (s) => {
    await put(s, "/a.txt", "0123456789");
    equal(await get(s, "/a.txt", 7), "789");
    equal(await get(s, "/a.txt", 10), "");
    const partial = await s.read("/a.txt", { offset: 3 });
    equal(partial.size, 10);
    await partial.readable.cancel();
    const handle = await s.read("/a.txt", { offset: 50 });
    await handle.readable.cancel();
  });

  test("write() with an offset keeps the first part and replaces the rest", async (s) => {
    await put(s, "/a.txt", "0123456789");
    const writer = (await s.write("/a.txt", { offset: 4 })).getWriter();
    await writer.write(encoder.encode("XY"));
    await writer.close();
    equal(await get(s, "/a.txt"), "0123XY");
  });

  test("write() with append adds to the end, and creates a missing file", async (s) => {
    await put(s, "/a.txt", "ab");
    for (const path of ["/a.txt", "/new.txt"]) {
      const writer = (await s.write(path, { append: true })).getWriter();
      await writer.write(encoder.encode("cd"));
      await writer.close();
    }
    equal(await get(s, "/a.txt"), "abcd");
    equal(await get(s, "/new.txt"), "cd");
  });

  test("write() replaces an existing file's content", async (s) => {
    await put(s, "/a.txt", "long content");
    await put(s, "/a.txt", "short");
    equal(await get(s, "/a.txt"), "short");
  });

  test("write() exclusive fails with exists on an existing file", async (s) => {
    await put(s, "/a.txt", "x");
    await rejectsWith(s.write("/a.txt", { exclusive: true }), "exists");
  });

  test("a second writer of the same file is refused with busy", async (s) => {
    const first = await s.write("/a.txt");
    await rejectsWith(s.write("/a.txt"), "busy");
    await first.close();
    await put(s, "/a.txt", "ok");
    equal(await get(s, "/a.txt"), "ok");
  });

  test("list() returns entries with types; mkdir() and rmdir() work", async (s) => {
    await s.mkdir("/d");
    await put(s, "/d/f.txt", "1");
    await s.mkdir("/d/sub");
    const names = (await collectList(s, "/d")).map((e) => `${e.name}:${e.type}`).sort();
    deepEqual(names, ["f.txt:file", "sub:dir"]);
    await s.rmdir("/d/sub");
    deepEqual((await collectList(s, "/d")).map((e) => e.name), ["f.txt"]);
  });

  test("error kinds: not-found, exists, not-empty, not-a-directory, is-a-directory", async (s) => {
    await rejectsWith(s.stat("/missing"), "not-found");
    await rejectsWith(s.read("/missing"), "not-found");
    await rejectsWith(collectList(s, "/missing"), "not-found");
    await rejectsWith(s.write("/missing/x.txt"), "not-found");
    await s.mkdir("/d");
    await rejectsWith(s.mkdir("/d"), "exists");
    await put(s, "/d/f", "1");
    await rejectsWith(s.rmdir("/d"), "not-empty");
    await rejectsWith(collectList(s, "/d/f"), "not-a-directory");
    await rejectsWith(s.rmdir("/d/f"), "not-a-directory");
    await rejectsWith(s.read("/d"), "is-a-directory");
    await rejectsWith(s.write("/d"), "is-a-directory");
    await rejectsWith(s.remove("/d"), "is-a-directory");
    await rejectsWith(s.remove("/nope"), "not-found");
    await rejectsWith(s.rmdir("/"), "permission");
  });

  test("rename() moves files and directories, replacing a file", async (s) => {
    await put(s, "/a", "A");
    await put(s, "/b", "B");
    await s.rename("/a", "/b");
    equal(await get(s, "/b"), "A");
    await rejectsWith(s.stat("/a"), "not-found");
    await s.mkdir("/d");
    await put(s, "/d/x", "X");
    await s.rename("/d", "/e");
    equal(await get(s, "/e/x"), "X");
    await rejectsWith(s.rename("/missing", "/z"), "not-found");
  });

  test("setMtime() and chmod() change the stat", async (s) => {
    await put(s, "/a", "A");
    const when = new Date("2020-01-02T03:04:05Z");
    await s.setMtime("/a", when);
    equal((await s.stat("/a")).mtime.getTime(), when.getTime());
    await s.chmod("/a", 0o600);
    equal((await s.stat("/a")).mode & 0o777, 0o600);
  });

  test("stat('/') is a directory", async (s) => {
    equal((await s.stat("/")).type, "dir");
  });

  test("a download in progress keeps its snapshot while the file is rewritten", async (s) => {
    await put(s, "/a", "original content");
    const { readable } = await s.read("/a");
    if (backend.name.startsWith("LocalStorage")) {
      // On disk a reader sees the file as it is when read: only check that both complete.
      await readable.cancel();
      return;
    }
    await put(s, "/a", "new");
    const chunks: Uint8Array[] = [];
    for await (const chunk of readable) chunks.push(chunk);
    equal(decoder.decode(concat(chunks)), "original content");
  });
}

Deno.test("MemoryStorage: maxBytes refuses writes beyond the quota with no-space", async () => {
  const storage = new MemoryStorage({ maxBytes: 10 });
  const writer = (await storage.write("/a")).getWriter();
  await writer.write(new Uint8Array(8));
  await rejects(
    writer.write(new Uint8Array(8)),
    (e: unknown) => e instanceof StorageError && e.kind === "no-space",
  );
  equal(storage.usedBytes, 8);
});

Deno.test("MemoryStorage.from() seeds files and readFile() returns them", async () => {
  const storage = MemoryStorage.from({ "dir/a.txt": "hi", "b.bin": new Uint8Array([1, 2]) });
  deepEqual(storage.paths(), ["/b.bin", "/dir/a.txt"]);
  equal(decoder.decode(await storage.readFile("dir/a.txt")), "hi");
  deepEqual(await storage.readFile("/b.bin"), new Uint8Array([1, 2]));
});

for (const atomicUploads of [false, true]) {
  Deno.test(
    `LocalStorage: an aborted upload with atomicUploads=${atomicUploads} leaves ${
      atomicUploads ? "the old file untouched and no temporary file" : "the bytes received so far"
    }`,
    async () => {
      const root = Deno.makeTempDirSync({ prefix: "ftpgate-contract-" });
      try {
        const storage = new LocalStorage(root, { atomicUploads });
        await put(storage, "/a.txt", "old content");
        const writer = (await storage.write("/a.txt")).getWriter();
        await writer.write(encoder.encode("partial"));
        if (atomicUploads) {
          // While the upload runs, readers and listings see only the old file.
          equal(await get(storage, "/a.txt"), "old content");
          deepEqual((await collectList(storage, "/")).map((e) => e.name), ["a.txt"]);
        }
        await writer.abort(new Error("client vanished"));
        equal(await get(storage, "/a.txt"), atomicUploads ? "old content" : "partial");
        deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["a.txt"]);
      } finally {
        Deno.removeSync(root, { recursive: true });
      }
    },
  );
}

Deno.test("LocalStorage: atomic REST and APPE keep the existing prefix", async () => {
  const root = Deno.makeTempDirSync({ prefix: "ftpgate-contract-" });
  try {
    const storage = new LocalStorage(root, { atomicUploads: true });
    await put(storage, "/a.txt", "0123456789");
    let writer = (await storage.write("/a.txt", { offset: 3 })).getWriter();
    await writer.write(encoder.encode("abc"));
    await writer.close();
    equal(await get(storage, "/a.txt"), "012abc");
    writer = (await storage.write("/a.txt", { append: true })).getWriter();
    await writer.write(encoder.encode("!"));
    await writer.close();
    equal(await get(storage, "/a.txt"), "012abc!");
    await rejects(storage.stat("/.ftpgate-upload-x"), StorageError);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
