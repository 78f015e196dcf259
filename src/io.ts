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

/**
 * Lets the event loop deliver what has already arrived (a socket's end of stream, say) before
 * going on: one round trip through a message port, about 10 µs, where a zero timer costs a
 * millisecond or more.
 *
 * @example
 * ```ts
 * import { yieldToIo } from "./io.ts";
 * await yieldToIo();
 * ```
 */
export function yieldToIo(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port2.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port1.postMessage(0);
  });
}

/**
 * Writes every byte: a channel's `write` may take fewer bytes than it was given.
 *
 * @example
 * ```ts
 * import { writeAll } from "./io.ts";
 * await writeAll(Deno.stdout, new TextEncoder().encode("hello\n"));
 * ```
 */
export async function writeAll(writer: ByteWriter, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await writer.write(bytes.subarray(offset));
}

/**
 * A byte stream over a reader, for the stream stages of a transfer. BYOB reads fill the
 * consumer's buffer directly; cancelling the stream does not close the reader (its owner does).
 */
export function readerStream(
  reader: ByteReader,
  chunkSize = 256 * 1024,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: chunkSize,
    async pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view!;
      const n = await reader.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      if (n === null) {
        controller.close();
        request.respond(0);
        return;
      }
      request.respond(n);
    },
  });
}

/** `first`, then the rest of `stream` (a kept data connection's leftover, then its reads). */
export function prepend(
  first: Uint8Array,
  stream: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let sent = false;
  return new ReadableStream({
    async pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(first);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
