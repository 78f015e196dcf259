/**
 * FTP reply formatting (RFC 959 §4.2).
 *
 * A reply is one line `CODE SP text CRLF`, or a multi-line reply whose first line is `CODE-text`,
 * whose last line is `CODE SP text`, and whose middle lines are free text.
 *
 * @module
 */

/** The bytes of one reply line, ready to write. */
export type EncodedReply = Uint8Array;

const encoder = new TextEncoder();

/**
 * Formats a reply. A multi-line reply is produced when `text` has more than one line.
 *
 * Middle lines that start with a digit are indented by one space: a client reading
 * `213-...` / `213 ...` pairs would otherwise take a line such as `213 bytes` for the end
 * of the reply (RFC 959 §4.2 recommends exactly this padding).
 */
export function formatReply(code: number, text: string | readonly string[]): string {
  const lines = typeof text === "string" ? text.split("\n") : text;
  if (lines.length <= 1) return `${code} ${singleLine(lines[0] ?? "")}\r\n`;
  let out = `${code}-${singleLine(lines[0])}\r\n`;
  for (let i = 1; i < lines.length - 1; i++) out += formatMiddleLine(lines[i]);
  return out + `${code} ${singleLine(lines[lines.length - 1])}\r\n`;
}

/**
 * One middle line of a multi-line reply, with its CRLF: indented by a space when it starts with
 * a digit (see {@linkcode formatReply}).
 */
export function formatMiddleLine(text: string): string {
  const line = singleLine(text);
  return (isDigit(line.charCodeAt(0)) ? " " : "") + line + "\r\n";
}

/** Encodes a reply for the wire. */
export function encodeReply(code: number, text: string | readonly string[]): EncodedReply {
  return encoder.encode(formatReply(code, text));
}

/**
 * Quotes a path for a 257 reply (RFC 959 Appendix II): the path is wrapped in double quotes and
 * every double quote inside it is doubled, so `a"b` becomes `"a""b"`.
 */
export function quotePath(path: string): string {
  return `"${singleLine(path).replaceAll('"', '""')}"`;
}

/**
 * Removes CR and LF from text bound for the control connection. A file name may contain them on
 * disk; written raw they would end the reply early and let a name forge a second reply.
 * RFC 959 Appendix II sends an embedded LF as NUL; we do the same and map CR to NUL too.
 */
export function singleLine(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, "\0") : text;
}

function isDigit(charCode: number): boolean {
  return charCode >= 48 && charCode <= 57;
}
