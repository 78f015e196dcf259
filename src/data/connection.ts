/**
 * What a transfer needs from a data connection: a byte stream each way and a way to end it.
 * A plain `Deno.Conn` is one; a TLS-wrapped connection is another.
 *
 * @module
 */

/** A data connection as transfers see it. */
export interface DataConnection {
  /** Raw reads and writes: what transfers use in binary mode. */
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  /** Stream views, for the ASCII transforms. */
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): void;
  /**
   * Ends the connection gracefully before close, where the protocol has such a thing: TLS
   * sends close_notify, which clients such as Python's ftplib wait for after an upload.
   */
  finish?(): Promise<void>;
}
