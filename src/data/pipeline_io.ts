/**
 * What the transfer pipeline (`pipeline.ts`) and its codecs (`codecs.ts`, loaded on first use)
 * share: a transfer's parameters, the I/O it moves bytes with, and what it reports back.
 *
 * @module
 */

import type { CountingConnection } from "./counting.ts";
import type { Framer } from "./pump.ts";
import type { CodePage } from "./representation/ebcdic_tables.ts";
import type { Representation, Structure, TransmissionMode } from "./representation.ts";

/** What a transfer's bytes look like on either side. */
export interface TransferParameters {
  /** TYPE; null when the source is already in network form (a listing's CRLF lines). */
  representation: Representation | null;
  structure: Structure;
  mode: TransmissionMode;
  /**
   * Bytes of the transmitted representation to leave out at the start: REST in TYPE A, stream
   * mode, counts converted bytes (see `ascii_offset.ts`), so a download restarts after
   * converting.
   */
  skip?: number;
  /** An ASCII upload resumes right after a CR (see `storedOffset`): a first LF ends that line. */
  resumeAfterCR?: boolean;
  /** REST in stored bytes, for block, compressed and deflate mode (and their markers). */
  storedOffset?: number;
  /** TYPE E code page. Default 037. */
  codePage?: CodePage;
  /** MODE Z deflate level (OPTS MODE Z LEVEL n). Default 6. */
  deflateLevel?: number;
  /** MODE B and C downloads: stored bytes between restart markers; 0 sends none. */
  restartInterval?: number;
}

/** How a transfer moved its bytes, for the log. */
export interface PipelineOutcome {
  /** The mode marked the end in-band (MODE B, C): the connection stays open (reply 250). */
  keepsConnection: boolean;
  /** Bytes read after a received file's end marker: they belong to the next transfer. */
  leftover?: Uint8Array;
  /** TYPE E characters that had no code (sent as SUB). */
  substituted: number;
  /** Bytes written to storage (uploads). */
  stored?: number;
}

/** What moving bytes needs from the transfer. */
export interface PipelineIo {
  /** The data connection, counted. */
  connection: CountingConnection;
  /** Bytes already read from a kept connection (the last transfer's leftover). */
  initial?: Uint8Array;
  /**
   * Moves bytes from a source to a sink (the transfer's pump, with its cancellation); an
   * upload's sink is committed only once `beforeClose` resolves.
   */
  pump(
    source: ReadableStream<Uint8Array> | CountingConnection,
    sink: WritableStream<Uint8Array> | CountingConnection,
    onChunk?: (bytes: number) => void,
    framer?: Framer,
  ): Promise<number>;
  /** Sends a `110 MARK` reply (block and compressed uploads). */
  mark(text: string): void;
}
