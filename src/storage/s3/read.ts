/**
 * Downloads: one streaming GET (ranged for REST n), resumed in place if the connection breaks.
 *
 * The first GET fixes the version: its ETag pins every later request of the same download
 * (`If-Match`), so an object overwritten mid-download fails the transfer (`busy`, 450) rather
 * than splicing two versions together. A broken body is resumed with a ranged GET from the
 * byte where it stopped, up to `maxAttempts` times. A body that stalls for `timeoutMs` counts
 * as broken.
 *
 * @module
 */

import { StorageError } from "../../errors.ts";
import type { ReadHandle } from "../storage.ts";
import { isAbortError, S3Error, S3TimeoutError, toStorageError } from "./errors.ts";
import type { ObjectInfo, S3Objects } from "./objects.ts";

/** How a download runs. */
export interface ReadPlan {
  key: string;
  /** Virtual path, for errors. */
  path: string;
  offset: number;
  timeoutMs: number;
  maxAttempts: number;
  signal?: AbortSignal;
}

/**
 * Opens a download. Throws S3Error 404 for a missing key (the caller decides between
 * `not-found` and `is-a-directory`).
 */
export async function openRead(objects: S3Objects, plan: ReadPlan): Promise<ReadHandle> {
  const stop = new AbortController();
  const signal = plan.signal ? AbortSignal.any([plan.signal, stop.signal]) : stop.signal;
  const first = await objects.get(plan.key, { start: plan.offset, signal });
  if (first === null) {
    // 416: the offset is at or past the end (RGW answers 416 even at exactly the size); the
    // transfer is then empty, and 226 follows as for any empty file.
    const info = await objects.head(plan.key, signal);
    if (info === null) throw new S3Error(404, "NoSuchKey");
    return { size: info.size, readable: emptyStream() };
  }
  return {
    size: first.info.size,
    readable: bodyStream(objects, plan, first.response, first.info, stop, signal),
  };
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.close();
    },
  });
}

function bodyStream(
  objects: S3Objects,
  plan: ReadPlan,
  response: Response,
  info: ObjectInfo,
  stop: AbortController,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  let position = plan.offset;
  let reader: ReadableStreamDefaultReader<Uint8Array> = response.body!.getReader();
  let attempts = 1;
  let idle: AbortController | null = null;

  /** One chunk, or null at the end; a stall of `timeoutMs` is a failure. */
  const readChunk = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new S3TimeoutError()), plan.timeoutMs);
    });
    try {
      return await Promise.race([reader.read(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  };

  const resume = async (): Promise<void> => {
    await reader.cancel().catch(() => {});
    idle?.abort();
    idle = new AbortController();
    const got = await objects.get(plan.key, {
      start: position,
      etag: info.etag,
      signal: AbortSignal.any([signal, idle.signal]),
    });
    if (got === null) {
      reader = emptyStream().getReader();
      return;
    }
    reader = got.response.body!.getReader();
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        try {
          const { done, value } = await readChunk();
          if (done) {
            if (position < info.size) throw new S3Error(0, "ShortBody");
            controller.close();
            return;
          }
          position += value.length;
          controller.enqueue(value);
          return;
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (!resumable(error) || attempts >= plan.maxAttempts) {
            await reader.cancel().catch(() => {});
            throw mapped(error, plan.path);
          }
          attempts++;
          try {
            await resume();
          } catch (resumeError) {
            throw mapped(resumeError, plan.path);
          }
        }
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      stop.abort(reason);
    },
  }, { highWaterMark: 0 });
}

/** A broken or stalled body is worth a ranged retry; an answer from S3 is not. */
function resumable(error: unknown): boolean {
  if (isAbortError(error)) return false;
  if (error instanceof S3Error) return error.status === 0;
  return error instanceof TypeError; // the runtime's "connection reset" on a body read
}

function mapped(error: unknown, path: string): Error {
  // If-Match failed on a resumed read: the object was replaced mid-download.
  if (error instanceof S3Error && error.status === 412) return new StorageError("busy", path);
  return toStorageError(error, path);
}
