/**
 * Uploads as a WritableStream: PutObject when the data fits one part, otherwise a multipart
 * upload whose parts are sent while the client keeps sending.
 *
 * ## Memory
 * One part buffer fills while at most `maxPartsInFlight` finished parts are on their way to
 * S3; a write waits (backpressure reaches the client's TCP window) when all of them are busy.
 * So an upload holds at most **`partSize × (maxPartsInFlight + 1)`** bytes (40 MiB with the
 * defaults); a small file holds only its own size (the buffer grows by doubling).
 *
 * ## Server-side prefix (APPE, REST n + STOR)
 * The kept bytes of the existing object are not downloaded: the upload's first part(s) are
 * UploadPartCopy of bytes `0..keep-1`, pinned to the ETag the object had when the command
 * started (a concurrent overwrite fails the upload with `busy` instead of mixing versions).
 * S3 wants every part but the last to be at least 5 MiB, so a prefix below 5 MiB is fetched
 * (one ranged, ETag-pinned GET) into the first part instead.
 *
 * ## Atomicity
 * Nothing is visible until the upload completes; until then the old object stays readable.
 * Closing completes the upload; aborting it (ABOR, a lost connection, a failed part) aborts the
 * multipart upload, so no parts are left behind to be billed.
 *
 * @module
 */

import { StorageError } from "../../errors.ts";
import { prefixRanges } from "./copy.ts";
import { runBounded } from "./bounded.ts";
import { S3Error, toStorageError } from "./errors.ts";
import type { ObjectInfo, S3Objects, UploadedPart } from "./objects.ts";
import { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from "./settings.ts";

/** What one upload does. */
export interface UploadPlan {
  key: string;
  /** Virtual path, for errors. */
  path: string;
  /** Keep the first `keep` bytes of this object (APPE, REST n + STOR). */
  base?: { info: ObjectInfo; keep: number };
  /** Fail with `exists` if the key appears before the upload completes (STOU). */
  exclusive: boolean;
  partSize: number;
  maxPartsInFlight: number;
  /**
   * Expected total size (ALLO): lets the part size grow, with the bytes received, so that it
   * fits in 10,000 parts.
   */
  sizeHint?: number;
  signal?: AbortSignal;
  /** Called once when the upload is finished, failed or aborted. */
  onSettled: () => void;
}

/** Smallest first buffer: a tiny file does not allocate a whole part. */
const INITIAL_BUFFER = 64 * 1024;

/**
 * The part size for an upload of about `sizeHint` bytes: the configured one, or larger — the
 * most a part may grow to as the upload goes on (see {@linkcode nextPartSize}). Sized for 90%
 * of the 10,000 parts: the ramp up to it uses some parts of a smaller size.
 */
export function partSizeFor(partSize: number, sizeHint?: number): number {
  const parts = MAX_PARTS * 0.9;
  if (sizeHint === undefined || sizeHint <= partSize * parts) return partSize;
  const mib = 1024 * 1024;
  return Math.min(MAX_PART_SIZE, Math.ceil(sizeHint / parts / mib) * mib);
}

/**
 * Received bytes per byte of part: a part grows past the configured size only once the client
 * has sent this many times its size.
 */
const RAMP = 16;

/**
 * The size of the next part, once `received` bytes have come in: the configured size, growing
 * towards `target` (ALLO's) only with the bytes actually received. ALLO is the client's word:
 * trusting it at once let anyone who may upload send "ALLO 50000000000000" and have the server
 * buffer 5 GiB parts (× parts in flight) of whatever followed. Grown this way an upload holds
 * at most about `(maxPartsInFlight + 1) / 16` of what it received beyond the configured bound,
 * and an honest huge upload still fits in 10,000 parts (the ramp takes a few hundred).
 *
 * @example
 * ```ts
 * import { nextPartSize } from "./upload.ts";
 * const MiB = 1024 * 1024;
 * nextPartSize(8 * MiB, 5 * 1024 * MiB, 100 * MiB); // 8 MiB: nothing much received yet
 * nextPartSize(8 * MiB, 5 * 1024 * MiB, 1024 * MiB); // 64 MiB
 * ```
 */
export function nextPartSize(partSize: number, target: number, received: number): number {
  if (target <= partSize) return partSize;
  const mib = 1024 * 1024;
  return Math.min(target, Math.max(partSize, Math.ceil(received / RAMP / mib) * mib));
}

/** Opens the sink for one upload. */
export function createUploadSink(objects: S3Objects, plan: UploadPlan): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>(new UploadSink(objects, plan));
}

class UploadSink implements UnderlyingSink<Uint8Array> {
  readonly #objects: S3Objects;
  readonly #plan: UploadPlan;
  /** The largest part this upload may use (ALLO may raise it above the configured one). */
  readonly #targetPartSize: number;
  /** The size of the part being filled. */
  #partSize: number;
  /** Bytes taken into part buffers so far (the kept prefix included). */
  #received = 0;
  /** Aborts every request of this upload (on abort or failure). */
  readonly #stop = new AbortController();
  readonly #signal: AbortSignal;
  #buffer: Uint8Array = new Uint8Array(0);
  #filled = 0;
  /** Part buffers whose part has been sent, for reuse (the bound holds without GC lag). */
  readonly #spare: Uint8Array[] = [];
  #uploadId: Promise<string> | null = null;
  #nextPart = 1;
  readonly #parts: UploadedPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { error: unknown } | null = null;
  /** The server-side copy of a kept prefix (runs beside the client's bytes). */
  #copy: Promise<void> | null = null;
  /** The fetch of a small kept prefix (the client's bytes wait for it). */
  #fetch: Promise<void> | null = null;
  #settled = false;
  #onSessionAbort: (() => void) | null = null;

  constructor(objects: S3Objects, plan: UploadPlan) {
    this.#objects = objects;
    this.#plan = plan;
    this.#targetPartSize = partSizeFor(plan.partSize, plan.sizeHint);
    this.#partSize = plan.partSize;
    this.#signal = plan.signal
      ? AbortSignal.any([plan.signal, this.#stop.signal])
      : this.#stop.signal;
  }

  start(controller: WritableStreamDefaultController): void {
    const keep = this.#plan.base?.keep ?? 0;
    if (keep >= MIN_PART_SIZE) {
      this.#copy = this.#copyPrefix(keep);
      this.#copy.catch((error) => this.#fail(error));
    } else if (keep > 0) {
      this.#fetch = this.#fetchPrefix(keep);
      this.#fetch.catch((error) => this.#fail(error));
    }
    // The session going away (or a timeout) ends the upload even with no write pending.
    const signal = this.#plan.signal;
    if (signal) {
      this.#onSessionAbort = () => {
        controller.error(signal.reason);
        void this.#cleanUp();
      };
      signal.addEventListener("abort", this.#onSessionAbort, { once: true });
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.#ready();
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#filled === this.#partSize) await this.#flush();
      this.#ensureRoom(chunk.length - offset);
      const n = Math.min(chunk.length - offset, this.#buffer.length - this.#filled);
      this.#buffer.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      this.#received += n;
      offset += n;
    }
  }

  async close(): Promise<void> {
    try {
      await this.#ready();
      await this.#copy;
      this.#check();
      if (this.#uploadId === null) {
        // Everything fit in one part: a single PutObject.
        await this.#objects.put(this.#plan.key, this.#buffer.subarray(0, this.#filled), {
          exclusive: this.#plan.exclusive,
          signal: this.#signal,
        });
      } else {
        if (this.#filled > 0) await this.#flush();
        while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
        this.#check();
        if (this.#plan.exclusive) {
          // AWS honours If-None-Match on CompleteMultipartUpload (sent below); Ceph RGW 16 and
          // Swift ignore it. Looking first narrows their race to one round trip.
          if (await this.#objects.head(this.#plan.key, this.#signal)) {
            throw new StorageError("exists", this.#plan.path);
          }
        }
        const parts = [...this.#parts].sort((a, b) => a.partNumber - b.partNumber);
        await this.#objects.complete(this.#plan.key, await this.#uploadId, parts, {
          exclusive: this.#plan.exclusive,
          signal: this.#signal,
        });
      }
      this.#settle();
    } catch (error) {
      const mapped = this.#mapped(error);
      await this.#cleanUp();
      throw mapped;
    }
  }

  async abort(): Promise<void> {
    await this.#cleanUp();
  }

  async #ready(): Promise<void> {
    if (this.#fetch !== null) {
      await this.#fetch.catch(() => {});
      this.#fetch = null;
    }
    this.#check();
  }

  /** Throws the failure of a part sent earlier, so that the client hears of it soon. */
  #check(): void {
    if (this.#failure !== null) throw this.#mapped(this.#failure.error);
  }

  #mapped(error: unknown): Error {
    if (error instanceof S3Error && error.status === 412) {
      // If-None-Match: * lost the race (STOU), or If-Match on the kept prefix failed: the
      // object changed since the command started.
      return new StorageError(this.#plan.exclusive ? "exists" : "busy", this.#plan.path);
    }
    return toStorageError(error, this.#plan.path);
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#stop.abort(error);
  }

  /** Makes room for `wanted` more bytes, growing the buffer by doubling up to one part. */
  #ensureRoom(wanted: number): void {
    const length = this.#buffer.length;
    if (length === this.#partSize || length - this.#filled >= wanted) return;
    let size = Math.max(INITIAL_BUFFER, length);
    while (size < this.#filled + wanted && size < this.#partSize) size *= 2;
    size = Math.min(size, this.#partSize);
    const grown = size === this.#partSize
      ? this.#spare.pop() ?? new Uint8Array(size)
      : new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.#filled));
    this.#buffer = grown;
  }

  #startUpload(): Promise<string> {
    this.#uploadId ??= this.#objects.createUpload(this.#plan.key, {}, this.#signal);
    return this.#uploadId;
  }

  /** Sends the filled buffer as the next part; waits while too many parts are in flight. */
  async #flush(): Promise<void> {
    while (this.#inFlight.size >= this.#plan.maxPartsInFlight) {
      await Promise.race(this.#inFlight);
      this.#check();
    }
    const uploadId = await this.#startUpload();
    this.#check();
    const partNumber = this.#nextPart++;
    if (partNumber > MAX_PARTS) {
      // partSize × 10,000 is the largest object one upload can make (ALLO raises the part size).
      throw new StorageError("quota", this.#plan.path);
    }
    const buffer = this.#buffer;
    const body = buffer.subarray(0, this.#filled);
    const size = nextPartSize(this.#plan.partSize, this.#targetPartSize, this.#received);
    if (size !== this.#partSize) {
      this.#partSize = size;
      this.#spare.length = 0; // buffers of the old size
    }
    this.#buffer = this.#spare.pop() ?? new Uint8Array(this.#partSize);
    this.#filled = 0;
    const sent: Promise<void> = this.#objects
      .uploadPart(this.#plan.key, uploadId, partNumber, body, this.#signal)
      .then((part) => {
        this.#parts.push(part);
        if (buffer.length === this.#partSize && !this.#settled) this.#spare.push(buffer);
      })
      .catch((error) => this.#fail(error))
      .finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
  }

  /** UploadPartCopy of bytes 0..keep-1 as the first part(s). */
  async #copyPrefix(keep: number): Promise<void> {
    const base = this.#plan.base!;
    const ranges = prefixRanges(keep);
    // Part numbers 1..n are the prefix; the client's bytes follow.
    this.#nextPart = ranges.length + 1;
    const uploadId = await this.#startUpload();
    await runBounded(ranges.map((range, index) => ({ range, index })), 4, async (item, signal) => {
      const [start, end] = item.range;
      const part = await this.#objects.uploadPartCopy(this.#plan.key, uploadId, item.index + 1, {
        key: this.#plan.key,
        start,
        end,
        etag: base.info.etag,
      }, signal);
      this.#parts.push(part);
    }, this.#signal);
  }

  /** A prefix below S3's smallest part: one pinned, ranged GET into the first part. */
  async #fetchPrefix(keep: number): Promise<void> {
    const got = await this.#objects.get(this.#plan.key, {
      start: 0,
      end: keep - 1,
      etag: this.#plan.base!.info.etag,
      signal: this.#signal,
    });
    const bytes = got === null ? new Uint8Array(0) : await got.response.bytes();
    if (bytes.length !== keep) throw new StorageError("busy", this.#plan.path);
    this.#ensureRoom(keep);
    this.#buffer.set(bytes, 0);
    this.#filled = keep;
    this.#received = keep;
  }

  /** Aborts the requests in flight and the multipart upload: no parts are left behind. */
  async #cleanUp(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    this.#stop.abort(new DOMException("Upload aborted", "AbortError"));
    await Promise.allSettled([...this.#inFlight, this.#copy, this.#fetch]);
    const uploadId = this.#uploadId === null ? null : await this.#uploadId.catch(() => null);
    // A fresh signal: the upload's own is aborted by now. Bounded by the client's timeout.
    if (uploadId !== null) {
      await this.#objects.abortUpload(this.#plan.key, uploadId).catch(() => {});
    }
    this.#release();
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#release();
  }

  #release(): void {
    this.#buffer = new Uint8Array(0);
    this.#spare.length = 0;
    if (this.#onSessionAbort) this.#plan.signal?.removeEventListener("abort", this.#onSessionAbort);
    this.#plan.onSettled();
  }
}
