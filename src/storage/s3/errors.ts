/**
 * S3 failures and the one place where they become storage error kinds.
 *
 * An {@linkcode S3Error} carries the HTTP status and S3's error code (an identifier such as
 * `NoSuchKey`), never S3's message text or XML: those may quote keys, bucket names or request
 * ids, and nothing from them may reach a client or a log line through `error.message`.
 *
 * @module
 */

import { FtpError, StorageError, type StorageErrorKind } from "../../errors.ts";

/**
 * An S3 error answer (status and code), or a transport failure (status 0).
 *
 * @example
 * ```ts
 * import { S3Error } from "./errors.ts";
 * new S3Error(503, "SlowDown").message; // "S3 503 SlowDown"
 * ```
 */
export class S3Error extends Error {
  /** HTTP status; 0 for a failure before any answer (refused, reset, timed out). */
  readonly status: number;
  /** S3's error code, e.g. `NoSuchKey`, `SlowDown`; `""` when the answer had none. */
  readonly code: string;
  /** An error for `status` and S3 `code`; a code that is not an identifier is dropped. */
  constructor(status: number, code: string, options?: ErrorOptions) {
    // Codes are identifiers; anything else in that slot is dropped rather than echoed.
    const safe = /^[A-Za-z0-9.]{1,64}$/.test(code) ? code : "";
    super(`S3 ${status === 0 ? "transport failure" : status}${safe ? ` ${safe}` : ""}`, options);
    this.name = "S3Error";
    this.status = status;
    this.code = safe;
  }
}

/** A request that got no answer in time. */
export class S3TimeoutError extends S3Error {
  constructor() {
    super(0, "RequestTimeout");
    this.name = "S3TimeoutError";
  }
}

const KINDS: Record<string, StorageErrorKind> = {
  NoSuchKey: "not-found",
  NotFound: "not-found",
  // A bucket that is gone is the operator's problem, not a missing file.
  NoSuchBucket: "unavailable",
  AccessDenied: "permission",
  AllAccessDisabled: "permission",
  AccountProblem: "permission",
  // Credentials that do not work: the back end cannot be used at all.
  InvalidAccessKeyId: "unavailable",
  SignatureDoesNotMatch: "unavailable",
  ExpiredToken: "unavailable",
  InvalidToken: "unavailable",
  TokenRefreshRequired: "unavailable",
  RequestTimeTooSkewed: "unavailable",
  AuthorizationHeaderMalformed: "unavailable",
  // A condition on the object failed: it changed while we worked with it.
  PreconditionFailed: "busy",
  ConditionalRequestConflict: "busy",
  OperationAborted: "busy",
  KeyTooLongError: "invalid-name",
  InvalidObjectName: "invalid-name",
  InvalidURI: "invalid-name",
  EntityTooLarge: "quota",
  QuotaExceeded: "quota",
  InsufficientCapacity: "no-space",
  NotImplemented: "not-supported",
  MethodNotAllowed: "not-supported",
  SlowDown: "unavailable",
  ServiceUnavailable: "unavailable",
  RequestTimeout: "unavailable",
  InternalError: "io",
};

/**
 * The storage error kind for an S3 failure.
 *
 * @example
 * ```ts
 * import { S3Error, storageKind } from "./errors.ts";
 * storageKind(new S3Error(503, "SlowDown")); // "unavailable"
 * ```
 */
export function storageKind(error: S3Error): StorageErrorKind {
  const known = KINDS[error.code];
  if (known !== undefined) return known;
  switch (error.status) {
    case 0:
      return "unavailable";
    case 403:
      return "permission";
    case 404:
      return "not-found";
    case 412:
    case 409:
      return "busy";
    case 501:
    case 405:
      return "not-supported";
    case 507:
      return "no-space";
    case 500:
      return "io";
  }
  return error.status >= 500 ? "unavailable" : "io";
}

/** True for the reason an aborted signal rejects with (ABOR, a closing session). */
export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && (error.name === "AbortError");
}

/**
 * Turns any failure inside the S3 back end into what the storage contract allows to escape:
 * a {@linkcode StorageError} about `path`, an `FtpError` already chosen, or the abort reason.
 *
 * @example
 * ```ts
 * import { S3Error, toStorageError } from "./errors.ts";
 * toStorageError(new S3Error(404, "NoSuchKey"), "/a.txt"); // StorageError not-found "/a.txt"
 * ```
 */
export function toStorageError(error: unknown, path: string): Error {
  if (error instanceof StorageError || error instanceof FtpError || isAbortError(error)) {
    return error as Error;
  }
  if (error instanceof S3Error) return new StorageError(storageKind(error), path, { cause: error });
  // Anything else is a bug or a transport failure we did not classify: a local error, logged.
  return new StorageError("io", path, { cause: error });
}
