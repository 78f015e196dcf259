/**
 * The TLS configuration error, apart from the TLS modules so that catching it loads nothing.
 *
 * @module
 */

/** A startup or reload problem with the certificate or key; the message says which file. */
export class TlsConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsConfigError";
  }
}
