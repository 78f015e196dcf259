/**
 * FTP reply codes by name, each with the section that defines it. Code outside this module uses
 * the names; a bare number in a reply is a bug waiting to happen (the same condition answered
 * two ways).
 *
 * RFC 959 §4.2: the first digit says how it went (1 preliminary, 2 done, 3 more needed,
 * 4 transient failure, 5 permanent failure), the second what it is about (0 syntax,
 * 1 information, 2 connections, 3 authentication, 5 file system).
 *
 * @module
 */

/**
 * The reply codes ftpgate sends.
 *
 * @example
 * ```ts
 * import { Code } from "./codes.ts";
 * Code.FILE_UNAVAILABLE; // 550
 * ```
 */
export const Code = {
  /** RFC 959 §4.2: restart marker reply (MODE B: `110 MARK yyyy = mmmm`). */
  RESTART_MARKER: 110,
  /** RFC 959: file status okay; about to open data connection. */
  OPENING_DATA: 150,
  /** RFC 959: command okay. */
  OK: 200,
  /** RFC 959: command not implemented, superfluous at this site (ALLO, ACCT). */
  SUPERFLUOUS: 202,
  /** RFC 959: system status, or system help reply (STAT, FEAT). */
  SYSTEM_STATUS: 211,
  /** RFC 959: directory status. */
  DIRECTORY_STATUS: 212,
  /** RFC 959: file status (STAT path, SIZE, MDTM, MFMT). */
  FILE_STATUS: 213,
  /** RFC 959: help message. */
  HELP: 214,
  /** RFC 959: NAME system type (SYST). */
  SYSTEM_TYPE: 215,
  /** RFC 959: service ready for new user. */
  SERVICE_READY: 220,
  /** RFC 959: service closing control connection (QUIT). */
  CLOSING: 221,
  /** RFC 959: closing data connection; requested file action successful. */
  TRANSFER_COMPLETE: 226,
  /** RFC 959: entering passive mode (h1,h2,h3,h4,p1,p2). */
  PASSIVE: 227,
  /** RFC 2428 §3: entering extended passive mode (|||port|). */
  EXTENDED_PASSIVE: 229,
  /** RFC 959: user logged in, proceed. */
  LOGGED_IN: 230,
  /** RFC 4217 §4: security data exchange complete (AUTH TLS). */
  AUTH_OK: 234,
  /** RFC 959: requested file action okay, completed. */
  FILE_ACTION_OK: 250,
  /** RFC 959: "PATHNAME" created (MKD, PWD). */
  PATH_CREATED: 257,
  /** RFC 959: user name okay, need password. */
  NEED_PASSWORD: 331,
  /** RFC 959: requested file action pending further information (REST, RNFR). */
  PENDING: 350,
  /** RFC 959: service not available, closing control connection. */
  SERVICE_UNAVAILABLE: 421,
  /** RFC 959: can't open data connection. */
  CANT_OPEN_DATA: 425,
  /** RFC 959: connection closed; transfer aborted. */
  TRANSFER_ABORTED: 426,
  /** RFC 959: requested file action not taken; file unavailable (busy). */
  FILE_BUSY: 450,
  /** RFC 959: requested action aborted; local error in processing. */
  LOCAL_ERROR: 451,
  /** RFC 959: requested action not taken; insufficient storage space in system. */
  INSUFFICIENT_STORAGE: 452,
  /** RFC 959: syntax error, command unrecognized. */
  UNKNOWN_COMMAND: 500,
  /** RFC 959: syntax error in parameters or arguments. */
  SYNTAX_ERROR: 501,
  /** RFC 959: command not implemented. */
  NOT_IMPLEMENTED: 502,
  /** RFC 959: bad sequence of commands. */
  BAD_SEQUENCE: 503,
  /** RFC 959: command not implemented for that parameter. */
  PARAMETER_NOT_IMPLEMENTED: 504,
  /** RFC 4217 §9: policy requires TLS on the data connection (PROT P). */
  PROTECTION_REQUIRED: 521,
  /** RFC 2428 §2: network protocol not supported; also RFC 4217's "TLS session reuse required". */
  PROTOCOL_NOT_SUPPORTED: 522,
  /** RFC 959: not logged in. */
  NOT_LOGGED_IN: 530,
  /** RFC 4217 §4: request denied for policy reasons (TLS required). */
  POLICY_DENIED: 534,
  /** RFC 2228: requested PROT level not supported by mechanism. */
  PROT_NOT_SUPPORTED: 536,
  /** RFC 959: requested action not taken; file unavailable (not found, no access). */
  FILE_UNAVAILABLE: 550,
  /** RFC 959: requested file action aborted; exceeded storage allocation (quota). */
  QUOTA_EXCEEDED: 552,
  /** RFC 959: requested action not taken; file name not allowed. */
  NAME_NOT_ALLOWED: 553,
  /** RFC 3659 §5.5: requested action not taken: invalid REST parameter. */
  INVALID_REST: 554,
} as const;

/** One of the reply codes in {@linkcode Code}. */
export type ReplyCode = typeof Code[keyof typeof Code];

/**
 * The reply class of a code, as metrics and logs group it: `2xx`, `4xx`, ...
 *
 * @example
 * ```ts
 * import { replyClass } from "./codes.ts";
 * replyClass(550); // "5xx"
 * ```
 */
export function replyClass(code: number): string {
  return `${Math.floor(code / 100)}xx`;
}
