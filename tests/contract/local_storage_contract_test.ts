/**
 * The storage contract for {@linkcode LocalStorage}, plain and with atomic uploads, and what
 * only a disk does (aborted uploads, the atomic REST/APPE path).
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { LocalStorage, StorageError } from "../../src/mod.ts";
import { collectList } from "../../src/storage/storage.ts";
import { get, put, runStorageContract } from "./storage_contract.ts";

const encoder = new TextEncoder();

for (const atomicUploads of [false, true]) {
  runStorageContract({
    name: atomicUploads ? "LocalStorage (atomic uploads)" : "LocalStorage",
    liveReads: true,
    create() {
      const root = Deno.makeTempDirSync({ prefix: "ftpgate-contract-" });
      return {
        storage: new LocalStorage(root, atomicUploads ? { atomicUploads: true } : {}),
        cleanup: () => Deno.removeSync(root, { recursive: true }),
      };
    },
  });
}

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
