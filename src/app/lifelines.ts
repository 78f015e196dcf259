/**
 * The ways the server stops by itself: after a time (`--exit-after`), after a time without a
 * session (`--exit-when-idle`, for platforms that bill running instances and start one on the
 * next connection), when stdin closes (`--stdin-lifeline`) and when the parent process exits
 * (`--parent-lifeline`). Each calls `server.shutdown()`; the exit code stays 0.
 *
 * @module
 */

import { log } from "../log.ts";
import type { AppServer } from "./start.ts";

/** What to watch. */
export interface Lifelines {
  exitAfterMs?: number;
  exitWhenIdleMs?: number;
  stdinLifeline?: boolean;
  /** The parent PID at start, when the parent is to be watched. */
  parent?: number;
}

/** Starts the watchers; returns the function that stops them (at exit). */
export function watchLifelines(server: AppServer, lifelines: Lifelines): () => void {
  const stops: (() => void)[] = [];
  if (lifelines.exitAfterMs !== undefined) {
    const timer = setTimeout(() => {
      log.server.info("--exit-after reached: shutting down");
      server.shutdown();
    }, lifelines.exitAfterMs);
    stops.push(() => clearTimeout(timer));
  }
  if (lifelines.exitWhenIdleMs !== undefined) {
    stops.push(watchIdle(server, lifelines.exitWhenIdleMs));
  }
  if (lifelines.stdinLifeline) watchStdin(server);
  if (lifelines.parent !== undefined) stops.push(watchParent(server, lifelines.parent));
  return () => stops.forEach((stop) => stop());
}

/**
 * --exit-when-idle: the clock runs while no session is open, from the start and from the end
 * of the last session; a new session stops it. Sessions are counted from the server's events,
 * so a connection still in its TLS handshake does not count yet, and one refused with 421
 * never does.
 */
function watchIdle(server: AppServer, idleMs: number): () => void {
  let open = server.sessionCount;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      log.server.info("No session for {seconds} s (--exit-when-idle): shutting down", {
        seconds: idleMs / 1000,
      });
      server.shutdown();
    }, idleMs);
  };
  const off = server.events.on((event) => {
    if (event.type === "session-opened") {
      open++;
      clearTimeout(timer);
      timer = undefined;
    } else if (event.type === "session-closed") {
      open = Math.max(0, open - 1);
      if (open === 0) arm();
    }
  });
  if (open === 0) arm();
  return () => {
    off();
    clearTimeout(timer);
  };
}

/**
 * --parent-lifeline: when the parent process dies we are handed to another (init, a
 * subreaper), and our parent PID changes. Checked once a second, off the event loop's books,
 * against the parent we had when the process started (it may be gone by the time we listen).
 */
function watchParent(server: AppServer, parent: number): () => void {
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    clearInterval(timer);
    log.server.info("Parent process {pid} exited: shutting down", { pid: parent });
    server.shutdown();
  }, 1000);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}

/** --stdin-lifeline: a test runner that dies closes our stdin; we follow it. */
async function watchStdin(server: AppServer): Promise<void> {
  const buffer = new Uint8Array(1024);
  try {
    while ((await Deno.stdin.read(buffer)) !== null) { /* ignore input */ }
  } catch { /* stdin gone: same thing */ }
  log.server.info("stdin closed: shutting down");
  server.shutdown();
}
