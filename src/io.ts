/**
 * The byte-channel shapes shared by the line reader, the pump, the TLS layer and the session:
 * a `Deno.Conn` fits all of them, and so do the TLS channel and the sniffed connection.
 *
 * @module
 */

/** Something that reads bytes into a buffer; null at end of stream. */
export interface ByteReader {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Something that writes bytes; resolves to how many were taken. */
export interface ByteWriter {
  write(bytes: Uint8Array): Promise<number>;
}

/** A two-way byte connection: a control connection, or what TLS runs over. */
export interface ByteConnection extends ByteReader, ByteWriter {
  /** Ends our side (FIN, or TLS close_notify) while the peer's side can still be read. */
  closeWrite(): Promise<void>;
  close(): void;
}
