/**
 * ftpgate command line: parse options, start the server, print the ready line, stop cleanly on
 * SIGINT/SIGTERM.
 *
 * Exit codes: 0 after a clean shutdown, 1 when the server cannot start (port busy, root missing,
 * permission missing), 2 for bad command-line flags.
 *
 * @module
 */

import { CliError, helpText, parseCli, VERSION } from "./src/cli.ts";
import { configureLogging, log } from "./src/log.ts";
import { serve } from "./src/server.ts";
import { TlsConfigError } from "./src/tls/context.ts";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // not granted by --allow-env: treat as unset
  }
}

function fail(code: number, message: string): never {
  // deno-lint-ignore no-console
  console.error(`ftpgate: ${message}`);
  Deno.exit(code);
}

function startupError(error: unknown, root: string, host: string, port: number): string {
  if (error instanceof Deno.errors.AddrInUse) return `port ${port} on ${host} is already in use`;
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `cannot listen on ${host}: no such address here`;
  }
  if (error instanceof Deno.errors.NotFound) return `root directory not found: ${root}`;
  if (error instanceof Deno.errors.NotCapable) {
    const flag = /net/i.test(String((error as Error).message))
      ? `--allow-net`
      : `--allow-read=${root} --allow-write=${root}`;
    return `Deno permission missing (${(error as Error).message}); run deno with ${flag}`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `permission denied: ${(error as Error).message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A URL a client can connect to: wildcard listen addresses become loopback. */
function displayUrl(scheme: string, addr: Deno.NetAddr): string {
  const host = addr.hostname === "0.0.0.0"
    ? "127.0.0.1"
    : addr.hostname === "::"
    ? "[::1]"
    : addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return `${scheme}://${host}:${addr.port}/`;
}

async function main(): Promise<void> {
  let config;
  try {
    config = parseCli(Deno.args, env);
  } catch (error) {
    if (error instanceof CliError) fail(2, `${error.message}\nTry --help.`);
    throw error;
  }
  if (config.help) {
    // deno-lint-ignore no-console
    console.log(helpText());
    return;
  }
  if (config.version) {
    // deno-lint-ignore no-console
    console.log(`ftpgate ${VERSION}`);
    return;
  }
  await configureLogging(config.logFormat, config.logLevel);
  const { root, hostname, port } = config.serve;
  let server;
  try {
    server = serve(config.serve);
  } catch (error) {
    if (error instanceof TlsConfigError) fail(1, error.message);
    if (error instanceof RangeError || error instanceof TypeError) fail(2, error.message);
    fail(1, startupError(error, root, hostname, port));
  }
  let signals = 0;
  const stop = () => {
    // A second signal means "now": skip the grace period.
    server.shutdown({ graceMs: signals++ === 0 ? undefined : 0 });
    if (signals > 2) Deno.exit(1);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  if (server.tlsFingerprint !== undefined) {
    // Renewed certificates without a restart: SIGHUP re-reads --tls-cert and --tls-key.
    Deno.addSignalListener("SIGHUP", () => {
      try {
        server.reloadTls();
        log.server.info("TLS certificate reloaded ({fingerprint})", {
          fingerprint: server.tlsFingerprint,
        });
      } catch (error) {
        log.server.error("TLS reload failed, keeping the old certificate: {error}", {
          error: (error as Error).message,
        });
      }
    });
  }
  // The ready line: scripts wait for it and take the URL from its first word.
  const words = [displayUrl("ftp", server.addr)];
  if (server.implicitTlsAddr) words.push(displayUrl("ftps", server.implicitTlsAddr));
  if (server.tlsFingerprint) words.push(`sha256=${server.tlsFingerprint}`);
  // deno-lint-ignore no-console
  console.log(words.join(" "));
  await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
