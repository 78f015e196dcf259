/**
 * The stages of one transfer for a TYPE × STRU × MODE, put together the one right way: the
 * representation next to storage, the mode next to the wire, one checkpoint queue between them
 * for restart markers, and (for block and compressed mode) a frame decoder that reads the data
 * connection itself so that it can stay open (see `frames.ts`).
 *
 * ```
 * send:     storage ─▶ stages[0] ─▶ … ─▶ wire          (pipeThrough each in turn)
 * receive:  wire ─▶ receiveFramed(conn, frames) ─▶ stages ─▶ storage      (block, compressed)
 *           conn.readable ─▶ stages ─▶ storage                             (stream, deflate)
 * ```
 *
 * @module
 */

import type {
  Representation,
  Structure as StructureCode,
  TransmissionMode,
} from "../representation.ts";
import type { CodePage } from "../representation/ebcdic_tables.ts";
import {
  type BinaryRecords,
  isIdentity,
  RepresentationDecoder,
  RepresentationEncoder,
  type RepresentationOptions,
  type RepresentationStats,
} from "../representation/representation.ts";
import { BlockDecoder, BlockEncoder } from "./block.ts";
import { CompressedDecoder, CompressedEncoder, fillerFor } from "./compressed.ts";
import { type BytePair, deflateEncoder, inflateDecoder } from "./deflate.ts";
import type { FrameDecoder } from "./frames.ts";
import { CheckpointQueue, type RestartMarker } from "./restart.ts";

/** MODE: S, B, C, or Z. */
export type TransferMode = "stream" | "block" | "compressed" | "deflate";

/** Everything the stages of a transfer depend on. */
export interface PipelineOptions extends RepresentationOptions {
  mode: TransferMode;
  /** MODE Z compression level, 0–9. @default 6 */
  level?: number;
  /**
   * Block and compressed mode, sending: data bytes at least between restart markers (the
   * server's `--restart-marker-interval`); 0 sends none. @default 0
   */
  restartInterval?: number;
  /** The REST offset of this transfer, in stored bytes. @default 0 */
  startOffset?: number;
}

/** The stages of a sending transfer (RETR, LIST, NLST, MLSD). */
export interface SendPipeline {
  /** Stored bytes in, wire bytes out; empty for TYPE I, STRU F, MODE S (the raw fast path). */
  readonly stages: BytePair[];
  /** SUB and ASA counts for the log; null without a representation stage. */
  readonly stats: RepresentationStats | null;
  /** The file's end is in the data (block, compressed): the connection may stay open. */
  readonly keepsConnection: boolean;
}

/** The stages of a receiving transfer (STOR, APPE, STOU). */
export interface ReceivePipeline {
  /**
   * Block and compressed mode: the decoder to run with `receiveFramed(connection, frames)`;
   * null for stream and deflate mode, which read the connection to its end.
   */
  readonly frames: FrameDecoder | null;
  /** Applied after `frames` (or to the connection's bytes): ends in stored bytes. */
  readonly stages: BytePair[];
  readonly stats: RepresentationStats | null;
  /**
   * The storage offset a client's restart marker maps to (for `110 MARK`), from the marker's
   * offset in the decoded data; null where that is no clean cut.
   */
  locate(offset: number): Promise<number | null>;
}

/** Options of {@linkcode receivePipeline}. */
export interface ReceiveOptions {
  /** Each restart marker the client sends (block and compressed mode). */
  onMarker?: (marker: RestartMarker) => void;
}

/**
 * The stages for sending a file with these parameters.
 *
 * @example
 * ```ts
 * import { sendPipeline, through } from "./pipeline.ts";
 * const { stages } = sendPipeline({ type: "ebcdic", mode: "block", restartInterval: 1 << 20 });
 * const wire = through(new Blob(["AB\n"]).stream(), stages);
 * await new Response(wire).bytes(); // [0, 0, 3, 0xc1, 0xc2, 0x15, 64, 0, 0]
 * ```
 */
export function sendPipeline(options: PipelineOptions): SendPipeline {
  const stages: BytePair[] = [];
  const framed = options.mode === "block" || options.mode === "compressed";
  const interval = framed ? options.restartInterval ?? 0 : 0;
  const startOffset = options.startOffset ?? 0;
  let stats: RepresentationStats | null = null;
  let checkpoints: CheckpointQueue | undefined;
  if (!isIdentity(options)) {
    // Checkpoints only where a mode stage takes them: an undrained queue would just fill up.
    if (interval > 0) checkpoints = new CheckpointQueue();
    const encoder = new RepresentationEncoder({
      ...options,
      checkpoints,
      checkpointInterval: Math.max(1, Math.min(interval, 65536)),
      startOffset,
    });
    stats = encoder.stats;
    stages.push(encoder);
  }
  const restart = interval > 0 ? { interval, checkpoints, startOffset } : undefined;
  switch (options.mode) {
    case "block":
      stages.push(new BlockEncoder({ structure: options.structure, restart }));
      break;
    case "compressed":
      stages.push(
        new CompressedEncoder({
          filler: fillerFor(options.type),
          structure: options.structure,
          restart,
        }),
      );
      break;
    case "deflate":
      stages.push(deflateEncoder({ level: options.level }));
      break;
    case "stream":
      break;
  }
  return { stages, stats, keepsConnection: framed };
}

/**
 * The stages for receiving a file with these parameters.
 *
 * @example
 * ```ts
 * import { receivePipeline, through } from "./pipeline.ts";
 * import { FrameDecoderStream } from "./frames.ts";
 * const { frames, stages } = receivePipeline({ type: "ascii", mode: "block" });
 * const decoded = new Blob([new Uint8Array([64, 0, 4, 0x61, 0x0d, 0x0a, 0x62])]).stream()
 *   .pipeThrough(new FrameDecoderStream(frames!));
 * const stored = through(decoded, stages);
 * await new Response(stored).text(); // "a\nb"
 * ```
 */
export function receivePipeline(
  options: PipelineOptions,
  receive: ReceiveOptions = {},
): ReceivePipeline {
  const stages: BytePair[] = [];
  const { structure } = options;
  let frames: FrameDecoder | null = null;
  switch (options.mode) {
    case "block":
      frames = new BlockDecoder({ structure, onMarker: receive.onMarker });
      break;
    case "compressed":
      frames = new CompressedDecoder({
        filler: fillerFor(options.type),
        structure,
        onMarker: receive.onMarker,
      });
      break;
    case "deflate":
      stages.push(inflateDecoder());
      break;
    case "stream":
      break;
  }
  const startOffset = options.startOffset ?? 0;
  if (isIdentity(options)) {
    return {
      frames,
      stages,
      stats: null,
      locate: (offset) => Promise.resolve(startOffset + offset),
    };
  }
  const decoder = new RepresentationDecoder({ ...options, startOffset });
  stages.push(decoder);
  return { frames, stages, stats: decoder.stats, locate: (offset) => decoder.locate(offset) };
}

/**
 * Pipes `source` through each stage in turn.
 *
 * @example
 * ```ts
 * import { sendPipeline, through } from "./pipeline.ts";
 * const { stages } = sendPipeline({ type: "ascii", mode: "stream" });
 * await new Response(through(new Blob(["a\n"]).stream(), stages)).text(); // "a\r\n"
 * ```
 */
export function through(
  source: ReadableStream<Uint8Array>,
  stages: readonly BytePair[],
): ReadableStream<Uint8Array> {
  let stream = source;
  for (const stage of stages) stream = stream.pipeThrough(stage);
  return stream;
}

/** Site settings and per-transfer values that are not part of TYPE, STRU and MODE. */
export interface PipelineExtras {
  /** TYPE E code page (`--ebcdic-code-page`). @default "037" */
  codePage?: CodePage;
  /** TYPE I with STRU R (see `../representation/records.ts`). @default "rdw" */
  binaryRecords?: BinaryRecords;
  /** `OPTS MODE Z LEVEL n`. @default 6 */
  level?: number;
  /** `--restart-marker-interval`: block and compressed sends. @default 0 */
  restartInterval?: number;
  /** REST, in stored bytes. @default 0 */
  startOffset?: number;
}

/**
 * {@linkcode PipelineOptions} from the session's transfer parameters (`../representation.ts`).
 * A null representation is a listing, already in network form: only the mode applies. Throws a
 * RangeError for what the session refuses with 504 before any transfer: STRU P, and TYPE L with
 * a byte size other than 8.
 *
 * @example
 * ```ts
 * import { pipelineOptions } from "./pipeline.ts";
 * import { ASCII } from "../representation.ts";
 * pipelineOptions(ASCII, "R", "B").structure; // "record"
 * ```
 */
export function pipelineOptions(
  representation: Representation | null,
  structure: StructureCode,
  mode: TransmissionMode,
  extras: PipelineExtras = {},
): PipelineOptions {
  if (structure === "P") throw new RangeError("page structure has no codec");
  if (representation?.type === "L" && representation.byteSize !== 8) {
    throw new RangeError(`TYPE L ${representation.byteSize} has no codec`);
  }
  const type = representation === null
    ? "image"
    : representation.type === "A"
    ? "ascii"
    : representation.type === "E"
    ? "ebcdic"
    : "image";
  const format = representation?.format === "C"
    ? "asa"
    : representation?.format === "T"
    ? "telnet"
    : "non-print";
  const modes = { S: "stream", B: "block", C: "compressed", Z: "deflate" } as const;
  return {
    ...extras,
    type,
    format,
    // A listing is lines of CRLF text: in record structure it still travels as one stream.
    structure: structure === "R" && representation !== null ? "record" : "file",
    mode: modes[mode],
  };
}
