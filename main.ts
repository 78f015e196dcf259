/**
 * ftpgate command line: parse options, start the server, print the ready line, stop cleanly on
 * SIGINT/SIGTERM (and, when asked, after a time or when stdin closes).
 *
 * Exit codes: 0 after a clean shutdown, 1 when the server cannot start (port busy, root missing,
 * permission missing, unusable certificate), 2 for bad command-line flags.
 *
 * @module
 */

import { type CliConfig, CliError, helpText, parseCli, VERSION } from "./src/cli.ts";
import { configureLogging, holdLogs, log } from "./src/log.ts";
import { connectableHost, type FtpServer, serve } from "./src/server.ts";
import { TlsConfigError } from "./src/tls/errors.ts";

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

function say(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

/** Writes a line to stdout through the event loop, so that a client already waiting is served first. */
async function sayAsync(line: string): Promise<void> {
  const bytes = new TextEncoder().encode(line + "\n");
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
}

function startupError(error: unknown, config: CliConfig): string {
  const { root, hostname, port } = config.serve;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.AddrInUse) {
    return `port ${port} on ${hostname} is already in use`;
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

/** The JSON ready line for --ready-file: what a test harness in any language needs. */
function readyJson(server: FtpServer, config: CliConfig): string {
  const user = config.serve.users?.[0];
  return JSON.stringify({
    event: "ready",
    url: server.url,
    host: connectableHost(server.addr.hostname).replace(/^\[|\]$/g, ""),
    port: server.addr.port,
    pid: Deno.pid,
    ...(user ? { user: user.name, password: user.password } : {}),
    ...(server.implicitTlsAddr ? { implicitTlsPort: server.implicitTlsAddr.port } : {}),
    ...(server.tlsFingerprint ? { tlsFingerprint: server.tlsFingerprint } : {}),
  });
}

/** Writes the file whole or not at all: a reader polling for it never sees half a line. */
function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(temporary, text);
  Deno.renameSync(temporary, path);
}

async function announce(server: FtpServer, config: CliConfig): Promise<void> {
  if (config.readyFile !== undefined) {
    const line = readyJson(server, config);
    if (config.readyFile !== "-") writeAtomically(config.readyFile, line + "\n");
    return await sayAsync(line);
  }
  // The ready line: scripts wait for it and take the URL from its first word.
  const words = [`ftp://${connectableHost(server.addr.hostname)}:${server.addr.port}/`];
  if (server.implicitTlsAddr) {
    words.push(
      `ftps://${connectableHost(server.implicitTlsAddr.hostname)}:${server.implicitTlsAddr.port}/`,
    );
  }
  if (server.tlsFingerprint) words.push(`sha256=${server.tlsFingerprint}`);
  await sayAsync(words.join(" "));
}

/** SIGINT/SIGTERM stop the server; a second signal skips the grace period. */
function handleSignals(server: FtpServer): () => void {
  let signals = 0;
  const stop = () => {
    server.shutdown({ graceMs: signals++ === 0 ? undefined : 0 });
    if (signals > 2) Deno.exit(1);
  };
  const reload = () => {
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
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  // Renewed certificates without a restart: SIGHUP re-reads --tls-cert and --tls-key.
  if (server.tlsFingerprint !== undefined) Deno.addSignalListener("SIGHUP", reload);
  return () => {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    if (server.tlsFingerprint !== undefined) Deno.removeSignalListener("SIGHUP", reload);
  };
}

/** --stdin-lifeline: a test runner that dies closes our stdin; we follow it. */
async function watchStdin(server: FtpServer): Promise<void> {
  const buffer = new Uint8Array(1024);
  try {
    while ((await Deno.stdin.read(buffer)) !== null) { /* ignore input */ }
  } catch { /* stdin gone: same thing */ }
  log.server.info("stdin closed: shutting down");
  server.shutdown();
}

/**
 * A server must not die for one connection's sake: an error that escapes every handler (a bug
 * of ours, or of the runtime's TLS code, as one was) is logged and the process goes on.
 */
function survive(): void {
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    log.server.error("Uncaught error, server continues: {error}", { error: event.error });
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.server.error("Unhandled rejection, server continues: {error}", { error: event.reason });
  });
}

async function main(): Promise<void> {
  let config: CliConfig;
  try {
    config = parseCli(Deno.args, env);
  } catch (error) {
    if (error instanceof CliError) fail(2, `${error.message}\nTry --help.`);
    throw error;
  }
  if (config.help) return say(helpText());
  if (config.version) return say(`ftpgate ${VERSION}`);
  holdLogs();
  survive();
  // FTPS modules (node:tls and friends) load only when asked for: ~30 ms off a plain start.
  if (config.serve.tls) await import("./src/tls/mod.ts");
  let server: FtpServer;
  try {
    server = serve(config.serve);
  } catch (error) {
    if (error instanceof TlsConfigError) fail(1, error.message);
    if (error instanceof RangeError || error instanceof TypeError) fail(2, error.message);
    fail(1, startupError(error, config));
  }
  const unlisten = handleSignals(server);
  try {
    await announce(server, config);
  } catch (error) {
    await server.shutdown({ graceMs: 0 });
    fail(1, `cannot write the ready file: ${(error as Error).message}`);
  }
  // LogTape loads after the first client has been greeted (or after 100 ms without one): its
  // import costs ~15 ms that the first banner should not wait for. Records made meanwhile are
  // held and written once it is configured. (AbortSignal.timeout, not setTimeout: the first
  // setTimeout of a process costs ~6 ms to load the timer module.)
  const quiet = AbortSignal.timeout(100);
  await Promise.race([
    server.firstSession,
    server.finished,
    new Promise((resolve) => quiet.addEventListener("abort", resolve, { once: true })),
  ]);
  await configureLogging(config.logFormat, config.logLevel);
  let exitTimer: ReturnType<typeof setTimeout> | undefined;
  if (config.exitAfterMs !== undefined) {
    exitTimer = setTimeout(() => {
      log.server.info("--exit-after reached: shutting down");
      server.shutdown();
    }, config.exitAfterMs);
  }
  if (config.stdinLifeline) watchStdin(server);
  await server.finished;
  clearTimeout(exitTimer);
  unlisten();
  // Done: a pending stdin read (--stdin-lifeline) or the logging timer must not keep us alive.
  Deno.exit(0);
}

if (import.meta.main) await main();
