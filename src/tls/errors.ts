/**
 * The TLS errors, apart from the TLS modules so that catching them loads nothing.
 *
 * @module
 */

/** A startup or reload problem with the certificate or key; the message says which file. */
export class TlsConfigError extends Error {
  /** An error whose message names the file and what is wrong with it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsConfigError";
  }
}

/**
 * How a TLS connection ended before its owner was done with it:
 * - `truncated`: the peer closed TCP without a TLS close_notify, so the bytes read may be cut
 *   short by an attacker or a middlebox (RFC 5246 §7.2.1, RFC 8446 §6.1);
 * - `closed`: the peer ended its side (close_notify, or a bare FIN) while we were still sending;
 * - `reset`: the TCP connection failed (reset, broken pipe) or was closed under us.
 */
export type TlsCloseKind = "truncated" | "closed" | "reset";

/**
 * A read or write on a TLS connection failed because the connection ended early. The message is
 * fixed text per kind: it never carries an OS message, so it is safe to log.
 *
 * @example
 * ```ts
 * import { TlsClosedError } from "./errors.ts";
 * const error = new TlsClosedError("truncated");
 * console.log(error.kind, error.message);
 * ```
 */
export class TlsClosedError extends Error {
  /** Why the connection is unusable. */
  readonly kind: TlsCloseKind;

  constructor(kind: TlsCloseKind, options?: ErrorOptions) {
    super(MESSAGES[kind], options);
    this.name = "TlsClosedError";
    this.kind = kind;
  }
}

const MESSAGES: Record<TlsCloseKind, string> = {
  truncated: "the peer closed the connection without a TLS close_notify: the data may be truncated",
  closed: "the peer closed the TLS connection",
  reset: "the TLS connection was reset",
};
