/**
 * A fast path under the storage interface's `ReadableStream`: a back end whose bytes can be read
 * synchronously (a local file) attaches a raw reader to the stream it returns, and the transfer
 * pump reads through that instead of the stream. For a 4 KiB RETR the stream machinery (a BYOB
 * read request, its promise, `respond`, the end-of-stream read) cost more than the file's two
 * `read` calls. Anything that wraps the stream (TYPE A, a mode, REST in TYPE A) hides the raw
 * reader, and the stream is used as before.
 *
 * @module
 */

/** Reads a file's bytes synchronously into the caller's buffer. */
export interface RawReader {
  /** Fills part of `buffer`; the number of bytes, or null at the end. Throws on an error. */
  readSync(buffer: Uint8Array): number | null;
  /** Releases the file (idempotent). */
  close(): void;
}

const RAW = Symbol("ftpgate.rawReader");

/**
 * Attaches `reader` to `stream` (the same bytes): whoever takes it must lock the stream first.
 *
 * @example
 * ```ts
 * import { attachRawReader, takeRawReader } from "./raw_reader.ts";
 * const stream = attachRawReader(new ReadableStream(), { readSync: () => null, close() {} });
 * takeRawReader(stream)?.readSync(new Uint8Array(1)); // null
 * ```
 */
export function attachRawReader(
  stream: ReadableStream<Uint8Array>,
  reader: RawReader,
): ReadableStream<Uint8Array> {
  (stream as ReadableStream<Uint8Array> & { [RAW]?: RawReader })[RAW] = reader;
  return stream;
}

/**
 * The raw reader of an unread `stream`, if it has one; the stream is locked (so nothing else
 * reads it or cancels it) and the caller owns the reader from then on.
 *
 * @example
 * ```ts
 * import { takeRawReader } from "./raw_reader.ts";
 * takeRawReader(new ReadableStream()); // null
 * ```
 */
export function takeRawReader(stream: ReadableStream<Uint8Array>): RawReader | null {
  const reader = (stream as ReadableStream<Uint8Array> & { [RAW]?: RawReader })[RAW];
  if (reader === undefined || stream.locked) return null;
  stream.getReader(); // locked for good: its own pull never runs
  return reader;
}
