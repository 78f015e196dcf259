/**
 * The representation stage of a transfer (TYPE × format control × STRU): what the transfer
 * pipeline imports. See `representation.ts` for the contract with the mode stage.
 *
 * @module
 */

export {
  type BinaryRecords,
  type DecoderOptions,
  type EncoderOptions,
  type FormatControl,
  isIdentity,
  RepresentationDecoder,
  RepresentationEncoder,
  type RepresentationOptions,
  type RepresentationStats,
  type RepresentationType,
  type Structure,
} from "./representation.ts";
export type { CodePage } from "./ebcdic_tables.ts";
export { CodecError, type CodecErrorKind } from "./errors.ts";
