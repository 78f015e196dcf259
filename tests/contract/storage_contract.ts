/**
 * The storage contract: the same behaviour, error kinds included, from every Storage back end.
 * Each back end's test file calls {@linkcode runStorageContract} with a way to make a fresh,
 * empty storage; what a back end declares it cannot do (its capabilities) is checked to be
 * refused with `not-supported` instead.
 *
 * @module
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { type Storage, StorageError, type StorageErrorKind } from "../../src/mod.ts";
import { collectList } from "../../src/storage/storage.ts";
import { concat } from "../helpers/server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A fresh storage for one test, and how to clean up after it. */
export interface Fresh {
  storage: Storage;
  cleanup(): void | Promise<void>;
}

/** One back end under test. */
export interface Backend {
  name: string;
  create(): Fresh | Promise<Fresh>;
  /** Skip every contract test (the back end cannot run here); the caller says why, loudly. */
  ignore?: boolean;
  /** Readers see the file as it is when read (a disk), not a snapshot taken at open. */
  liveReads?: boolean;
}

/** Writes a whole file. */
export async function put(
  storage: Storage,
  path: string,
  text: string | Uint8Array,
): Promise<void> {
  const writer = (await storage.write(path)).getWriter();
  await writer.write(typeof text === "string" ? encoder.encode(text) : text);
  await writer.close();
}

/** Reads a file (from `offset`) as text. */
export async function get(storage: Storage, path: string, offset = 0): Promise<string> {
  const { readable } = await storage.read(path, { offset });
  const chunks: Uint8Array[] = [];
  for await (const chunk of readable) chunks.push(chunk);
  return decoder.decode(concat(chunks));
}

/** Asserts that `promise` rejects with a StorageError of `kind`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  kind: StorageErrorKind,
): Promise<void> {
  await rejects(promise, (error: unknown) => {
    ok(error instanceof StorageError, `expected StorageError, got ${error}`);
    equal(error.kind, kind);
    return true;
  });
}

/** Registers the contract tests for `backend`. */
export function runStorageContract(backend: Backend): void {
  const test = (name: string, fn: (storage: Storage) => Promise<void>) =>
    Deno.test({
      name: `${backend.name}: ${name}`,
      ignore: backend.ignore ?? false,
      async fn() {
        const { storage, cleanup } = await backend.create();
        try {
          await fn(storage);
        } finally {
          await cleanup();
        }
      },
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

  test("a write given up before its first byte holds nothing open and changes nothing", async (s) => {
    await put(s, "/a.txt", "old");
    const writer = (await s.write("/a.txt")).getWriter();
    await writer.abort(new Error("the client went away"));
    // (The sanitizers of this test fail it if a file handle or a request was left open.)
    await put(s, "/b.txt", "b");
    equal(await get(s, "/b.txt"), "b");
    if (s.capabilities.atomicReplace) equal(await get(s, "/a.txt"), "old");
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
    if (s.capabilities.chmod) {
      await s.chmod("/a", 0o600);
      equal((await s.stat("/a")).mode & 0o777, 0o600);
    } else {
      await rejectsWith(s.chmod("/a", 0o600), "not-supported");
    }
  });

  test("stat('/') is a directory", async (s) => {
    equal((await s.stat("/")).type, "dir");
  });

  test("a download in progress keeps its snapshot while the file is rewritten", async (s) => {
    await put(s, "/a", "original content");
    const { readable } = await s.read("/a");
    if (backend.liveReads) {
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
