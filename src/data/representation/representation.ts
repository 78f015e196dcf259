/**
 * The representation stage of a transfer: TYPE × format control × STRU, between the stored
 * bytes and the *internal form* that the mode stage (stream, block, compressed, deflate) frames
 * for the wire.
 *
 * ## The contract between the stages
 *
 * The pipeline stays bytes in, bytes out:
 *
 * ```
 * RETR  storage ─▶ representationEncoder ─▶ internal form ─▶ mode encoder ─▶ wire
 * STOR  storage ◀─ representationDecoder ◀─ internal form ◀─ mode decoder ◀─ wire
 * ```
 *
 * **The internal form is exactly what stream mode would carry** for the same TYPE and STRU:
 *
 * - STRU F: the data in its transfer representation (ASCII with CRLF, EBCDIC with NL, image
 *   bytes); the end of the stream is the end of the file.
 * - STRU R: RFC 959 §3.4.1's record encoding in that representation: 0xFF 0x01 ends a record,
 *   0xFF 0x02 ends the file (0xFF 0x03 both), 0xFF 0xFF is a data byte 0xFF.
 *
 * So MODE S is the identity in both structures, and only block and compressed mode need to
 * know the structure: with STRU R their encoders turn the escapes into EOR/EOF descriptors and
 * their decoders turn descriptors back into escapes; with STRU F they pass every byte as data.
 * MODE Z deflates the internal form as it is, escapes and all (it is stream mode, compressed).
 * A representation never needs to know the mode, and a mode never needs to know the code page.
 * (The alternative, an out-of-band record channel, would have made every stage generic over a
 * chunk type and stream mode no longer free; the escape costs one byte per record and per
 * 0xFF, and only in the rare STRU R transfers.)
 *
 * Restart markers cross the boundary out of band: the encoder offers clean cuts to a
 * `CheckpointQueue` and the decoder answers `locate()`, both in storage offsets (see
 * `../mode/restart.ts`).
 *
 * ## What each combination does
 *
 * | TYPE     | STRU F (stored → wire)                 | STRU R                               |
 * | -------- | -------------------------------------- | ------------------------------------ |
 * | A N/T    | LF → CRLF                              | a line is a record                   |
 * | A C      | ASA lines, CRLF                        | ASA: a line is a record              |
 * | E N/T    | UTF-8 → EBCDIC, LF → NL                | EBCDIC, a line is a record           |
 * | E C      | ASA, then EBCDIC with NL               | ASA, EBCDIC, a line is a record      |
 * | I, L 8   | identity (no stage needed)             | RDW records (or the file is one)     |
 *
 * Format control T passes Telnet format effectors (CR, LF, VT, FF) through as data, which is
 * what N does too: the two differ only in what a printer makes of the file, not in its bytes.
 *
 * @module
 */

import type { CheckpointQueue } from "../mode/restart.ts";
import { CrlfToLf, LfToCrlf } from "./ascii.ts";
import { AsaDecoder, AsaEncoder } from "./asa.ts";
import { EBCDIC_NL, EbcdicToUtf8, Utf8ToEbcdic } from "./ebcdic.ts";
import type { CodePage } from "./ebcdic_tables.ts";
import {
  FileToRecord,
  LinesToRecords,
  RdwToRecords,
  RecordsToLines,
  RecordsToRdw,
  RecordToFile,
} from "./records.ts";
import { Chain, concat, type Stage } from "./stage.ts";

/** TYPE: A, E, or I (TYPE L 8 is I). */
export type RepresentationType = "ascii" | "ebcdic" | "image";
/** The format control of TYPE A and E: N, T or C. */
export type FormatControl = "non-print" | "telnet" | "asa";
/** STRU: F or R. */
export type Structure = "file" | "record";
/** How a binary file holds records (TYPE I with STRU R): see `records.ts`. */
export type BinaryRecords = "rdw" | "single";

/** The transfer parameters a representation depends on. */
export interface RepresentationOptions {
  type: RepresentationType;
  /** Ignored for image. @default "non-print" */
  format?: FormatControl;
  /** @default "file" */
  structure?: Structure;
  /** For TYPE E. @default "037" */
  codePage?: CodePage;
  /** For TYPE I with STRU R. @default "rdw" */
  binaryRecords?: BinaryRecords;
}

/** Counts for the transfer log. */
export interface RepresentationStats {
  /** Characters that became SUB (TYPE E: no EBCDIC code, or malformed UTF-8). */
  substituted: number;
  /** ASA records without a valid control character (stored as single space). */
  invalidControls: number;
}

/** Options of {@linkcode RepresentationEncoder}. */
export interface EncoderOptions extends RepresentationOptions {
  /** Receives clean cuts for restart markers (block and compressed mode only). */
  checkpoints?: CheckpointQueue;
  /** Offer a clean cut about every this many stored bytes. @default 65536 */
  checkpointInterval?: number;
  /** Storage offset of the first byte (after REST). @default 0 */
  startOffset?: number;
}

/** Options of {@linkcode RepresentationDecoder}. */
export interface DecoderOptions extends RepresentationOptions {
  /** Storage offset of the first byte written (after REST). @default 0 */
  startOffset?: number;
}

const LF = 0x0a;

/**
 * True when the representation changes nothing (TYPE I or L 8 with STRU F): the transfer can
 * skip the stage and keep its raw fast path.
 *
 * @example
 * ```ts
 * import { isIdentity } from "./representation.ts";
 * isIdentity({ type: "image" }); // true
 * isIdentity({ type: "ascii" }); // false
 * ```
 */
export function isIdentity(options: RepresentationOptions): boolean {
  return options.type === "image" && (options.structure ?? "file") === "file";
}

function newStats(): RepresentationStats {
  return { substituted: 0, invalidControls: 0 };
}

function encoderStages(options: RepresentationOptions, stats: RepresentationStats): Stage[] {
  const record = options.structure === "record";
  if (options.type === "image") {
    if (!record) return [];
    return [options.binaryRecords === "single" ? new FileToRecord() : new RdwToRecords()];
  }
  const stages: Stage[] = [];
  if (options.format === "asa") stages.push(new AsaEncoder());
  if (options.type === "ebcdic") {
    stages.push(new Utf8ToEbcdic(options.codePage ?? "037", stats));
    if (record) stages.push(new LinesToRecords(EBCDIC_NL));
  } else {
    stages.push(record ? new LinesToRecords(LF) : new LfToCrlf());
  }
  return stages;
}

function decoderStages(options: DecoderOptions, stats: RepresentationStats): Stage[] {
  const record = options.structure === "record";
  if (options.type === "image") {
    if (!record) return [];
    return [options.binaryRecords === "single" ? new RecordToFile() : new RecordsToRdw()];
  }
  const stages: Stage[] = [];
  if (options.type === "ebcdic") {
    if (record) stages.push(new RecordsToLines(EBCDIC_NL));
    stages.push(new EbcdicToUtf8(options.codePage ?? "037"));
  } else {
    stages.push(record ? new RecordsToLines(LF) : new CrlfToLf());
  }
  if (options.format === "asa") stages.push(new AsaDecoder(stats, (options.startOffset ?? 0) > 0));
  return stages;
}

/**
 * Stored bytes → internal form (for RETR). `stats` fills in as the transfer runs.
 *
 * @example
 * ```ts
 * import { RepresentationEncoder } from "./representation.ts";
 * const encoder = new RepresentationEncoder({ type: "ebcdic", structure: "record" });
 * const bytes = await new Response(new Blob(["AB\n"]).stream().pipeThrough(encoder)).bytes();
 * // [0xc1, 0xc2, 0xff, 0x01, 0xff, 0x02]: "AB" in EBCDIC, end of record, end of file
 * ```
 */
export class RepresentationEncoder extends TransformStream<Uint8Array, Uint8Array> {
  readonly stats: RepresentationStats;

  constructor(options: EncoderOptions) {
    const stats = newStats();
    const stages = encoderStages(options, stats);
    const chain = new Chain(stages);
    const queue = options.checkpoints;
    const interval = Math.max(1, options.checkpointInterval ?? 65536);
    let storage = options.startOffset ?? 0;
    let internal = 0;
    let next = storage + interval;
    const rdw = stages.find((stage) => stage instanceof RdwToRecords);
    /** Where to look for the next clean cut once the interval has passed. */
    const nextTry = (chunk: Uint8Array, from: number): number => {
      if (rdw) return Math.min(chunk.length, from + Math.max(1, rdw.untilBoundary));
      const lineEnd = chunk.indexOf(LF, from);
      return lineEnd === -1 ? chunk.length : lineEnd + 1;
    };
    super({
      transform(chunk, controller) {
        if (!queue) {
          const out = chain.push(chunk);
          if (out.length > 0) controller.enqueue(out);
          return;
        }
        const parts: Uint8Array[] = [];
        let from = 0;
        while (from < chunk.length) {
          const to = storage < next
            ? Math.min(chunk.length, from + (next - storage))
            : nextTry(chunk, from);
          const out = chain.push(chunk.subarray(from, to));
          if (out.length > 0) parts.push(out);
          internal += out.length;
          storage += to - from;
          from = to;
          if (storage >= next && chain.clean) {
            queue.offer(internal, storage);
            next = storage + interval;
          }
        }
        const out = concat(parts);
        if (out.length > 0) controller.enqueue(out);
      },
      flush(controller) {
        const out = chain.flush();
        if (out.length > 0) controller.enqueue(out);
      },
    });
    this.stats = stats;
  }
}

interface Locate {
  offset: number;
  resolve: (storage: number | null) => void;
}

/**
 * Internal form → stored bytes (for STOR, APPE, STOU). `stats` fills in as the transfer runs;
 * {@linkcode RepresentationDecoder.locate} maps a client's restart marker to a storage offset.
 *
 * @example
 * ```ts
 * import { RepresentationDecoder } from "./representation.ts";
 * const decoder = new RepresentationDecoder({ type: "ascii", format: "asa" });
 * const text = await new Response(
 *   new Blob([" one\r\n0two\r\n1three\r\n"]).stream().pipeThrough(decoder),
 * ).text(); // "one\n\ntwo\n\fthree\n"
 * ```
 */
export class RepresentationDecoder extends TransformStream<Uint8Array, Uint8Array> {
  readonly stats: RepresentationStats;
  readonly #locate: (offset: number) => Promise<number | null>;

  constructor(options: DecoderOptions) {
    const stats = newStats();
    const chain = new Chain(decoderStages(options, stats));
    const start = options.startOffset ?? 0;
    let internal = 0;
    let storage = start;
    const waiting: Locate[] = [];
    const answer = (request: Locate) => request.resolve(chain.clean ? storage : null);
    const settleAll = () => {
      for (const request of waiting.splice(0)) request.resolve(null);
    };
    super({
      transform(chunk, controller) {
        try {
          let from = 0;
          const parts: Uint8Array[] = [];
          while (waiting.length > 0 && waiting[0].offset <= internal + (chunk.length - from)) {
            const request = waiting.shift()!;
            const to = from + (request.offset - internal);
            const out = chain.push(chunk.subarray(from, to));
            if (out.length > 0) parts.push(out);
            storage += out.length;
            internal += to - from;
            from = to;
            answer(request);
          }
          const out = chain.push(from === 0 ? chunk : chunk.subarray(from));
          if (out.length > 0) parts.push(out);
          storage += out.length;
          internal += chunk.length - from;
          const joined = concat(parts);
          if (joined.length > 0) controller.enqueue(joined);
        } catch (error) {
          settleAll();
          throw error;
        }
      },
      flush(controller) {
        while (waiting.length > 0 && waiting[0].offset === internal) answer(waiting.shift()!);
        settleAll();
        const out = chain.flush();
        if (out.length > 0) controller.enqueue(out);
      },
      cancel() {
        settleAll();
      },
    });
    this.stats = stats;
    this.#locate = (offset) => {
      if (offset < internal) return Promise.resolve(null);
      if (offset === internal && waiting.length === 0) {
        return Promise.resolve(chain.clean ? storage : null);
      }
      return new Promise((resolve) => {
        const request = { offset, resolve };
        let at = waiting.length;
        while (at > 0 && waiting[at - 1].offset > offset) at--;
        waiting.splice(at, 0, request);
      });
    };
  }

  /**
   * The storage offset at which a fresh decoder would resume exactly after `offset` bytes of
   * internal-form data, once the decoder has got that far; null where that point is no clean
   * cut, or if the data never gets there.
   */
  locate(offset: number): Promise<number | null> {
    return this.#locate(offset);
  }
}
