/**
 * Moves bytes from a ReadableStream to a WritableStream with backpressure.
 *
 * Byte streams (a file's or a socket's `readable`) are read with a BYOB reader into one pooled
 * 1 MiB buffer that is reused for every chunk: one read, one awaited write, no allocation per
 * chunk. Large buffers halve the syscalls of the default 64 KiB chunks (measured: 1 GiB RETR
 * 0.61 s CPU with `pipeTo`, 0.55 s with this loop). Other streams (an ASCII transform, a
 * listing) are read with a default reader.
 *
 * Errors say which side failed, because the reply depends on it: a network failure is 426, a
 * storage failure is the storage's reply (452 for a full disk).
 *
 * @module
 */

/** Which end of a pump failed. */
export type PumpSide = "source" | "sink";

/** A failure inside {@linkcode pump}, with the side it came from. */
export class PumpError extends Error {
  readonly side: PumpSide;
  constructor(side: PumpSide, cause: unknown) {
    super(`${side} failed`, { cause });
    this.name = "PumpError";
    this.side = side;
  }
}

const BUFFER_SIZE = 1 << 20;
/** Buffers kept for reuse; transfers beyond this many at once allocate and drop their own. */
const POOL_LIMIT = 16;
const pool: ArrayBuffer[] = [];

/**
 * Copies every byte from `source` to `sink`, then closes `sink`. On failure both are cancelled
 * or aborted, and the error is thrown as a {@linkcode PumpError}.
 *
 * @param onChunk called with each chunk's length, after it was written.
 * @param signal aborting it cancels both streams at once, even mid-read or mid-write (a stalled
 *   disk or network must not pin the transfer).
 * @returns the number of bytes copied.
 */
export async function pump(
  source: ReadableStream<Uint8Array>,
  sink: WritableStream<Uint8Array>,
  onChunk?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<number> {
  const writer = sink.getWriter();
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = source.getReader({ mode: "byob" });
  } catch {
    // not a byte stream
  }
  const reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader = byob ??
    source.getReader();
  let total = 0;
  let buffer: ArrayBuffer | undefined = byob
    ? pool.pop() ?? new ArrayBuffer(BUFFER_SIZE)
    : undefined;
  const onAbort = () => {
    reader.cancel(signal?.reason).catch(() => {});
    writer.abort(signal?.reason).catch(() => {});
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      signal?.throwIfAborted();
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = byob
          ? await byob.read(new Uint8Array(buffer!))
          : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      } catch (error) {
        throw new PumpError("source", error);
      }
      // A BYOB read hands the buffer back (transferred) in its result, even at the end.
      if (byob && result.value) buffer = result.value.buffer as ArrayBuffer;
      signal?.throwIfAborted(); // a cancelled read ends as "done": that is not the end of the data
      if (result.done) break;
      const chunk = result.value;
      if (chunk.length === 0) continue;
      try {
        await writer.write(chunk);
      } catch (error) {
        throw new PumpError("sink", error);
      }
      total += chunk.length;
      onChunk?.(chunk.length);
    }
    try {
      await writer.close();
    } catch (error) {
      throw new PumpError("sink", error);
    }
    if (buffer && buffer.byteLength === BUFFER_SIZE && pool.length < POOL_LIMIT) pool.push(buffer);
    return total;
  } catch (error) {
    reader.cancel(error).catch(() => {});
    writer.abort(error).catch(() => {});
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
