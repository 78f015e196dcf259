/**
 * Decoders for the modes that mark the end of file in the data (block, compressed), and the two
 * ways to run them:
 *
 * - {@linkcode FrameDecoderStream}: a TransformStream, for tests and for pipelines whose input
 *   ends with the transfer anyway.
 * - {@linkcode receiveFramed}: reads a raw data connection itself, one read at a time as the
 *   consumer asks, and stops reading at the EOF descriptor. This is what a transfer over a kept
 *   data connection needs: a stream piped from `connection.readable` would read ahead into the
 *   next file's bytes and, once the decoder ends, cancel that readable, which closes the
 *   connection. Bytes that arrived after the EOF in the same read come back as `leftover`, to be
 *   fed to the next transfer first.
 *
 * Either way the pieces one input chunk decodes to go out as one chunk (a block of a record file
 * is often a few hundred bytes, and a chunk per block costs more in the stream than the copy),
 * and `ended` settles once: it resolves (with the leftover bytes) when the EOF arrived,
 * and rejects when the input ended or failed first. It never rejects unhandled.
 *
 * @module
 */

import type { ByteReader } from "../../io.ts";
import { concat } from "../representation/stage.ts";

/** A block or compressed mode encoder without the stream: `push` each chunk, then `flush` once. */
export interface Framing {
  /** Frames the next internal-form bytes (possibly nothing yet). */
  push(input: Uint8Array): Uint8Array;
  /** The last bytes, the EOF included. */
  flush(): Uint8Array;
}

/**
 * A {@linkcode Framing} as a TransformStream: what each chunk frames to goes out as one chunk.
 *
 * @example
 * ```ts
 * import { FramingStream } from "./frames.ts";
 * import { BlockFraming } from "./block.ts";
 * const wire = await new Response(
 *   new Blob(["hi"]).stream().pipeThrough(new FramingStream(new BlockFraming())),
 * ).bytes(); // [0, 0, 2, 0x68, 0x69, 64, 0, 0]
 * ```
 */
export class FramingStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(framing: Framing) {
    super({
      transform(chunk, controller) {
        const out = framing.push(chunk);
        if (out.length > 0) controller.enqueue(out);
      },
      flush(controller) {
        controller.enqueue(framing.flush());
      },
    });
  }
}

/** A block or compressed mode decoder's state machine. */
export interface FrameDecoder {
  /**
   * Decodes `input`, calling `emit` with internal-form bytes (views that may share `input`'s
   * buffer). Returns how many bytes it consumed: all of them, or fewer once the EOF arrived.
   * Throws a `CodecError` on malformed input.
   */
  decode(input: Uint8Array, emit: (bytes: Uint8Array) => void): number;
  /** The EOF descriptor arrived. */
  readonly done: boolean;
  /** The input has ended: throws a `CodecError` ("truncated") unless the EOF arrived. */
  finish(): void;
}

interface Settle {
  promise: Promise<Uint8Array>;
  resolve: (leftover: Uint8Array) => void;
  reject: (reason: unknown) => void;
}

function settle(): Settle {
  const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>();
  promise.catch(() => {}); // a caller that never looks must not see an unhandled rejection
  return { promise, resolve, reject };
}

/**
 * A {@linkcode FrameDecoder} as a TransformStream. At the EOF it enqueues the last data, closes
 * its readable side and resolves `ended` with the bytes after the EOF; writing more fails.
 *
 * @example
 * ```ts
 * import { FrameDecoderStream } from "./frames.ts";
 * import { BlockDecoder } from "./block.ts";
 * const stream = new FrameDecoderStream(new BlockDecoder());
 * const bytes = new Uint8Array([0x40, 0, 2, 0x68, 0x69, 0x99]); // EOF block "hi", then 0x99
 * const text = await new Response(new Blob([bytes]).stream().pipeThrough(stream)).text();
 * // text === "hi"; (await stream.ended) holds [0x99]
 * ```
 */
export class FrameDecoderStream extends TransformStream<Uint8Array, Uint8Array> {
  /** Resolves at the EOF with the bytes that followed it; rejects if the input ended first. */
  readonly ended: Promise<Uint8Array>;

  constructor(decoder: FrameDecoder) {
    const end = settle();
    super({
      transform(chunk, controller) {
        let used: number;
        const pieces: Uint8Array[] = [];
        try {
          used = decoder.decode(chunk, (bytes) => pieces.push(bytes));
        } catch (error) {
          end.reject(error);
          throw error;
        }
        if (pieces.length > 0) controller.enqueue(concat(pieces));
        if (decoder.done) {
          end.resolve(chunk.slice(used));
          controller.terminate();
        }
      },
      flush() {
        try {
          decoder.finish();
        } catch (error) {
          end.reject(error);
          throw error;
        }
      },
      cancel(reason) {
        end.reject(reason);
      },
    });
    this.ended = end.promise;
  }
}

/** What {@linkcode receiveFramed} returns. */
export interface FramedReceive {
  /** The decoded (internal-form) bytes of one file. */
  readable: ReadableStream<Uint8Array>;
  /** Resolves at the EOF with the bytes read after it; rejects if the input ended or failed. */
  ended: Promise<Uint8Array>;
}

/** Options of {@linkcode receiveFramed}. */
export interface ReceiveOptions {
  /** Bytes already read for this transfer: the previous transfer's leftover. */
  initial?: Uint8Array;
  /** Bytes per read from the connection. @default 65536 */
  readSize?: number;
}

/**
 * Decodes one file from a data connection, reading only as the consumer pulls and never past
 * the read that holds the EOF, so the connection stays usable for the next transfer.
 *
 * Memory is bounded by one read's worth of decoded output: at most `readSize` bytes in block
 * mode, and 63 times that for compressed mode's runs.
 *
 * @example
 * ```ts
 * import { receiveFramed } from "./frames.ts";
 * import { BlockDecoder } from "./block.ts";
 * const wire = [new Uint8Array([0x40, 0, 2, 0x68, 0x69])]; // one EOF block, "hi"
 * const reader = {
 *   read: (buffer: Uint8Array) => {
 *     const next = wire.shift();
 *     if (!next) return Promise.resolve(null);
 *     buffer.set(next);
 *     return Promise.resolve(next.length);
 *   },
 * };
 * const { readable } = receiveFramed(reader, new BlockDecoder());
 * await new Response(readable).text(); // "hi"
 * ```
 */
export function receiveFramed(
  reader: ByteReader,
  decoder: FrameDecoder,
  options: ReceiveOptions = {},
): FramedReceive {
  const end = settle();
  const readSize = options.readSize ?? 65536;
  let pending: Uint8Array | null = options.initial?.length ? options.initial : null;
  let cancelled = false;
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          if (pending !== null) {
            const input = pending;
            pending = null;
            const pieces: Uint8Array[] = [];
            const used = decoder.decode(input, (bytes) => pieces.push(bytes));
            const emitted = pieces.length > 0;
            if (emitted) controller.enqueue(concat(pieces));
            if (decoder.done) {
              controller.close();
              end.resolve(input.slice(used));
              return;
            }
            if (emitted) return;
          }
          // A fresh buffer each read: emitted views share it and may still be queued.
          const buffer = new Uint8Array(readSize);
          const n = await reader.read(buffer);
          if (cancelled) return;
          if (n === null) {
            decoder.finish(); // throws: the connection closed before the EOF
            controller.close();
            end.resolve(new Uint8Array(0));
            return;
          }
          pending = buffer.subarray(0, n);
        }
      } catch (error) {
        end.reject(error);
        throw error; // errors the stream
      }
    },
    cancel(reason) {
      cancelled = true;
      end.reject(reason);
    },
  }, { highWaterMark: 0 });
  return { readable, ended: end.promise };
}
