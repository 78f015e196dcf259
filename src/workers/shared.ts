/**
 * What the workers of one multi-worker server share, as each worker's server sees it: the
 * connection limits and the bans (in shared memory, `admission_table.ts`) and the "file busy"
 * guard (held by the main isolate, `pool.ts`, reached by messages from `worker.ts`).
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
  admit(ip: string): string | null;
  /** A connection admitted by `admit` has ended. */
  release(ip: string): void;
  /** Counts a failed login; `banned` for the one that starts a ban (in every worker at once). */
  loginFailed(ip: string): { count: number; banned: boolean };
  /** True while `ip` is banned (a local copy of the main isolate's list). */
  isBanned(ip: string): boolean;
  /** The upload guard shared by every worker's storage. */
  readonly writes: WriteGuard;
}
