/**
 * The transfer pipeline's stages, from the session's TYPE, STRU and MODE: a representation stage
 * next to the storage (ASCII line ends today; EBCDIC and records next) and a mode stage next to
 * the wire (stream mode is the identity; block and deflate next). ftpserverlib draws the same
 * line: representation on the file side, mode on the connection side.
 *
 * When both stages are the identity, a transfer moves bytes between the storage stream and the
 * raw connection with no stream machinery in between: the fast path for TYPE I, MODE S.
 *
 * @module
 */

import { fromNetworkAscii, toNetworkAscii } from "./ascii.ts";
import { skipBytes } from "./ascii_offset.ts";
import type { Representation, Structure, TransmissionMode } from "./representation.ts";

/** What a transfer's bytes look like on either side. */
export interface TransferParameters {
  /** TYPE; null when the source is already in network form (a listing's CRLF lines). */
  representation: Representation | null;
  structure: Structure;
  mode: TransmissionMode;
  /**
   * Bytes of the transmitted representation to leave out at the start: REST in TYPE A counts
   * converted bytes (see `ascii_offset.ts`), so a download restarts after converting.
   */
  skip?: number;
  /** An ASCII upload resumes right after a CR (see `storedOffset`): a first LF ends that line. */
  resumeAfterCR?: boolean;
}

/** The stages of one transfer, in the direction of the bytes. */
export interface Stages {
  /** Storage side: stored bytes ↔ the representation on the wire. */
  representation: TransformStream<Uint8Array, Uint8Array> | null;
  /** Wire side: the transmission mode's framing. */
  mode: TransformStream<Uint8Array, Uint8Array> | null;
  /**
   * The data connection survives the transfer (a mode that marks the end of a file in-band,
   * MODE B, lets the next transfer reuse it). Stream mode marks the end by closing it.
   */
  keepsConnection: boolean;
}

/**
 * The stages for a download (`send`) or an upload (`receive`).
 *
 * @example
 * ```ts
 * import { buildStages } from "./pipeline.ts";
 * import { IMAGE } from "./representation.ts";
 * const stages = buildStages({ representation: IMAGE, structure: "F", mode: "S" }, "send");
 * stages.representation === null && stages.mode === null; // true: the raw fast path
 * ```
 */
export function buildStages(parameters: TransferParameters, direction: "send" | "receive"): Stages {
  let representation = representationStage(
    parameters.representation,
    direction,
    parameters.resumeAfterCR ?? false,
  );
  const skip = parameters.skip ?? 0;
  if (skip > 0 && direction === "send") {
    const skipper = skipBytes(skip);
    representation = representation === null ? skipper : {
      readable: representation.readable.pipeThrough(skipper),
      writable: representation.writable,
    };
  }
  return { representation, mode: null, keepsConnection: false };
}

function representationStage(
  representation: Representation | null,
  direction: "send" | "receive",
  afterCR: boolean,
): TransformStream<Uint8Array, Uint8Array> | null {
  if (representation === null || representation.type !== "A") return null;
  return direction === "send" ? toNetworkAscii() : fromNetworkAscii(afterCR);
}
