import { deepEqual, equal } from "node:assert/strict";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { collectList, type Storage } from "../../src/storage/storage.ts";
import { MAX_ENTRIES_PER_LISTING, withListingTtl } from "../../src/storage/ttl_listing.ts";

/** A memory storage that counts its listings. */
function counted(): { storage: Storage; lists: () => number } {
  const inner: Storage = new MemoryStorage();
  let lists = 0;
  const storage: Storage = {
    get capabilities() {
      return inner.capabilities;
    },
    stat: (path, options) => inner.stat(path, options),
    list: (path, options) => {
      lists++;
      return inner.list(path, options);
    },
    read: (path, options) => inner.read(path, options),
    write: (path, options) => inner.write(path, options),
    mkdir: (path, options) => inner.mkdir(path, options),
    remove: (path, options) => inner.remove(path, options),
    rmdir: (path, options) => inner.rmdir(path, options),
    rename: (from, to, options) => inner.rename(from, to, options),
    setMtime: (path, mtime, options) => inner.setMtime(path, mtime, options),
    chmod: (path, mode, options) => inner.chmod(path, mode, options),
  };
  return { storage, lists: () => lists };
}

async function put(storage: Storage, path: string): Promise<void> {
  const writer = (await storage.write(path)).getWriter();
  await writer.write(new Uint8Array([1]));
  await writer.close();
}

const names = async (storage: Storage, path = "/") =>
  (await collectList(storage, path)).map((entry) => entry.name).sort();

Deno.test("withListingTtl() serves a listing from memory within the TTL, and 0 is off", async () => {
  const { storage: inner, lists } = counted();
  equal(withListingTtl(inner, 0), inner);
  const cached = withListingTtl(inner, 60_000);
  await put(inner, "/a");
  deepEqual(await names(cached), ["a"]);
  await put(inner, "/b"); // behind the cache's back: another instance
  deepEqual(await names(cached), ["a"]);
  equal(lists(), 1);
});

Deno.test("withListingTtl(): its own writes, deletes, renames and mkdirs drop what they change", async () => {
  const { storage: inner, lists } = counted();
  const cached = withListingTtl(inner, 60_000);
  await cached.mkdir("/d");
  deepEqual(await names(cached), ["d"]);
  deepEqual(await names(cached, "/d"), []);
  await put(cached, "/d/x");
  deepEqual(await names(cached, "/d"), ["x"]);
  await cached.rename("/d/x", "/y");
  deepEqual(await names(cached), ["d", "y"]);
  deepEqual(await names(cached, "/d"), []);
  await cached.remove("/y");
  await cached.rmdir("/d");
  deepEqual(await names(cached), []);
  const before = lists();
  await names(cached);
  equal(lists(), before, "unchanged since: from memory");
});

Deno.test("withListingTtl() does not keep a listing larger than the bound, nor one cut short", async () => {
  const { storage: inner, lists } = counted();
  const cached = withListingTtl(inner, 60_000);
  for (let i = 0; i <= MAX_ENTRIES_PER_LISTING; i++) await inner.mkdir(`/${i}`);
  await names(cached);
  await names(cached);
  equal(lists(), 2, "too large: listed from the store each time");
  const small = counted();
  const other = withListingTtl(small.storage, 60_000);
  await put(small.storage, "/a");
  await put(small.storage, "/b");
  for await (const _ of other.list("/")) break; // the client went away after one entry
  await names(other);
  equal(small.lists(), 2, "a listing not read to its end is not kept");
});
