/**
 * Directory listings, streamed page by page from ListObjectsV2 with the `/` delimiter.
 *
 * The first entry is yielded as soon as the first page (up to 1,000 keys) arrives, and the next
 * page is fetched while the current one is being sent: at most two pages are held, whatever the
 * size of the directory. Breaking out of the iteration aborts the page in flight.
 *
 * Files carry S3's Last-Modified (a listing has no user metadata: MDTM and MLST, which HEAD
 * the object, show an `x-amz-meta-mtime` set by MFMT instead). Sub-directories carry the epoch:
 * a common prefix has no time of its own.
 *
 * @module
 */

import { StorageError } from "../../errors.ts";
import type { FileStat } from "../storage.ts";
import { entryName } from "./keys.ts";
import type { S3Objects } from "./objects.ts";
import type { ListPage } from "./xml.ts";

/** Keys per page (S3's maximum). */
const PAGE_SIZE = 1000;

/** What a listing needs to know. */
export interface ListPlan {
  /** The directory's key prefix (`""` or ending in `/`). */
  prefix: string;
  /** Virtual path, for errors. */
  path: string;
  /** The key of the same path as a file, to tell `not-a-directory` from `not-found`. */
  fileKey: string | null;
  signal?: AbortSignal;
}

/** The entries of one directory, in S3's (lexicographic) order. */
export async function* listDirectory(
  objects: S3Objects,
  plan: ListPlan,
): AsyncGenerator<FileStat> {
  const stop = new AbortController();
  const signal = plan.signal ? AbortSignal.any([plan.signal, stop.signal]) : stop.signal;
  const fetchPage = (token?: string) =>
    objects.list({
      prefix: plan.prefix,
      delimiter: "/",
      maxKeys: PAGE_SIZE,
      signal,
      ...(token === undefined ? {} : { token }),
    });
  let pending: Promise<ListPage> | null = fetchPage();
  let seen = false;
  try {
    while (pending !== null) {
      const page: ListPage = await pending;
      // One page ahead: the next page's round trip overlaps sending this one.
      pending = page.continuationToken === undefined ? null : fetchPage(page.continuationToken);
      pending?.catch(() => {}); // awaited on the next turn, or abandoned in `finally`
      if (page.objects.length > 0 || page.prefixes.length > 0) seen = true;
      yield* entries(page, plan.prefix);
    }
  } finally {
    if (pending !== null) {
      stop.abort(new DOMException("Listing closed", "AbortError"));
      await pending.catch(() => {});
    }
  }
  if (!seen && plan.fileKey !== null) {
    // Nothing under the prefix, not even a marker: a file, or nothing at all.
    const file = await objects.head(plan.fileKey, plan.signal);
    throw new StorageError(file ? "not-a-directory" : "not-found", plan.path);
  }
}

/** The entries of one page: files and sub-directories merged in key order. */
function* entries(page: ListPage, prefix: string): Generator<FileStat> {
  let i = 0;
  let j = 0;
  const { objects, prefixes } = page;
  while (i < objects.length || j < prefixes.length) {
    const takeFile = j >= prefixes.length || (i < objects.length && objects[i].key < prefixes[j]);
    if (takeFile) {
      const object = objects[i++];
      const name = entryName(object.key, prefix);
      if (name === null || object.key.endsWith("/")) continue; // the marker, or unnameable
      yield {
        name,
        type: "file",
        size: object.size,
        mtime: object.lastModified,
        mode: 0o644,
        id: object.key,
      };
    } else {
      const common = prefixes[j++];
      const name = entryName(common, prefix);
      if (name === null) continue;
      yield { name, type: "dir", size: 0, mtime: new Date(0), mode: 0o755, id: common };
    }
  }
}
