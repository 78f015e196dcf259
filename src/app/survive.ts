/**
 * A server must not die for one connection's sake: an error that escapes every handler (a bug
 * of ours, or of the runtime's TLS code, as one was) is logged and the process goes on.
 *
 * @module
 */

import { log } from "../log.ts";

/** Installs the process-wide handlers for uncaught errors and unhandled rejections. */
export function survive(): void {
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    log.server.error("Uncaught error, server continues: {error}", { error: event.error });
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.server.error("Unhandled rejection, server continues: {error}", { error: event.reason });
  });
}
