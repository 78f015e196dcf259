/**
 * TYPE A (ASCII) conversion between the local newline (LF) and the network's CRLF
 * (RFC 959 §3.1.1.1), as stages and as TransformStreams that carry state across chunk
 * boundaries.
 *
 * @module
 */

import { EMPTY, type Stage } from "./stage.ts";
import { stageStream } from "./stream.ts";

const CR = 0x0d;
const LF = 0x0a;

/**
 * LF → CRLF. An LF already preceded by CR is left alone, so a file that already has CRLF line
 * ends is not turned into CR CR LF.
 */
export class LfToCrlf implements Stage {
  #previous = 0;

  push(chunk: Uint8Array): Uint8Array {
    let lineFeeds = 0;
    let before = this.#previous;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === LF && before !== CR) lineFeeds++;
      before = byte;
    }
    if (lineFeeds === 0) {
      if (chunk.length > 0) this.#previous = before;
      return chunk;
    }
    const out = new Uint8Array(chunk.length + lineFeeds);
    let o = 0;
    before = this.#previous;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === LF && before !== CR) out[o++] = CR;
      out[o++] = byte;
      before = byte;
    }
    this.#previous = before;
    return out;
  }

  flush(): Uint8Array {
    return EMPTY;
  }

  /** After a CR the next LF is treated differently, so that is no restart point. */
  get clean(): boolean {
    return this.#previous !== CR;
  }
}

/**
 * CRLF → LF. A CR that ends a chunk is held back until the next chunk shows whether an LF
 * follows; a lone CR is kept.
 */
export class CrlfToLf implements Stage {
  #heldCR = false;

  push(chunk: Uint8Array): Uint8Array {
    if (chunk.length === 0) return EMPTY;
    const out = new Uint8Array(chunk.length + 1);
    let o = 0;
    if (this.#heldCR) {
      this.#heldCR = false;
      if (chunk[0] !== LF) out[o++] = CR;
    }
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === CR) {
        if (i === chunk.length - 1) {
          this.#heldCR = true;
          continue;
        }
        if (chunk[i + 1] === LF) continue;
      }
      out[o++] = byte;
    }
    return out.subarray(0, o);
  }

  flush(): Uint8Array {
    if (!this.#heldCR) return EMPTY;
    this.#heldCR = false;
    return new Uint8Array([CR]);
  }

  get clean(): boolean {
    return !this.#heldCR;
  }
}

/**
 * LF → CRLF for sending.
 *
 * @example
 * ```ts
 * import { toNetworkAscii } from "./ascii.ts";
 * const out = await new Response(
 *   new Blob(["a\nb\r\n"]).stream().pipeThrough(toNetworkAscii()),
 * ).text(); // "a\r\nb\r\n"
 * ```
 */
export function toNetworkAscii(): TransformStream<Uint8Array, Uint8Array> {
  return stageStream(new LfToCrlf());
}

/**
 * CRLF → LF for receiving.
 *
 * @example
 * ```ts
 * import { fromNetworkAscii } from "./ascii.ts";
 * const out = await new Response(
 *   new Blob(["a\r\nb\r"]).stream().pipeThrough(fromNetworkAscii()),
 * ).text(); // "a\nb\r"
 * ```
 */
export function fromNetworkAscii(): TransformStream<Uint8Array, Uint8Array> {
  return stageStream(new CrlfToLf());
}
