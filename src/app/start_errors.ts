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

/** The line for an error of the ops parts (the HTTP port, the transfer log, secret files). */
export function opsStartupError(
  error: unknown,
  settings: Pick<AppSettings, "serve" | "ops">,
): string {
  const http = settings.ops.http;
  if (error instanceof Deno.errors.AddrInUse && http !== undefined) {
    return `--http-port ${http.port} on ${http.hostname ?? "127.0.0.1"} is already in use`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable && http !== undefined) {
    return `cannot listen on --http-host ${http.hostname}: no such address here`;
  }
  const log = settings.ops.transferLog?.path;
  if (error instanceof Deno.errors.NotFound && log !== undefined) {
    return `cannot open the transfer log ${log}: its directory does not exist`;
  }
  return startupError(error, settings);
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
