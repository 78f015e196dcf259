/**
 * The mode stage of a transfer (MODE S, B, C, Z), restart markers, and `sendPipeline` /
 * `receivePipeline`, which put both stages together: what the transfer pipeline imports.
 *
 * @module
 */

export {
  type PipelineExtras,
  type PipelineOptions,
  pipelineOptions,
  type ReceiveOptions,
  type ReceivePipeline,
  receivePipeline,
  type SendPipeline,
  sendPipeline,
  through,
  type TransferMode,
} from "./pipeline.ts";
export {
  type FrameDecoder,
  FrameDecoderStream,
  type FramedReceive,
  receiveFramed,
} from "./frames.ts";
export {
  BlockDecoder,
  type BlockDecoderOptions,
  BlockEncoder,
  type BlockEncoderOptions,
  BlockFraming,
} from "./block.ts";
export {
  CompressedDecoder,
  type CompressedDecoderOptions,
  CompressedEncoder,
  type CompressedEncoderOptions,
  CompressedFraming,
  fillerFor,
} from "./compressed.ts";
export {
  type BytePair,
  DEFAULT_DEFLATE_LEVEL,
  deflateEncoder,
  type DeflateOptions,
  inflateDecoder,
} from "./deflate.ts";
export type { RestartOptions } from "./markers.ts";
export {
  type Checkpoint,
  CheckpointQueue,
  MarkReplies,
  markReplyText,
  parseRestartMarker,
  type RestartMarker,
} from "./restart.ts";
