/**
 * The transfer pipeline's stages, from the session's TYPE, STRU and MODE: a representation stage
 * next to the storage (ASCII and EBCDIC text, ASA carriage control, records) and a mode stage
 * next to the wire (stream, block, compressed, deflate), built by the codecs in
 * `representation/` and `mode/`. ftpserverlib draws the same line: representation on the file
 * side, mode on the connection side.
 *
 * When every stage is the identity (TYPE I, STRU F, MODE S), a transfer moves bytes between the
 * storage stream and the raw connection with no stream machinery in between: the fast path.
 *
 * Restart offsets: in stream mode a text type's REST counts bytes as transmitted (RFC 3659 §5),
 * which ftpgate serves for TYPE A with file structure (`ascii_offset.ts`); block, compressed and
 * deflate mode restart at stored-byte offsets, the text of ftpgate's restart markers.
 *
 * @module
 */

import { fromNetworkAscii } from "./ascii.ts";
import { skipBytes } from "./ascii_offset.ts";
import type { CountingConnection } from "./counting.ts";
import { readerStream } from "../io.ts";
import {
  MarkReplies,
  pipelineOptions,
  receiveFramed,
  receivePipeline,
  sendPipeline,
  through,
} from "./mode/mod.ts";
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
  ): Promise<number>;
  /** Sends a `110 MARK` reply (block and compressed uploads). */
  mark(text: string): void;
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
  const pipeline = sendPipeline(
    pipelineOptions(parameters.representation, parameters.structure, parameters.mode, {
      ...(parameters.codePage ? { codePage: parameters.codePage } : {}),
      ...(parameters.deflateLevel === undefined ? {} : { level: parameters.deflateLevel }),
      restartInterval: parameters.restartInterval ?? 0,
      startOffset: parameters.storedOffset ?? 0,
    }),
  );
  let stream = through(source, pipeline.stages);
  const skip = parameters.skip ?? 0;
  if (skip > 0) stream = stream.pipeThrough(skipBytes(skip));
  await io.pump(stream, io.connection);
  return {
    keepsConnection: pipeline.keepsConnection,
    substituted: pipeline.stats?.substituted ?? 0,
  };
}

/** Receives a file from the data connection into `sink` (stored bytes). */
export async function receive(
  parameters: TransferParameters,
  sink: WritableStream<Uint8Array>,
  io: PipelineIo,
): Promise<PipelineOutcome> {
  const startOffset = parameters.storedOffset ?? 0;
  const marks = new MarkReplies(io.mark, startOffset);
  const pipeline = receivePipeline(
    pipelineOptions(parameters.representation, parameters.structure, parameters.mode, {
      ...(parameters.codePage ? { codePage: parameters.codePage } : {}),
      startOffset,
    }),
    { onMarker: (marker) => marks.add(marker.text, pipeline.locate(marker.offset)) },
  );
  let stored = 0;
  const written = (bytes: number) => {
    stored += bytes;
    marks.written(startOffset + stored);
  };
  const substituted = () => pipeline.stats?.substituted ?? 0;
  if (pipeline.frames !== null) {
    const framed = receiveFramed(io.connection, pipeline.frames, {
      ...(io.initial ? { initial: io.initial } : {}),
    });
    await io.pump(through(framed.readable, pipeline.stages), sink, written);
    const leftover = await framed.ended;
    return { keepsConnection: true, leftover, substituted: substituted(), stored };
  }
  // Stream and deflate mode read the connection to its end.
  const stages = parameters.resumeAfterCR ? [fromNetworkAscii(true)] : pipeline.stages;
  if (stages.length === 0 && !io.initial?.length) {
    stored = await io.pump(io.connection, sink);
  } else {
    let source = readerStream(io.connection);
    if (io.initial?.length) source = prepend(io.initial, source);
    stored = await io.pump(through(source, stages), sink);
  }
  return { keepsConnection: false, substituted: substituted(), stored };
}

/** `first`, then the rest of `stream`. */
function prepend(
  first: Uint8Array,
  stream: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let sent = false;
  return new ReadableStream({
    async pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(first);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
