/**
 * The one error type of the representation and mode codecs.
 *
 * It is an {@linkcode FtpError}, so `toReply` already turns it into a reply; its text is fixed
 * per kind and never quotes the offending bytes (they come from a client, or from a stored file
 * whose content is not ours to echo).
 *
 * @module
 */

import { FtpError } from "../../errors.ts";
import { Code } from "../../protocol/codes.ts";

/** What went wrong while encoding or decoding a transfer. */
export type CodecErrorKind =
  /** The input ended inside a header, an escape, a record or a compressed stream. */
  | "truncated"
  /** A header, descriptor, escape or marker that the RFC does not allow. */
  | "malformed"
  /** Bytes after the end of file (an EOF block, an EOF escape or the end of a zlib stream). */
  | "trailing-data"
  /** A record longer than the stored form can hold (RDW: 65,531 bytes). */
  | "record-too-long"
  /** A stored file that is not in the record form the structure needs (not RDW). */
  | "not-records";

const TEXT: Record<CodecErrorKind, string> = {
  "truncated": "Data connection ended before the end of file; transfer aborted.",
  "malformed": "Malformed data for the transfer mode or structure; transfer aborted.",
  "trailing-data": "Data after the end of file; transfer aborted.",
  "record-too-long": "Record too long for this server's record format; transfer aborted.",
  "not-records": "File is not stored in record format (RDW); transfer aborted.",
};

/**
 * A failure to encode or decode a transfer. `detail` is for the log only and holds no client
 * bytes (it names what was wrong: "bad descriptor 0x0f", "count 9 past the end").
 *
 * @example
 * ```ts
 * import { CodecError } from "./errors.ts";
 * const error = new CodecError("truncated", "block header cut short");
 * error.code; // 426
 * ```
 */
export class CodecError extends FtpError {
  readonly kind: CodecErrorKind;
  readonly detail: string;
  constructor(kind: CodecErrorKind, detail: string) {
    // A peer that stops early is a broken connection (426); anything else is data we cannot
    // process (451, as RFC 959 has no better code for it).
    super(kind === "truncated" ? Code.TRANSFER_ABORTED : Code.LOCAL_ERROR, TEXT[kind]);
    this.name = "CodecError";
    this.kind = kind;
    this.detail = detail;
  }
}
