/**
 * The TLS configuration error, apart from the TLS modules so that catching it loads nothing.
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
