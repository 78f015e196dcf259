/**
 * The accept loop shared by the control listeners and the passive data listeners. A transient
 * accept error (EMFILE when the process is out of descriptors, ECONNABORTED) must neither stop
 * the listener nor spin: the loop waits with capped exponential back-off and goes on, as the old
 * denoland/std HTTP server did.
 *
 * @module
 */

/** Longest pause between retries of a failing accept. */
export const MAX_ACCEPT_BACKOFF_MS = 1000;

/** How an accept loop ends and reports. */
export interface AcceptLoopOptions {
  /** True once the owner closed the listener on purpose: an error then ends the loop quietly. */
  closing(): boolean;
  /** A transient error, and how long the loop waits before the next accept. */
  onError?(error: unknown, backoffMs: number): void;
}

/**
 * Accepts connections until the listener is closed, handing each to `onConnection`.
 * Resolves when the loop has ended (the listener's port is free then).
 *
 * @example
 * ```ts
 * import { acceptLoop } from "./accept.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * let closing = false;
 * const loop = acceptLoop(listener, (conn) => conn.close(), { closing: () => closing });
 * closing = true;
 * listener.close();
 * await loop;
 * ```
 */
export async function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  onConnection: (conn: C) => void,
  options: AcceptLoopOptions,
): Promise<void> {
  let backoff = 0;
  for (;;) {
    let conn: C;
    try {
      conn = await listener.accept();
      backoff = 0;
    } catch (error) {
      if (options.closing() || error instanceof Deno.errors.BadResource) return;
      backoff = Math.min(MAX_ACCEPT_BACKOFF_MS, Math.max(5, backoff * 2));
      options.onError?.(error, backoff);
      await new Promise((resolve) => setTimeout(resolve, backoff));
      continue;
    }
    onConnection(conn);
  }
}
