/**
 * Directory rename on a store without directories: copy every key under the old prefix to the
 * new one, then delete the old keys. Not atomic (S3 has no multi-key transaction):
 *
 * 1. Count the keys (a listing, no copies). Above `maxKeys` the rename is refused before
 *    anything changes: a rename of a million keys through an FTP command is a mistake.
 * 2. Copy them server-side, `concurrency` at once, each pinned to the ETag it was listed with.
 *    A failure here stops the copying; the old tree is still whole, the new one partial.
 * 3. Delete exactly the keys that were copied (DeleteObjects, 1,000 per request), so that a
 *    file uploaded into the old directory during the rename is kept, not lost.
 *
 * Memory is bounded by `maxKeys` (the list of copied keys, for step 3) plus one listing page.
 *
 * @module
 */

import { FtpError } from "../../errors.ts";
import { runBounded } from "./bounded.ts";
import { copyObject } from "./copy.ts";
import { S3Error } from "./errors.ts";
import type { S3Objects } from "./objects.ts";
import type { ListedObject } from "./xml.ts";

/** How a directory rename runs. */
export interface DirectoryRenamePlan {
  from: string;
  to: string;
  maxKeys: number;
  concurrency: number;
  signal?: AbortSignal;
}

/** Every object under `prefix`, page by page (no delimiter: the whole subtree). */
export async function* listTree(
  objects: S3Objects,
  prefix: string,
  signal?: AbortSignal,
): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await objects.list({
      prefix,
      maxKeys: 1000,
      ...(token === undefined ? {} : { token }),
      ...(signal ? { signal } : {}),
    });
    yield* page.objects;
    token = page.continuationToken;
  } while (token !== undefined);
}

/** Renames every key under `from` to the same name under `to` (both prefixes end in `/`). */
export async function renameDirectory(
  objects: S3Objects,
  plan: DirectoryRenamePlan,
): Promise<void> {
  let count = 0;
  for await (const _ of listTree(objects, plan.from, plan.signal)) {
    if (++count > plan.maxKeys) {
      throw new FtpError(
        550,
        `Directory holds more than ${plan.maxKeys} objects; renaming it is refused (the S3 rename limit).`,
      );
    }
  }
  const copied: string[] = [];
  await runBounded(
    listTree(objects, plan.from, plan.signal),
    plan.concurrency,
    async (object, signal) => {
      // The count pass bounds what we hold; keys added since then are left where they are.
      if (copied.length >= plan.maxKeys) return;
      const target = plan.to + object.key.slice(plan.from.length);
      await copyObject(
        objects,
        {
          key: object.key,
          info: {
            size: object.size,
            etag: object.etag,
            lastModified: object.lastModified,
            metadata: {},
            contentType: null,
          },
        },
        target,
        { signal },
      );
      copied.push(object.key);
    },
    plan.signal,
  );
  const batches: string[][] = [];
  for (let i = 0; i < copied.length; i += 1000) batches.push(copied.slice(i, i + 1000));
  await runBounded(batches, 4, (keys, signal) => deleteKeys(objects, keys, signal), plan.signal);
}

/** DeleteObjects, or one DELETE per key on a store without it. */
async function deleteKeys(objects: S3Objects, keys: string[], signal: AbortSignal): Promise<void> {
  if (objects.multiDelete) {
    try {
      await objects.deleteMany(keys, signal);
      return;
    } catch (error) {
      if (!(error instanceof S3Error && error.status === 501)) throw error;
      objects.multiDelete = false;
    }
  }
  await runBounded(keys, 16, (key, keySignal) => objects.delete(key, keySignal), signal);
}
