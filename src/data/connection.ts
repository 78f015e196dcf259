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
