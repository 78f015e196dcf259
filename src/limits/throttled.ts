/**
 * A data connection held to a user's bandwidth limits: writes (downloads) wait for the bucket
 * before they go, in pieces small enough for the limit to be smooth; reads (uploads) are made
 * small and wait for the bucket after they came in, so that the client is slowed by TCP's own
 * flow control rather than by a buffer filling up here.
 *
 * @module
 */

import type { DataConnection } from "../data/connection.ts";
import type { TokenBucket } from "./token_bucket.ts";

/** Bytes moved between two looks at the bucket. */
const PIECE = 64 * 1024;

/** The buckets that apply to one transfer. */
export interface Throttle {
  /** Uploads: bytes read from the client. */
  read?: TokenBucket;
  /** Downloads: bytes written to the client. */
  write?: TokenBucket;
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
    const bucket = this.#throttle.read;
    if (bucket === undefined) return await this.#inner.read(buffer);
    const n = await this.#inner.read(buffer.length > PIECE ? buffer.subarray(0, PIECE) : buffer);
    if (n !== null && n > 0) await bucket.take(n, this.#signal);
    return n;
  }

  async write(bytes: Uint8Array): Promise<number> {
    const bucket = this.#throttle.write;
    if (bucket === undefined) return await this.#inner.write(bytes);
    const piece = bytes.length > PIECE ? bytes.subarray(0, PIECE) : bytes;
    await bucket.take(piece.length, this.#signal);
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
