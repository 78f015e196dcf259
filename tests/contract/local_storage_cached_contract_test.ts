/**
 * The storage contract for {@linkcode LocalStorage} with its listing cache on for every
 * directory (src/storage/dir_cache.ts): a cached listing must be indistinguishable from a live one.
 */
import { ok } from "node:assert/strict";
import { LocalStorage } from "../../src/mod.ts";
import { runStorageContract } from "./storage_contract.ts";

for (const atomicUploads of [false, true]) {
  runStorageContract({
    name: atomicUploads
      ? "LocalStorage (cached listings, atomic)"
      : "LocalStorage (cached listings)",
    liveReads: true,
    create() {
      const root = Deno.makeTempDirSync({ prefix: "ftpgate-contract-" });
      const storage = new LocalStorage(root, { atomicUploads, listCache: { minEntries: 0 } });
      ok(storage.listCacheActive);
      return {
        storage,
        cleanup: () => {
          storage.close();
          Deno.removeSync(root, { recursive: true });
        },
      };
    },
  });
}
