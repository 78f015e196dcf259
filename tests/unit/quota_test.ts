import { deepEqual, equal, rejects } from "node:assert/strict";
import { type FileStat, MemoryStorage, StorageError } from "../../src/mod.ts";
import { QuotaStorage, QuotaUsage } from "../../src/storage/quota.ts";
import { collectList, type Storage } from "../../src/storage/storage.ts";
import { FlakyFirstList } from "../helpers/storage_doubles.ts";

const encoder = new TextEncoder();

/** Bytes and files really in a tree. */
async function truth(storage: Storage, dir = "/"): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const entry of await collectList(storage, dir)) {
    if (entry.type === "dir") {
      const below = await truth(storage, `${dir === "/" ? "" : dir}/${entry.name}`);
      bytes += below.bytes;
      files += below.files;
    } else {
      bytes += entry.size;
      files++;
    }
  }
  return { bytes, files };
}

async function put(storage: Storage, path: string, size: number): Promise<void> {
  const writer = (await storage.write(path)).getWriter();
  await writer.write(encoder.encode("x".repeat(size)));
  await writer.close();
}

/** A memory tree whose listings take a while and are counted while they run. */
class SlowLists extends MemoryStorage {
  running = 0;
  most = 0;
  override async *list(path: string): AsyncGenerator<FileStat> {
    this.running++;
    this.most = Math.max(this.most, this.running);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      yield* super.list(path);
    } finally {
      this.running--;
    }
  }
}

Deno.test("QuotaUsage.scan() counts a tree with several listings at once", async () => {
  const files: Record<string, string> = {};
  for (const top of ["a", "b", "c", "d"]) {
    for (const sub of ["1", "2", "3"]) files[`${top}/${sub}/f.txt`] = "12345";
  }
  const storage = new SlowLists();
  for (const [path, text] of Object.entries(files)) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      await storage.mkdir(`/${parts.slice(0, i).join("/")}`).catch(() => {});
    }
    await put(storage, `/${path}`, text.length);
  }
  const usage = QuotaUsage.scan(storage);
  await usage.counted();
  deepEqual({ bytes: usage.bytes, files: usage.files }, { bytes: 60, files: 12 });
  // Directories found by one listing are taken by the other workers, not left to the finder.
  equal(storage.most > 1, true, `at most ${storage.most} listing at once`);
});

Deno.test("QuotaUsage: a failed count is reported, and counted again by the next change", async () => {
  const storage = new FlakyFirstList();
  await put(storage, "/old.txt", 3);
  const errors: unknown[] = [];
  const usage = QuotaUsage.scan(storage, (error) => errors.push(error));
  await rejects(usage.counted(), StorageError);
  equal(usage.failed, true);
  equal(errors.length, 1);
  const quota = new QuotaStorage(storage, { bytes: 10 }, usage);
  await put(quota, "/new.txt", 7); // counts again first: 3 + 7 fit in 10
  deepEqual({ bytes: usage.bytes, files: usage.files }, { bytes: 10, files: 2 });
  await rejects(put(quota, "/more.txt", 1), (error) => (error as StorageError).kind === "quota");
});

/** A memory tree whose renames wait until `open()`. */
class GatedRenames extends MemoryStorage {
  #gate = Promise.withResolvers<void>();
  open(): void {
    this.#gate.resolve();
  }
  override async rename(from: string, to: string): Promise<void> {
    await this.#gate.promise;
    return super.rename(from, to);
  }
}

Deno.test("QuotaStorage: two renames onto one file at once count the file they replace once each", async () => {
  const storage = new GatedRenames();
  await put(storage, "/a", 1);
  await put(storage, "/c", 2);
  await put(storage, "/b", 10);
  const usage = QuotaUsage.scan(storage);
  const quota = new QuotaStorage(storage, { bytes: 100 }, usage);
  await usage.counted();
  // Both would see b's 10 bytes as what they replace; the second really replaces a's 1.
  const both = Promise.all([quota.rename("/a", "/b"), quota.rename("/c", "/b")]);
  await new Promise((resolve) => setTimeout(resolve, 10));
  storage.open();
  await both;
  deepEqual({ bytes: usage.bytes, files: usage.files }, await truth(storage));
});

Deno.test("QuotaStorage: an atomic APPE keeps the room its commit needs when its file is deleted meanwhile", async () => {
  // A back end that replaces at the commit: the upload goes to a side buffer, the old bytes kept.
  class Atomic extends MemoryStorage {
    override async write(path: string, options: { append?: boolean } = {}) {
      const kept = options.append
        ? await this.read(path).then(
          (h) => new Response(h.readable).bytes(),
          () => new Uint8Array(),
        )
        : new Uint8Array();
      const chunks: Uint8Array[] = [kept];
      return new WritableStream<Uint8Array>({
        write: (chunk) => void chunks.push(chunk.slice()),
        close: async () => {
          const target = (await super.write(path)).getWriter();
          for (const chunk of chunks) await target.write(chunk);
          await target.close();
        },
      });
    }
  }
  const storage = new Atomic();
  await put(storage, "/f", 50);
  const usage = QuotaUsage.scan(storage);
  const quota = new QuotaStorage(storage, { bytes: 100 }, usage);
  await usage.counted();
  const appe = (await quota.write("/f", { append: true })).getWriter();
  await quota.remove("/f"); // the count drops to 0, yet the commit brings the 50 bytes back
  await rejects(put(quota, "/g", 60), (error) => (error as StorageError).kind === "quota");
  await appe.write(encoder.encode("y".repeat(10)));
  await appe.close();
  await put(quota, "/g", 40);
  deepEqual(await truth(storage), { bytes: 100, files: 2 });
  deepEqual({ bytes: usage.bytes, files: usage.files }, await truth(storage));
});

Deno.test("QuotaStorage: a second upload of a file being uploaded is busy", async () => {
  const storage = new MemoryStorage();
  const usage = QuotaUsage.scan(storage);
  const quota = new QuotaStorage(storage, { files: 10 }, usage);
  const first = (await quota.write("/f")).getWriter();
  await rejects(quota.write("/f"), (error) => (error as StorageError).kind === "busy");
  await first.abort("gone");
  await put(quota, "/f", 3);
  deepEqual({ bytes: usage.bytes, files: usage.files }, { bytes: 3, files: 1 });
});
