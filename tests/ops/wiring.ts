/**
 * Whether the server has been wired for the ops modules yet: `server.events` (an EventHub),
 * `server.status()` and `server.ready(signal)`. Tests that need a real server's events are
 * ignored until then, with this reason.
 */

import { EventHub } from "../../src/events.ts";
import { FtpServer } from "../../src/mod.ts";
import type { OpsHost } from "../../src/ops/host.ts";

/** Why the end-to-end ops tests are ignored, when they are. */
export const NOT_WIRED =
  "FtpServer does not implement OpsHost yet (server.events, server.status(), server.ready())";

/** The server as an OpsHost, or null while it does not implement the interface. */
export function wiredHost(server: FtpServer): OpsHost | null {
  const candidate = server as unknown as Partial<OpsHost>;
  return candidate.events instanceof EventHub && typeof candidate.status === "function" &&
      typeof candidate.ready === "function"
    ? server as unknown as OpsHost
    : null;
}

/** True when FtpServer has `status()` and `ready()` (checked without starting one). */
export const WIRED: boolean = typeof (FtpServer.prototype as unknown as Partial<OpsHost>).status ===
    "function" &&
  typeof (FtpServer.prototype as unknown as Partial<OpsHost>).ready === "function";
