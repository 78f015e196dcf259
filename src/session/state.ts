/**
 * The protocol state of one control connection: who is logged in, where they are, and the
 * transfer parameters. Plain data that handlers read and change; no I/O.
 *
 * @module
 */

import {
  ASCII,
  type Representation,
  type Structure,
  type TransmissionMode,
} from "../data/representation.ts";
import type { Identity } from "../identity/identity.ts";

/** zlib's default compromise between speed and size. */
const DEFAULT_DEFLATE_LEVEL = 6;
import { MLST_FACTS, type MlstFact } from "../listing/mlsx.ts";

/** Default MLST facts: all of them (RFC 3659 §7.8 lets the server choose). */
const ALL_FACTS: ReadonlySet<MlstFact> = new Set(MLST_FACTS);

/**
 * One session's protocol state.
 *
 * @example
 * ```ts
 * import { SessionState } from "./state.ts";
 * const state = new SessionState(false);
 * state.cwd; // "/"
 * ```
 */
export class SessionState {
  /** Logged-in identity, or null. */
  identity: Identity | null = null;
  /** Name from USER, waiting for PASS. */
  pendingUser: string | null = null;
  /** Failed logins in this session. */
  loginFailures = 0;
  /** Current directory, a virtual path. */
  cwd = "/";
  /** TYPE (RFC 959 default: ASCII non-print). */
  representation: Representation = ASCII;
  /** STRU (default: file). */
  structure: Structure = "F";
  /** MODE (default: stream). */
  mode: TransmissionMode = "S";
  /** MODE Z's deflate level, 0–9 (OPTS MODE Z LEVEL n). */
  deflateLevel = DEFAULT_DEFLATE_LEVEL;
  /** Offset set by REST for the next RETR/STOR. */
  restOffset = 0;
  /** Size announced by ALLO for the next upload (a hint for the storage), or null. */
  allocation: number | null = null;
  /** Path named by RNFR, for the RNTO that must follow. */
  renameFrom: string | null = null;
  /** After EPSV ALL, only EPSV may set up data connections (RFC 2428 §4). */
  epsvAll = false;
  /** Facts MLSD/MLST report (OPTS MLST). */
  mlstFacts: ReadonlySet<MlstFact> = ALL_FACTS;
  /** The control connection is TLS (after AUTH TLS, or implicit TLS). */
  secure: boolean;
  /** PBSZ was sent (RFC 4217 §8: PROT needs it first). */
  pbszDone = false;
  /** PROT P: data connections are TLS too. Implicit TLS starts protected, as clients expect. */
  protectData: boolean;

  /** @param secure the control connection starts as TLS (implicit TLS). */
  constructor(secure: boolean) {
    this.secure = secure;
    this.protectData = secure;
  }

  /** The user name for logs: the logged-in one, the one waiting for PASS, or `-`. */
  get userName(): string {
    return this.identity?.name ?? this.pendingUser ?? "-";
  }

  /** Takes the REST offset for this transfer command; it applies once. */
  takeRestOffset(): number {
    const offset = this.restOffset;
    this.restOffset = 0;
    return offset;
  }

  /** Takes the ALLO size for this upload: it applies once. */
  takeAllocation(): number | null {
    const size = this.allocation;
    this.allocation = null;
    return size;
  }

  /** Ends the login and resets what a login set (USER, REIN). TLS state is kept. */
  logout(): void {
    this.identity = null;
    this.pendingUser = null;
    this.cwd = "/";
    this.restOffset = 0;
    this.allocation = null;
    this.renameFrom = null;
  }

  /** Back to the just-connected state (REIN), TLS excepted (RFC 4217 §11 leaves it to the server). */
  reinitialize(): void {
    this.logout();
    this.representation = ASCII;
    this.structure = "F";
    this.mode = "S";
    this.deflateLevel = DEFAULT_DEFLATE_LEVEL;
    this.epsvAll = false;
    this.mlstFacts = ALL_FACTS;
  }
}
