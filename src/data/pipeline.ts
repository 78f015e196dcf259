/**
 * The transfer pipeline, from the session's TYPE, STRU and MODE: a representation stage next to
 * the storage (ASCII and EBCDIC text, ASA carriage control, records) and a mode stage next to
 * the wire (stream, block, compressed, deflate). ftpserverlib draws the same line:
 * representation on the file side, mode on the connection side.
 *
 * What nearly every transfer uses is here: TYPE I and L 8 move bytes between the storage stream
 * and the raw connection with no stream machinery in between (the fast path), and TYPE A N/T
 * converts line ends with the small TransformStreams of `ascii.ts` (ASCII is the default TYPE
 * of many clients: it must not wait for a module load, nor need a permission). Everything else
 * — TYPE E, ASA, STRU R, MODE B, C and Z — is built by `codecs.ts`, loaded on its first use
 * (src/app/lazy.ts), so that a start does not load two dozen codec modules that most sessions
 * never need.
 *
 * Restart offsets: in stream mode a text type's REST counts bytes as transmitted (RFC 3659 §5),
 * which ftpgate serves for TYPE A with file structure (`ascii_offset.ts`); block, compressed and
 * deflate mode restart at stored-byte offsets, the text of ftpgate's restart markers.
 *
 * @module
 */

import { loadPart } from "../app/lazy.ts";
import { prepend, readerStream } from "../io.ts";
import { fromNetworkAscii, toNetworkAscii } from "./ascii.ts";
import type { PipelineIo, PipelineOutcome, TransferParameters } from "./pipeline_io.ts";

export type { PipelineIo, PipelineOutcome, TransferParameters } from "./pipeline_io.ts";

type Codecs = typeof import("./codecs.ts");
let codecs: Promise<Codecs> | undefined;

/** The codec transfers, loaded once (a failed load is tried again on the next transfer). */
function loadCodecs(): Promise<Codecs> {
  codecs ??= loadPart<Codecs>("codecs").catch((error) => {
    codecs = undefined;
    throw error;
  });
  return codecs;
}

/**
 * Whether the parameters need no codec: stream mode, file structure (a listing, whose
 * representation is null, is one stream whatever STRU says), and TYPE I, L 8 or A N/T.
 */
function plain(parameters: SessionParameters): "image" | "ascii" | null {
  const { representation, structure, mode } = parameters;
  if (mode !== "S") return null;
  if (representation === null) return "image";
  if (structure !== "F") return null;
  const { type, format, byteSize } = representation;
  if (type === "I" || (type === "L" && byteSize === 8)) return "image";
  if (type === "A" && format !== "C") return "ascii";
  return null;
}

/** TYPE, STRU and MODE: what decides whether a transfer needs a codec. */
type SessionParameters = Pick<TransferParameters, "representation" | "structure" | "mode">;

/**
 * Starts loading the codecs as soon as the session's TYPE, STRU and MODE need them (called by
 * those commands), so that the first such transfer does not wait for the load (about 10 ms);
 * a failure to load is reported by that transfer.
 *
 * @example
 * ```ts ignore
 * prepare(ctx.state); // after MODE B
 * ```
 */
export function prepare(parameters: SessionParameters): void {
  if (plain(parameters) === null) loadCodecs().catch(() => {});
}

/**
 * Sends `source` (stored bytes) to the data connection in the representation and mode of
 * `parameters`.
 *
 * @example
 * ```ts ignore
 * await send(spec, file.readable, io); // RETR
 * ```
 */
export async function send(
  parameters: TransferParameters,
  source: ReadableStream<Uint8Array>,
  io: PipelineIo,
): Promise<PipelineOutcome> {
  const kind = plain(parameters);
  if (kind === null) return (await loadCodecs()).send(parameters, source, io);
  let stream = kind === "ascii" ? source.pipeThrough(toNetworkAscii()) : source;
  const skip = parameters.skip ?? 0;
  if (skip > 0) {
    const { skipBytes } = await loadPart<typeof import("./ascii_offset.ts")>("asciiOffset");
    stream = stream.pipeThrough(skipBytes(skip));
  }
  await io.pump(stream, io.connection);
  return { keepsConnection: false, substituted: 0 };
}

/** Receives a file from the data connection into `sink` (stored bytes). */
export async function receive(
  parameters: TransferParameters,
  sink: WritableStream<Uint8Array>,
  io: PipelineIo,
): Promise<PipelineOutcome> {
  const kind = plain(parameters);
  if (kind === null) return (await loadCodecs()).receive(parameters, sink, io);
  // Stream mode reads the connection to its end.
  let stored: number;
  if (kind === "image" && !io.initial?.length) {
    stored = await io.pump(io.connection, sink);
  } else {
    let source = readerStream(io.connection);
    if (io.initial?.length) source = prepend(io.initial, source);
    if (kind === "ascii") source = source.pipeThrough(fromNetworkAscii(parameters.resumeAfterCR));
    stored = await io.pump(source, sink);
  }
  return { keepsConnection: false, substituted: 0, stored };
}
