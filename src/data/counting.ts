/**
 * Counts the bytes that cross a data connection, at the moment each read or write returns: the
 * transfer log and STAT then show what really moved, in every outcome (a transfer cut short in
 * the middle of a 1 MiB chunk counts the part of it the kernel took).
 *
 * @module
 */

import type { DataConnection } from "./connection.ts";

/** A data connection that reports every read and write. */
export class CountingConnection implements DataConnection {
  readonly #inner: DataConnection;
  readonly #onBytes: (bytes: number) => void;

  constructor(inner: DataConnection, onBytes: (bytes: number) => void) {
    this.#inner = inner;
    this.#onBytes = onBytes;
  }

  /** The connection underneath. */
  get inner(): DataConnection {
    return this.#inner;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    const n = await this.#inner.read(buffer);
    if (n !== null && n > 0) this.#onBytes(n);
    return n;
  }

  async write(bytes: Uint8Array): Promise<number> {
    const n = await this.#inner.write(bytes);
    this.#onBytes(n);
    return n;
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
