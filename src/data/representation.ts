/**
 * The transfer parameters of RFC 959 §3.1–3.4 as values: data type with its format control,
 * file structure, transmission mode. The session holds one of each; every transfer is built from
 * them (see `pipeline.ts`).
 *
 * @module
 */

/** RFC 959 §3.1.1: ASCII, EBCDIC, image, local byte size. */
export type DataType = "A" | "E" | "I" | "L";

/** RFC 959 §3.1.1.5: format control of a text type: non-print, Telnet effectors, ASA carriage control. */
export type FormatControl = "N" | "T" | "C";

/** TYPE with its parameter. */
export interface Representation {
  readonly type: DataType;
  /** For A and E. */
  readonly format: FormatControl;
  /** For L: the logical byte size (only 8 is served). */
  readonly byteSize: number;
}

/** RFC 959 §3.1.2: file, record, page structure. */
export type Structure = "F" | "R" | "P";

/** RFC 959 §3.4: stream, block, compressed; and Z, deflate (draft-preston-ftpext-deflate). */
export type TransmissionMode = "S" | "B" | "C" | "Z";

/**
 * TYPE A N, the RFC 959 default.
 *
 * @example
 * ```ts
 * import { ASCII } from "./representation.ts";
 * ASCII.type; // "A"
 * ```
 */
export const ASCII: Representation = Object.freeze({ type: "A", format: "N", byteSize: 8 });

/**
 * TYPE I: bytes as they are.
 *
 * @example
 * ```ts
 * import { IMAGE } from "./representation.ts";
 * IMAGE.type; // "I"
 * ```
 */
export const IMAGE: Representation = Object.freeze({ type: "I", format: "N", byteSize: 8 });

/**
 * True when a representation changes bytes on their way (text types): SIZE and REST then count
 * bytes that differ from the stored ones.
 *
 * @example
 * ```ts
 * import { ASCII, isText } from "./representation.ts";
 * isText(ASCII); // true
 * ```
 */
export function isText(representation: Representation): boolean {
  return representation.type === "A" || representation.type === "E";
}

/**
 * How TYPE is described in replies and STAT: `ASCII`, `ASCII Telnet`, `EBCDIC`, `BINARY`, ...
 *
 * @example
 * ```ts
 * import { describeRepresentation, IMAGE } from "./representation.ts";
 * describeRepresentation(IMAGE); // "BINARY"
 * ```
 */
export function describeRepresentation(representation: Representation): string {
  const { type, format } = representation;
  if (type === "I" || type === "L") return "BINARY";
  const name = type === "A" ? "ASCII" : "EBCDIC";
  return format === "N" ? name : `${name} ${format === "T" ? "Telnet" : "carriage control"}`;
}
