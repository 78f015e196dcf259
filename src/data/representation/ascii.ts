/**
 * TYPE A (ASCII) line ends, LF ↔ CRLF (RFC 959 §3.1.1.1), as stages for the representation
 * pipeline. They convert exactly as `../ascii.ts` does (its TransformStreams stay what stream
 * transfers use), and add what the pipeline needs: `clean` for restart points.
 *
 * @module
 */

import { EMPTY, type Stage } from "./stage.ts";

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
  #heldCR: boolean;

  /** @param startAfterCR the stored data before this point ended with a CR (a resumed upload). */
  constructor(startAfterCR = false) {
    this.#heldCR = startAfterCR;
  }

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
