/**
 * A data connection held to a user's bandwidth limits: writes (downloads) wait for the bucket
 * before they go, in pieces small enough for the limit to be smooth; reads (uploads) are made
 * small and wait for the bucket after they came in, so that the client is slowed by TCP's own
 * flow control rather than by a buffer filling up here.
 *
 * @module
 */

import type { DataConnection } from "../data/connection.ts";
import { TokenBucket } from "./token_bucket.ts";

/** Bytes moved between two looks at the bucket, at most. */
const PIECE = 64 * 1024;

/**
 * The piece for the slowest of `buckets`: at most a quarter of a second's worth. A piece waits
 * for the bucket before it moves, and the stall timeout sees no byte move meanwhile: with
 * 64 KiB pieces a download limited to 8 KiB/s waited 8 s per piece, and any rate below
 * ~550 B/s was aborted as stalled at the default 120 s stall timeout — the server's own limit
 * taken for a dead client. Quarter-second pieces keep the bytes flowing at every rate.
 */
function pieceFor(buckets: readonly TokenBucket[]): number {
  let rate = Infinity;
  for (const bucket of buckets) rate = Math.min(rate, bucket.rate);
  return Math.max(1, Math.min(PIECE, Math.floor(rate / 4)));
}

/** The buckets that apply to one transfer: every one of them must allow a piece to go. */
export interface Throttle {
  /** Uploads: bytes read from the client. */
  read?: readonly TokenBucket[];
  /** Downloads: bytes written to the client. */
  write?: readonly TokenBucket[];
}

/**
 * A throttle of its own for the given rates (bytes per second; undefined: no limit that way).
 *
 * @example
 * ```ts
 * import { throttleAt } from "./throttled.ts";
 * throttleAt(undefined, 1 << 20); // downloads at 1 MiB/s, uploads free
 * ```
 */
export function throttleAt(
  uploadBytesPerSecond: number | undefined,
  downloadBytesPerSecond: number | undefined,
): Throttle | undefined {
  if (uploadBytesPerSecond === undefined && downloadBytesPerSecond === undefined) return undefined;
  return {
    ...(uploadBytesPerSecond === undefined
      ? {}
      : { read: [new TokenBucket(uploadBytesPerSecond)] }),
    ...(downloadBytesPerSecond === undefined
      ? {}
      : { write: [new TokenBucket(downloadBytesPerSecond)] }),
  };
}

/**
 * The throttles of several scopes (the user's, the session's) as one: a transfer keeps to each.
 *
 * @example
 * ```ts
 * import { combineThrottles } from "./throttled.ts";
 * import { TokenBucket } from "./token_bucket.ts";
 * const user = { write: [new TokenBucket(4 << 20)] };
 * const session = { write: [new TokenBucket(1 << 20)], read: [new TokenBucket(1 << 20)] };
 * combineThrottles(user, session); // write: both buckets, read: the session's
 * ```
 */
export function combineThrottles(...throttles: (Throttle | undefined)[]): Throttle | undefined {
  const read = throttles.flatMap((throttle) => throttle?.read ?? []);
  const write = throttles.flatMap((throttle) => throttle?.write ?? []);
  if (read.length === 0 && write.length === 0) return undefined;
  return { ...(read.length ? { read } : {}), ...(write.length ? { write } : {}) };
}

/** Waits until every bucket lets `bytes` go (they are debited at once, so the waits overlap). */
async function takeAll(
  buckets: readonly TokenBucket[],
  bytes: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (buckets.length === 1) return await buckets[0].take(bytes, signal);
  await Promise.all(buckets.map((bucket) => bucket.take(bytes, signal)));
}

/** A data connection that keeps to a {@linkcode Throttle}. */
export class ThrottledConnection implements DataConnection {
  readonly #inner: DataConnection;
  readonly #throttle: Throttle;
  readonly #signal: AbortSignal | undefined;

  constructor(inner: DataConnection, throttle: Throttle, signal?: AbortSignal) {
    this.#inner = inner;
    this.#throttle = throttle;
    this.#signal = signal;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    const buckets = this.#throttle.read;
    if (buckets === undefined) return await this.#inner.read(buffer);
    const piece = pieceFor(buckets);
    const n = await this.#inner.read(buffer.length > piece ? buffer.subarray(0, piece) : buffer);
    if (n !== null && n > 0) await takeAll(buckets, n, this.#signal);
    return n;
  }

  async write(bytes: Uint8Array): Promise<number> {
    const buckets = this.#throttle.write;
    if (buckets === undefined) return await this.#inner.write(bytes);
    const size = pieceFor(buckets);
    const piece = bytes.length > size ? bytes.subarray(0, size) : bytes;
    await takeAll(buckets, piece.length, this.#signal);
    return await this.#inner.write(piece);
  }

  close(): void {
    this.#inner.close();
  }

  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }

  finish(): Promise<void> {
    return this.#inner.finish?.() ?? Promise.resolve();
  }
}
