/**
 * Signals: SIGINT/SIGTERM stop the server (a second one skips the grace period, a third exits
 * at once); SIGHUP reloads — unless it is the hang-up of the terminal we were started from,
 * which stops the server like SIGTERM (the session that started it is over).
 *
 * @module
 */

import { log } from "../log.ts";
import type { AppServer } from "./start.ts";

/**
 * A signal repeated within this time is the same event delivered twice: `deno task` forwards
 * the SIGINT of a Ctrl-C to its child, which the terminal has already sent to the whole
 * foreground process group (and a hang-up reaches us from the terminal and from the task). Only
 * stopping signals are coalesced.
 */
const SAME_SIGNAL_MS = 250;

/** Whether stdin, stdout or stderr was a terminal at start: a hang-up can only happen then. */
const terminals = [Deno.stdin, Deno.stdout, Deno.stderr].filter((stream) => stream.isTerminal());

/**
 * Whether the terminal we were started from has gone away. After a hang-up the kernel makes
 * every descriptor of the terminal unusable, so isatty() turns false on them.
 */
function hungUp(): boolean {
  return terminals.some((stream) => !stream.isTerminal());
}

/**
 * Listens for the signals; returns the function that stops listening. `reload` runs for every
 * SIGHUP that is not a hang-up (not coalesced: renewing twice in a row is harmless, missing
 * one is not); `exit` for the third stopping signal.
 */
export function handleSignals(
  server: AppServer,
  reload: () => void,
  exit: (code: number) => void,
  /** A SIGHUP came while the server was starting (see {@linkcode holdHangups}): handle it now. */
  pendingHangup = false,
): () => void {
  let stops = 0;
  let lastStop = -Infinity;
  const stop = (signal: Deno.Signal) => {
    const now = performance.now();
    if (now - lastStop < SAME_SIGNAL_MS) return;
    lastStop = now;
    if (stops++ === 0) {
      log.server.info("{signal}: shutting down", { signal });
      server.shutdown();
    } else {
      log.server.info("{signal} again: closing every session now", { signal });
      server.shutdown({ graceMs: 0 });
    }
    if (stops > 2) exit(1);
  };
  const hangup = () => hungUp() ? stop("SIGHUP") : reload();
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  // Windows has only SIGINT (and SIGBREAK) of these; listening for the others throws there.
  const posix = Deno.build.os !== "windows";
  Deno.addSignalListener("SIGINT", onInt);
  if (posix) Deno.addSignalListener("SIGTERM", onTerm);
  if (posix) Deno.addSignalListener("SIGHUP", hangup);
  if (pendingHangup) queueMicrotask(hangup);
  return () => {
    Deno.removeSignalListener("SIGINT", onInt);
    if (posix) Deno.removeSignalListener("SIGTERM", onTerm);
    if (posix) Deno.removeSignalListener("SIGHUP", hangup);
  };
}

/**
 * Holds SIGHUP while the server starts. Until {@linkcode handleSignals} listens, SIGHUP has its
 * default action, which kills the process — and logrotate's postrotate and `systemctl reload`
 * (the unit is active as soon as the process runs) send it whenever they like, while a start
 * may take long (an S3 bucket probe with retries, an identity hook). Returns the function that
 * stops holding and says whether one came: it is then handled as if it came just after.
 */
export function holdHangups(): () => boolean {
  if (Deno.build.os === "windows") return () => false;
  let came = false;
  const held = () => came = true;
  Deno.addSignalListener("SIGHUP", held);
  return () => {
    Deno.removeSignalListener("SIGHUP", held);
    return came;
  };
}
