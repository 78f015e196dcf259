/**
 * What the workers of one multi-worker server share, as each worker's server sees it: the
 * connection limits, the bans and the "file busy" guard. The main isolate holds the state
 * (`pool.ts`); a worker reaches it through messages (`worker.ts`).
 *
 * @module
 */

import type { WriteGuard } from "../storage/local.ts";

/**
 * The server-wide state a worker's server consults instead of its own.
 *
 * @example
 * ```ts ignore
 * serve(options, { shared, reusePort: true }); // inside a worker
 * ```
 */
export interface SharedState {
  /**
   * Admits a new connection from `ip` (counts it against the server-wide limits) or refuses
   * it: the reply text of the refusal. An admitted connection is released with `release`.
   */
  admit(ip: string): Promise<string | null>;
  /** A connection admitted by `admit` has ended. */
  release(ip: string): void;
  /** Counts a failed login (the main isolate bans and tells every worker). */
  loginFailed(ip: string, user: string): void;
  /** True while `ip` is banned (a local copy of the main isolate's list). */
  isBanned(ip: string): boolean;
  /** The upload guard shared by every worker's storage. */
  readonly writes: WriteGuard;
}
