/**
 * The storage contract for {@linkcode MemoryStorage}, and its own extras (quota, seeding).
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { MemoryStorage, StorageError } from "../../src/mod.ts";
import { runStorageContract } from "./storage_contract.ts";

const decoder = new TextDecoder();

runStorageContract({
  name: "MemoryStorage",
  create: () => ({ storage: new MemoryStorage(), cleanup() {} }),
});

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
