/**
 * TYPE E (EBCDIC, RFC 959 §3.1.1.2): stored text (UTF-8, LF line ends) ↔ EBCDIC with NL (0x15)
 * line ends, for code pages 037 and 1047.
 *
 * - **Line ends.** RFC 959 says an EBCDIC line ends with NL. The IBM tables give NL (0x15) to
 *   U+0085 and LF (0x25) to U+000A; for FTP the two are swapped, as z/OS UNIX does it: stored LF
 *   becomes 0x15 and 0x15 becomes LF, while stored U+0085 (rare) becomes 0x25 and back. The
 *   mapping stays one-to-one, so a file of mappable characters round-trips byte for byte.
 * - **Unmappable characters.** A code point above U+00FF (the pages hold Latin-1 only) and every
 *   malformed UTF-8 sequence (as the WHATWG decoder splits them: one per maximal invalid
 *   subpart) become EBCDIC SUB (0x3F) and are counted in `stats.substituted`, for the log.
 *   The way back cannot fail: every EBCDIC byte has a code point (0x3F itself is U+001A SUB).
 * - **Chunks.** A UTF-8 sequence split across chunks is held until it completes.
 *
 * @module
 */

import { type CodePage, codePageTable } from "./ebcdic_tables.ts";
import { EMPTY, type Stage } from "./stage.ts";

/** EBCDIC NL: the end of a line in TYPE E. */
export const EBCDIC_NL = 0x15;
const EBCDIC_LF = 0x25;
/** EBCDIC SUB: what an unmappable character becomes. */
export const EBCDIC_SUB = 0x3f;
const LF = 0x0a;
const NEL = 0x85;

/** Counts a conversion keeps for the transfer log. */
export interface ConversionStats {
  /** Characters replaced by SUB because the target has no code for them. */
  substituted: number;
}

/** Unicode (U+0000..U+00FF) → EBCDIC byte, with the FTP line-end swap. */
function encodeTable(page: CodePage): Uint8Array {
  const table = new Uint8Array(256);
  codePageTable(page).forEach((codePoint, byte) => table[codePoint] = byte);
  table[LF] = EBCDIC_NL;
  table[NEL] = EBCDIC_LF;
  return table;
}

/** EBCDIC byte → Unicode code point, with the FTP line-end swap. */
function decodeTable(page: CodePage): Uint16Array {
  const table = Uint16Array.from(codePageTable(page));
  table[EBCDIC_NL] = LF;
  table[EBCDIC_LF] = NEL;
  return table;
}

const encodeTables = new Map<CodePage, Uint8Array>();
const decodeTables = new Map<CodePage, Uint16Array>();

/** Stored UTF-8 text → EBCDIC. */
export class Utf8ToEbcdic implements Stage {
  readonly stats: ConversionStats;
  readonly #table: Uint8Array;
  // WHATWG UTF-8 decoder state (Encoding Standard §4.1.1).
  #codePoint = 0;
  #needed = 0;
  #seen = 0;
  #lower = 0x80;
  #upper = 0xbf;

  constructor(page: CodePage = "037", stats: ConversionStats = { substituted: 0 }) {
    let table = encodeTables.get(page);
    if (!table) encodeTables.set(page, table = encodeTable(page));
    this.#table = table;
    this.stats = stats;
  }

  push(input: Uint8Array): Uint8Array {
    if (input.length === 0) return EMPTY;
    // Every input byte yields at most one output byte, plus one SUB for a sequence that an
    // earlier chunk began and this one breaks.
    const out = new Uint8Array(input.length + 1);
    const table = this.#table;
    const n = input.length;
    let o = 0;
    let i = 0;
    while (i < n) {
      let byte = input[i];
      if (this.#needed === 0) {
        // Fast path: a run of ASCII.
        while (byte < 0x80) {
          out[o++] = table[byte];
          if (++i === n) return out.subarray(0, o);
          byte = input[i];
        }
        i++;
        if (byte >= 0xc2 && byte <= 0xdf) {
          this.#needed = 1;
          this.#codePoint = byte & 0x1f;
        } else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) this.#lower = 0xa0;
          if (byte === 0xed) this.#upper = 0x9f; // no surrogates
          this.#needed = 2;
          this.#codePoint = byte & 0x0f;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) this.#lower = 0x90;
          if (byte === 0xf4) this.#upper = 0x8f; // nothing above U+10FFFF
          this.#needed = 3;
          this.#codePoint = byte & 0x07;
        } else {
          out[o++] = this.#substitute(); // a stray continuation byte, or never valid
        }
        continue;
      }
      if (byte < this.#lower || byte > this.#upper) {
        // The sequence is broken: it becomes one SUB, and this byte starts afresh.
        this.#reset();
        out[o++] = this.#substitute();
        continue;
      }
      i++;
      this.#lower = 0x80;
      this.#upper = 0xbf;
      this.#codePoint = (this.#codePoint << 6) | (byte & 0x3f);
      if (++this.#seen === this.#needed) {
        const codePoint = this.#codePoint;
        this.#reset();
        out[o++] = codePoint < 0x100 ? table[codePoint] : this.#substitute();
      }
    }
    return out.subarray(0, o);
  }

  flush(): Uint8Array {
    if (this.#needed === 0) return EMPTY;
    this.#reset();
    return new Uint8Array([this.#substitute()]);
  }

  get clean(): boolean {
    return this.#needed === 0;
  }

  #substitute(): number {
    this.stats.substituted++;
    return EBCDIC_SUB;
  }

  #reset(): void {
    this.#codePoint = 0;
    this.#needed = 0;
    this.#seen = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }
}

/** EBCDIC → stored UTF-8 text. Stateless: every byte is a restart point. */
export class EbcdicToUtf8 implements Stage {
  readonly #table: Uint16Array;

  constructor(page: CodePage = "037") {
    let table = decodeTables.get(page);
    if (!table) decodeTables.set(page, table = decodeTable(page));
    this.#table = table;
  }

  push(input: Uint8Array): Uint8Array {
    if (input.length === 0) return EMPTY;
    const out = new Uint8Array(input.length * 2);
    const table = this.#table;
    let o = 0;
    for (let i = 0; i < input.length; i++) {
      const codePoint = table[input[i]];
      if (codePoint < 0x80) {
        out[o++] = codePoint;
      } else {
        out[o++] = 0xc0 | (codePoint >> 6);
        out[o++] = 0x80 | (codePoint & 0x3f);
      }
    }
    return out.subarray(0, o);
  }

  flush(): Uint8Array {
    return EMPTY;
  }

  get clean(): boolean {
    return true;
  }
}
