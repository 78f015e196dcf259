/**
 * Why the server could not start, in one line for the operator: the busy port, the missing
 * root, the Deno permission to add. Options were validated before (exit 2); what is left is
 * the machine (exit 1).
 *
 * @module
 */

import type { AppSettings } from "./settings.ts";

/** Errors whose message is written for the operator already (and holds no secret). */
const OPERATOR_ERRORS = new Set([
  "TlsConfigError",
  "S3ConfigError",
  "OpsConfigError",
  "PassiveNameError",
  "StartError",
  "LazyImportError",
]);

/** The line to print for an error of `serve()` or of what runs before and after it. */
export function startupError(error: unknown, settings: Pick<AppSettings, "serve">): string {
  const { root, hostname, port, implicitTlsPort } = settings.serve;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && OPERATOR_ERRORS.has(error.name)) return message;
  if (error instanceof Deno.errors.AddrInUse) {
    const busy = implicitTlsPort !== undefined && isBusy(hostname, implicitTlsPort)
      ? `--implicit-tls-port ${implicitTlsPort}`
      : `port ${port}`;
    return `${busy} on ${hostname} is already in use`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `cannot listen on ${hostname}: no such address here`;
  }
  if (error instanceof Deno.errors.NotFound) return `root directory not found: ${root}`;
  if (error instanceof Deno.errors.NotCapable) {
    const flag = /net/i.test(message)
      ? "--allow-net"
      : /env/i.test(message)
      ? "--allow-env"
      : `--allow-read=${root} --allow-write=${root}`;
    return `Deno permission missing (${message}); run deno with ${flag}`;
  }
  if (error instanceof Deno.errors.PermissionDenied) return `permission denied: ${message}`;
  return message;
}

/**
 * Which of two listeners failed: Deno's AddrInUse does not say. serve() closes the main
 * listener when the implicit TLS one fails, so the implicit port is busy when it still is.
 */
function isBusy(hostname: string, port: number): boolean {
  if (port === 0) return false;
  try {
    Deno.listen({ hostname, port }).close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.AddrInUse;
  }
}
