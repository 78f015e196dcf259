/**
 * The transfers that need a codec: TYPE E, ASA carriage control, STRU R, MODE B, C and Z (and
 * any mix of them), built from the stages in `representation/` and `mode/`. Loaded by
 * `pipeline.ts` on the first such transfer (`loadPart("codecs")`, src/app/lazy.ts): most
 * sessions never ask for one, and the codecs are two dozen modules that every start would
 * otherwise load.
 *
 * @module
 */

import { fromNetworkAscii } from "./ascii.ts";
import { skipBytes } from "./ascii_offset.ts";
import { prepend, readerStream } from "../io.ts";
import { FileBlockFramer } from "./mode/file_blocks.ts";
import { isIdentity } from "./representation/representation.ts";
import {
  MarkReplies,
  pipelineOptions,
  receiveFramed,
  receivePipeline,
  sendPipeline,
  through,
} from "./mode/mod.ts";
import type { PipelineIo, PipelineOutcome, TransferParameters } from "./pipeline_io.ts";

/**
 * Sends `source` (stored bytes) to the data connection in the representation and mode of
 * `parameters`.
 */
export async function send(
  parameters: TransferParameters,
  source: ReadableStream<Uint8Array>,
  io: PipelineIo,
): Promise<PipelineOutcome> {
  const options = pipelineOptions(
    parameters.representation,
    parameters.structure,
    parameters.mode,
    {
      ...(parameters.codePage ? { codePage: parameters.codePage } : {}),
      ...(parameters.deflateLevel === undefined ? {} : { level: parameters.deflateLevel }),
      restartInterval: parameters.restartInterval ?? 0,
      startOffset: parameters.storedOffset ?? 0,
    },
  );
  if (options.mode === "block" && isIdentity(options)) {
    // The bytes go as they are stored: frame them on the pump's raw path (see file_blocks.ts).
    const interval = options.restartInterval ?? 0;
    const framer = new FileBlockFramer(
      interval > 0 ? { interval, startOffset: options.startOffset ?? 0 } : undefined,
    );
    await io.pump(source, io.connection, undefined, framer);
    return { keepsConnection: true, substituted: 0 };
  }
  const pipeline = sendPipeline(options);
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
