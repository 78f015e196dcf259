/**
 * MODE B for data the representation leaves alone (TYPE I or L 8 with STRU F, and listings), on
 * the pump's raw path: block headers around the file's bytes, restart markers every interval,
 * and the EOF flag on the last data block (RFC 959 §3.4.2 lets any block end the file), so that
 * a small file over a kept data connection is one write. `BlockEncoder` frames the same data
 * through a TransformStream, which cost a 4 KiB RETR about twice the CPU of stream mode, and
 * sends the end as an empty EOF block of its own.
 *
 * @module
 */

import type { Framer } from "../pump.ts";
import { BLOCK_EOF, BLOCK_MARKER, MAX_BLOCK } from "./block.ts";
import { MarkerSchedule, type RestartOptions } from "./markers.ts";

const encoder = new TextEncoder();
const EOF_BLOCK = new Uint8Array([BLOCK_EOF, 0, 0]);

/**
 * Frames a file's bytes as MODE B blocks for {@linkcode pump}'s raw path.
 *
 * @example
 * ```ts
 * import { FileBlockFramer } from "./file_blocks.ts";
 * const framer = new FileBlockFramer();
 * framer.frame(new TextEncoder().encode("hi"), true); // [64, 0, 2, 0x68, 0x69]
 * new FileBlockFramer().end(); // [64, 0, 0]: an empty file
 * ```
 */
export class FileBlockFramer implements Framer {
  readonly #markers: MarkerSchedule;
  /** Data bytes framed so far. */
  #offset = 0;

  /** `restart`: markers every `interval` data bytes, counted from `startOffset` (REST). */
  constructor(restart?: Omit<RestartOptions, "checkpoints">) {
    this.#markers = new MarkerSchedule(restart);
  }

  frame(chunk: Uint8Array, last: boolean): Uint8Array {
    const blocks = Math.ceil(chunk.length / MAX_BLOCK);
    let out = new Uint8Array(chunk.length + 3 * blocks);
    let length = 0;
    const put = (descriptor: number, bytes: Uint8Array) => {
      if (length + 3 + bytes.length > out.length) {
        const grown = new Uint8Array(Math.max(out.length * 2, length + 3 + bytes.length));
        grown.set(out.subarray(0, length));
        out = grown;
      }
      out[length] = descriptor;
      out[length + 1] = bytes.length >> 8;
      out[length + 2] = bytes.length & 0xff;
      out.set(bytes, length + 3);
      length += 3 + bytes.length;
    };
    let from = 0;
    while (from < chunk.length) {
      const at = this.#markers.next(this.#offset, this.#offset + chunk.length - from);
      const to = at === -1 ? chunk.length : from + (at - this.#offset);
      for (let i = from; i < to; i += MAX_BLOCK) {
        const end = Math.min(to, i + MAX_BLOCK);
        put(last && end === chunk.length ? BLOCK_EOF : 0, chunk.subarray(i, end));
      }
      this.#offset += to - from;
      from = to;
      if (at === -1) continue;
      const marker = this.#markers.take();
      // Not after the EOF block (the next bytes on the connection are the next file's): a
      // restart at the end of the file would have nothing left to send anyway.
      if (last && from === chunk.length) continue;
      put(BLOCK_MARKER, encoder.encode(marker));
    }
    return out.subarray(0, length);
  }

  end(): Uint8Array {
    return EOF_BLOCK;
  }
}
