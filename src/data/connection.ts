/**
 * What a transfer needs from a data connection: bytes each way and a way to end it. A plain
 * `Deno.TcpConn` is one; a TLS channel is another.
 *
 * @module
 */

import type { ByteReader, ByteWriter } from "../io.ts";

/** A data connection as transfers see it. */
export interface DataConnection extends ByteReader, ByteWriter {
  /** Closes the connection at once. */
  close(): void;
  /** Ends our side (FIN, or TLS close_notify and FIN) while the peer's side can still be read. */
  closeWrite(): Promise<void>;
  /**
   * Ends the connection gracefully before close, where the protocol has such a thing: TLS
   * sends close_notify, which clients such as Python's ftplib wait for after an upload.
   */
  finish?(): Promise<void>;
}

/**
 * A data connection kept open after a transfer whose mode marks the end of a file in-band
 * (MODE B, C), waiting for the next transfer: already protected (TLS is not started again), and
 * holding the bytes read past the last file's end, which belong to the next one.
 */
export class KeptConnection implements DataConnection {
  /** The connection, as the last transfer left it (a TLS channel under PROT P). */
  readonly inner: DataConnection;
  /** True when `inner` is a TLS channel (PROT P): what the next transfer's event reports. */
  readonly secure: boolean;
  #leftover: Uint8Array | undefined;

  constructor(inner: DataConnection, leftover?: Uint8Array, secure = false) {
    this.inner = inner;
    this.secure = secure;
    this.#leftover = leftover?.length ? leftover : undefined;
  }

  /** The bytes read past the last file's end, once. */
  takeLeftover(): Uint8Array | undefined {
    const leftover = this.#leftover;
    this.#leftover = undefined;
    return leftover;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.inner.read(buffer);
  }
  write(bytes: Uint8Array): Promise<number> {
    return this.inner.write(bytes);
  }
  close(): void {
    this.inner.close();
  }
  closeWrite(): Promise<void> {
    return this.inner.closeWrite();
  }
  finish(): Promise<void> {
    return this.inner.finish?.() ?? Promise.resolve();
  }
}
