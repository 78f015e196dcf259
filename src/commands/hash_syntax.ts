/**
 * The text of the hash commands, parsed and formatted without I/O: the algorithm names of
 * draft-bryan-ftpext-hash (FEAT, OPTS HASH), the `RANG start end` of draft-bryan-ftp-range, the
 * `path [start end]` of the X-commands (XCRC, XMD5, XSHA1, XSHA256, XSHA512), and the replies.
 *
 * @module
 */

/** The hash algorithms, by the names the HASH draft uses (IANA "Hash Function Textual Names"). */
export const HASH_ALGORITHMS = ["SHA-256", "SHA-512", "SHA-1", "MD5", "CRC32"] as const;

/** One of {@linkcode HASH_ALGORITHMS}. */
export type HashAlgorithm = typeof HASH_ALGORITHMS[number];

/**
 * The default: the draft's §5 says a server SHOULD NOT default to anything weaker than SHA-1;
 * SHA-256 is what `sha256sum` users compare against.
 */
export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = "SHA-256";

/**
 * The algorithm `name` stands for (case-insensitive, draft §3.1), or undefined. `SHA1`,
 * `SHA256` and `SHA512` without the dash are accepted too: clients write them both ways.
 */
export function hashAlgorithm(name: string): HashAlgorithm | undefined {
  const upper = name.toUpperCase();
  const dashed = /^SHA\d/.test(upper) ? `SHA-${upper.slice(3)}` : upper;
  return HASH_ALGORITHMS.find((algorithm) => algorithm === dashed);
}

/**
 * The FEAT line (draft §3.1): every algorithm, the selected one marked with `*`.
 *
 * @example
 * ```ts
 * import { hashFeature } from "./hash_syntax.ts";
 * hashFeature("SHA-256"); // "HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32"
 * ```
 */
export function hashFeature(selected: HashAlgorithm): string {
  return "HASH " +
    HASH_ALGORITHMS.map((algorithm) => algorithm === selected ? `${algorithm}*` : algorithm)
      .join(";");
}

/** A byte range: `start` to `end`, `end` exclusive (a length is `end - start`). */
export interface ByteRange {
  start: number;
  /** Exclusive; undefined: to the end of the file. */
  end?: number;
}

/** The outcome of {@linkcode parseRang}. */
export type RangParse =
  | { range: ByteRange }
  | { reset: true }
  | { error: string };

/** Decimal digits that make a safe integer, or undefined. */
function decimal(text: string): number | undefined {
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * Parses the argument of RANG (draft-bryan-ftp-range §3): `start end`, both inclusive octet
 * positions counted from the start of the file. `RANG 1 0` resets the range (350); any other
 * start above the end is invalid (501, and the range is reset).
 *
 * @example
 * ```ts
 * import { parseRang } from "./hash_syntax.ts";
 * parseRang("0 49"); // { range: { start: 0, end: 50 } }
 * parseRang("1 0"); // { reset: true }
 * ```
 */
export function parseRang(arg: string): RangParse {
  const match = /^(\d+) (\d+)$/.exec(arg.trim());
  const start = match ? decimal(match[1]) : undefined;
  const last = match ? decimal(match[2]) : undefined;
  if (start === undefined || last === undefined) {
    return { error: "Syntax: RANG <sp> start-point <sp> end-point." };
  }
  if (start === 1 && last === 0) return { reset: true };
  if (start > last) return { error: `Start point ${start} is after end point ${last}.` };
  return { range: { start, end: last + 1 } };
}

/** The outcome of {@linkcode parseXArguments}. */
export interface XArguments {
  /** The path as the client wrote it. */
  path: string;
  /** The range, when the client gave one. */
  range?: ByteRange;
}

/**
 * Parses `path [start end]`, the argument of XCRC, XMD5, XSHA1, XSHA256 and XSHA512
 * (GlobalSCAPE's XCRC, proftpd's mod_digest): `start` is the first byte, `end` the offset where
 * the range stops (exclusive, as mod_digest computes `end - start` bytes).
 *
 * A path may contain spaces, so the tail is read from the right: the last two words are a range
 * when both are decimal numbers, and belong to the path otherwise. A single trailing number is
 * always part of the path: mod_digest refuses `path end` as ambiguous (one number could be a
 * start or an end), and here it is the more likely reading of a name such as `report 2024`. A
 * file whose name ends in two numbers is hashed with HASH, which takes the whole argument.
 *
 * @example
 * ```ts
 * import { parseXArguments } from "./hash_syntax.ts";
 * parseXArguments("my file.iso 0 1024"); // { path: "my file.iso", range: { start: 0, end: 1024 } }
 * parseXArguments("report 2024"); // { path: "report 2024" }
 * ```
 */
export function parseXArguments(arg: string): XArguments {
  const match = /^(.*\S) +(\d+) +(\d+)$/.exec(arg);
  if (match) {
    const start = decimal(match[2]);
    const end = decimal(match[3]);
    if (start !== undefined && end !== undefined) {
      return { path: match[1], range: { start, end } };
    }
  }
  return { path: arg };
}

/**
 * The 213 text of a HASH (draft §3): algorithm, `start-end` with an inclusive end, lower-case
 * hex, the path as the client named it. An empty range (an empty file) is written `0-0`: the
 * draft's grammar has no way to say "no byte", and `0--1` would break every parser of it.
 *
 * @example
 * ```ts
 * import { hashReplyText } from "./hash_syntax.ts";
 * hashReplyText("SHA-1", { start: 0, end: 256 }, "80bc95fd", "filename.ext");
 * // "SHA-1 0-255 80bc95fd filename.ext"
 * ```
 */
export function hashReplyText(
  algorithm: HashAlgorithm,
  range: Required<ByteRange>,
  hex: string,
  path: string,
): string {
  const last = Math.max(range.start, range.end - 1);
  return `${algorithm} ${range.start}-${last} ${hex} ${path}`;
}
