/**
 * ftpgate command line: parse options, start the server, print the ready line, stop cleanly on
 * SIGINT/SIGTERM and on a terminal hang-up (and, when asked, after a time, when stdin closes or
 * when the parent process exits); SIGHUP otherwise reloads the TLS certificate.
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
  const { root, hostname, port, implicitTlsPort } = config.serve;
  const message = error instanceof Error ? error.message : String(error);
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

/** The JSON ready line for --ready-file: what a test harness in any language needs. */
function readyJson(server: FtpServer, config: CliConfig): string {
  const user = config.randomUser ?? config.serve.users?.[0];
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

/**
 * Writes the ready file whole or not at all (a reader polling for it never sees half a line),
 * readable by its owner only: it holds a password. The temporary file beside it is made new
 * (never a file or symlink someone left there) and has a fixed name, so that `deno task start`
 * can grant exactly these two paths.
 */
function writeReadyFile(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  try {
    Deno.removeSync(temporary);
  } catch { /* none left over */ }
  Deno.writeTextFileSync(temporary, text, { createNew: true, mode: 0o600 });
  Deno.renameSync(temporary, path);
  readyFileWritten = { path, text };
}

let readyFileWritten: { path: string; text: string } | undefined;

/** Removes the ready file on the way out, unless another process has replaced it meanwhile. */
function removeReadyFile(): void {
  if (readyFileWritten === undefined) return;
  const { path, text } = readyFileWritten;
  readyFileWritten = undefined;
  try {
    if (Deno.readTextFileSync(path) === text) Deno.removeSync(path);
  } catch { /* gone already */ }
}

function exit(code: number): never {
  removeReadyFile();
  Deno.exit(code);
}

async function announce(server: FtpServer, config: CliConfig): Promise<void> {
  if (config.readyFile !== undefined) {
    const line = readyJson(server, config);
    if (config.readyFile !== "-") writeReadyFile(config.readyFile, line + "\n");
    return await sayAsync(line);
  }
  // The ready line: scripts wait for it and take the URL from its first word. A random user's
  // password is told nowhere else, so its credentials are in the URL.
  const random = config.randomUser;
  const credentials = random
    ? `${encodeURIComponent(random.name)}:${encodeURIComponent(random.password)}@`
    : "";
  const words = [
    `ftp://${credentials}${connectableHost(server.addr.hostname)}:${server.addr.port}/`,
  ];
  if (server.implicitTlsAddr) {
    words.push(
      `ftps://${connectableHost(server.implicitTlsAddr.hostname)}:${server.implicitTlsAddr.port}/`,
    );
  }
  if (server.tlsFingerprint) words.push(`sha256=${server.tlsFingerprint}`);
  await sayAsync(words.join(" "));
}

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
 * SIGINT/SIGTERM stop the server; a second signal skips the grace period. SIGHUP re-reads the
 * TLS certificate — unless it is the hang-up of our terminal, which stops the server like
 * SIGTERM (the session that started it is over).
 */
function handleSignals(server: FtpServer): () => void {
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
  // A reload is not coalesced: renewing twice in a row is harmless, missing one is not.
  const hangup = () => {
    if (hungUp()) return stop("SIGHUP");
    if (server.tlsFingerprint === undefined) {
      return log.server.info("SIGHUP: no TLS certificate to reload");
    }
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
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  // Windows has only SIGINT (and SIGBREAK) of these; listening for the others throws there.
  const posix = Deno.build.os !== "windows";
  Deno.addSignalListener("SIGINT", onInt);
  if (posix) Deno.addSignalListener("SIGTERM", onTerm);
  if (posix) Deno.addSignalListener("SIGHUP", hangup);
  return () => {
    Deno.removeSignalListener("SIGINT", onInt);
    if (posix) Deno.removeSignalListener("SIGTERM", onTerm);
    if (posix) Deno.removeSignalListener("SIGHUP", hangup);
  };
}

/**
 * --parent-lifeline: when the parent process dies we are handed to another (init, a
 * subreaper), and our parent PID changes. Checked once a second, off the event loop's books,
 * against the parent we had when the process started (it may be gone by the time we listen).
 */
function watchParent(server: FtpServer, parent: number): void {
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    clearInterval(timer);
    log.server.info("Parent process {pid} exited: shutting down", { pid: parent });
    server.shutdown();
  }, 1000);
  Deno.unrefTimer(timer);
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
  const parent = Deno.ppid;
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
    // Options were validated by parseCli: what is left is the machine (ports, root, files).
    if (error instanceof TlsConfigError) fail(1, error.message);
    fail(1, startupError(error, config));
  }
  const unlisten = handleSignals(server);
  try {
    await announce(server, config);
  } catch (error) {
    await server.shutdown({ graceMs: 0 });
    removeReadyFile();
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
  if (config.parentLifeline) watchParent(server, parent);
  await server.finished;
  clearTimeout(exitTimer);
  unlisten();
  // Done: a pending stdin read (--stdin-lifeline) or the logging timer must not keep us alive.
  exit(0);
}

if (import.meta.main) await main();
