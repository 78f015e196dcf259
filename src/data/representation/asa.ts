/**
 * Format control C: ASA (FORTRAN) carriage control, RFC 959 §3.1.1.5.2.
 *
 * On the wire every line (or record) starts with a control character that says how to move
 * the paper *before* printing the rest. On disk ftpgate keeps the printed layout as plain text,
 * the way POSIX `asa(1)` renders it, so that `cat`, `less` and `lpr` show the page:
 *
 * | control | meaning            | stored text before the line's content          |
 * | ------- | ------------------ | ---------------------------------------------- |
 * | space   | single space       | nothing                                        |
 * | `0`     | double space       | one empty line (LF)                            |
 * | `-`     | triple space       | two empty lines (LF LF)                        |
 * | `1`     | new page           | a form feed (FF)                               |
 * | `+`     | overprint          | the previous line ends with CR instead of LF   |
 *
 * Every line of stored text ends with LF, except one followed by an overprint line (CR) and a
 * last line without a line end (kept so). A first record with `+` has nothing to overprint and
 * is stored like a space. Any other control character, or a record too short to have one, is
 * stored like a space and counted in `stats.invalidControls`.
 *
 * Sending is the exact inverse ({@linkcode AsaEncoder}): stored text → ASA → stored text gives
 * back the same bytes for any file. The other way an ASA file comes back in normal form: blank
 * lines before a line use `0`/`-` (so a record that is only a space control followed by
 * a `0` line comes back as one `-` line); a file already in that form comes back unchanged.
 *
 * Restarting an upload: between two records the decoder holds the first one's line end (the
 * next control decides between LF and CR), so the storage offset of a restart point excludes
 * it, and a decoder resumed there (`resumed`, which the representation decoder sets for a start
 * offset above zero) begins by writing it.
 *
 * Both stages work on the stored (UTF-8) side, before the EBCDIC/ASCII conversion, and only look
 * at LF, CR and FF, which never occur inside a UTF-8 sequence.
 *
 * @module
 */

import { ByteBuffer } from "./bytes.ts";
import { EMPTY, type Stage } from "./stage.ts";

const LF = 0x0a;
const CR = 0x0d;
const FF = 0x0c;
const SPACE = 0x20;
const ZERO = 0x30; // "0"
const ONE = 0x31; // "1"
const MINUS = 0x2d; // "-"
const PLUS = 0x2b; // "+"

/**
 * Empty lines held back at most: only the last two of a run can still become the control
 * character of the next line (`-`), so beyond that the run is written out as ` ` records as it
 * goes. A file of blank lines otherwise sits in memory whole (and twice over, as records).
 */
const MAX_HELD_BLANKS = 4096;

/** Counts the ASA decoder keeps for the transfer log. */
export interface AsaStats {
  /** Records whose first character is no ASA control (stored as if it were a space). */
  invalidControls: number;
}

/** Stored text → ASA lines (LF-terminated; the next stage makes them CRLF, NL or records). */
export class AsaEncoder implements Stage {
  #atLineStart = true;
  /** Empty LF-terminated lines seen and not yet written (they become `0`, `-` or ` ` lines). */
  #blank = 0;
  /** The previous line ended with CR: the next line is an overprint. */
  #overprint = false;

  push(input: Uint8Array): Uint8Array {
    if (input.length === 0) return EMPTY;
    const out = new ByteBuffer(input.length + input.length / 8 + 8);
    const n = input.length;
    let i = 0;
    while (i < n) {
      if (this.#atLineStart) {
        const byte = input[i];
        if (this.#overprint) {
          this.#overprint = false;
          out.byte(PLUS); // the byte is content
        } else if (byte === LF) {
          if (++this.#blank > MAX_HELD_BLANKS) {
            // Keep two: the next line may still take them as its `-`.
            this.#writeBlankRecords(out, this.#blank - 2);
            this.#blank = 2;
          }
          i++;
          continue;
        } else if (byte === FF) {
          this.#writeBlankRecords(out, this.#blank);
          this.#blank = 0;
          out.byte(ONE); // the form feed is the control character
          i++;
        } else {
          this.#writeControl(out); // the byte is content
        }
        this.#atLineStart = false;
      }
      // The content up to the line end, in one copy.
      let end = i;
      while (end < n && input[end] !== LF && input[end] !== CR) end++;
      if (end > i) out.append(input, i, end);
      if (end === n) break;
      out.byte(LF);
      this.#atLineStart = true;
      if (input[end] === CR) this.#overprint = true;
      i = end + 1;
    }
    return out.view();
  }

  flush(): Uint8Array {
    const out = new ByteBuffer(this.#blank * 2 + 1);
    if (this.#atLineStart) {
      // A file that ends with CR: an empty overprint line without a line end.
      if (this.#overprint) out.byte(PLUS);
      this.#writeBlankRecords(out, this.#blank);
    }
    this.#blank = 0;
    this.#overprint = false;
    this.#atLineStart = true;
    return out.view();
  }

  get clean(): boolean {
    return this.#atLineStart && this.#blank === 0 && !this.#overprint;
  }

  /** The control character for a line after `#blank` empty lines. */
  #writeControl(out: ByteBuffer): void {
    const blank = this.#blank;
    this.#blank = 0;
    if (blank === 0) return out.byte(SPACE);
    if (blank === 1) return out.byte(ZERO);
    this.#writeBlankRecords(out, blank - 2);
    out.byte(MINUS);
  }

  /** Empty lines as records of a space control and no content. */
  #writeBlankRecords(out: ByteBuffer, count: number): void {
    for (let i = 0; i < count; i++) {
      out.byte(SPACE);
      out.byte(LF);
    }
  }
}

/** ASA lines (LF-terminated) → stored text. */
export class AsaDecoder implements Stage {
  readonly stats: AsaStats;
  #atLineStart = true;
  #first = true;
  /** The previous line's end, written once the next control shows whether it is CR or LF. */
  #heldLineEnd = false;
  #resumed = false;
  /** Some output was written. */
  #wrote = false;

  /**
   * @param resumed the decoder continues a file after a line whose line end is still held (a
   *   restart at an offset that `clean` vouched for): it begins by writing that line end.
   */
  constructor(stats: AsaStats = { invalidControls: 0 }, resumed = false) {
    this.stats = stats;
    if (resumed) {
      this.#first = false;
      this.#heldLineEnd = true;
      this.#resumed = true;
    }
  }

  push(input: Uint8Array): Uint8Array {
    if (input.length === 0) return EMPTY;
    const out = new ByteBuffer(input.length + input.length / 4 + 8);
    const n = input.length;
    for (let i = 0; i < n; i++) {
      if (!this.#atLineStart) {
        // The content up to the line end, in one copy.
        const lineEnd = input.indexOf(LF, i);
        const end = lineEnd === -1 ? n : lineEnd;
        if (end > i) out.append(input, i, end);
        if (lineEnd === -1) break;
        this.#atLineStart = true;
        this.#heldLineEnd = true;
        i = lineEnd;
        continue;
      }
      const byte = input[i];
      // The control character of a record.
      const overprint = byte === PLUS && !this.#first;
      if (this.#heldLineEnd) out.byte(overprint ? CR : LF);
      this.#heldLineEnd = false;
      this.#first = false;
      switch (byte) {
        case SPACE:
        case PLUS:
          break;
        case ZERO:
          out.byte(LF);
          break;
        case MINUS:
          out.byte(LF);
          out.byte(LF);
          break;
        case ONE:
          out.byte(FF);
          break;
        case LF:
          // A record with no control character at all: an empty line.
          this.stats.invalidControls++;
          this.#heldLineEnd = true;
          continue;
        default:
          this.stats.invalidControls++;
      }
      this.#atLineStart = false;
    }
    if (out.length > 0) this.#wrote = true;
    return out.view();
  }

  flush(): Uint8Array {
    const held = this.#heldLineEnd;
    this.#heldLineEnd = false;
    this.#atLineStart = true;
    return held ? new Uint8Array([LF]) : EMPTY;
  }

  /**
   * At the start of the file, and between records: there the previous line's end is held, and
   * a decoder made with `resumed` continues exactly (inside a record is no restart point).
   */
  get clean(): boolean {
    // A restart offset above zero is what tells a resumed decoder that a line end is held, so a
    // held line end with nothing written before it (offset 0) is no restart point.
    return this.#atLineStart && (this.#first || this.#wrote || this.#resumed);
  }
}
