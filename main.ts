/**
 * ftpgate command line: parse options (and the config file), start the server, print the ready
 * line, stop cleanly on SIGINT/SIGTERM and on a terminal hang-up (and, when asked, after a time,
 * after a time without sessions, when stdin closes or when the parent process exits); SIGHUP
 * otherwise reloads the config file, the TLS certificate and the transfer log.
 *
 *   ftpgate [options]                 serve (see --help)
 *   ftpgate check-config FILE         validate a config file
 *   ftpgate hash-password             print the argon2id hash of a password read from stdin
 *
 * Exit codes: 0 after a clean shutdown, 1 when the server cannot start (port busy, root missing,
 * permission missing, unusable certificate, unreachable bucket), 2 for bad flags or a bad
 * config file.
 *
 * @module
 */

import { type CliConfig, CliError, helpText, parseCli, VERSION } from "./src/cli.ts";
import { configureLogging, holdLogs } from "./src/log.ts";
import { LazyImportError, loadPart } from "./src/app/lazy.ts";
import { announce, removeReadyFile } from "./src/app/ready.ts";
import { type AppSettings, loadSettings } from "./src/app/settings.ts";
import { handleSignals, holdHangups } from "./src/app/signals.ts";
import { type App, startApp, StartError } from "./src/app/start.ts";
import { survive } from "./src/app/survive.ts";

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
  exit(code);
}

function exit(code: number): never {
  removeReadyFile();
  Deno.exit(code);
}

function say(line: string): void {
  // deno-lint-ignore no-console
  console.log(line);
}

/** `check-config` and `hash-password`; undefined for a plain start. */
async function subcommand(args: readonly string[]): Promise<number | undefined> {
  if (args[0] === "hash-password") {
    const { runHashPassword } = await loadPart<
      typeof import("./src/identity/passwords/hash_password_command.ts")
    >(
      "hashPassword",
    );
    return await runHashPassword({ args: args.slice(1) });
  }
  if (args[0] === "check-config") {
    const { runCheckConfig } = await loadPart<typeof import("./src/app/check_config.ts")>(
      "checkConfig",
    );
    return await runCheckConfig(args.slice(1), env);
  }
  return undefined;
}

/** The settings, or the exit for a mistake in them (2). */
async function settingsOf(config: CliConfig): Promise<AppSettings> {
  try {
    return await loadSettings(config, env);
  } catch (error) {
    if (error instanceof CliError) fail(2, error.message);
    if (error instanceof LazyImportError) fail(1, error.message);
    const format = (error as { format?: () => string }).format;
    if ((error as Error).name === "ConfigError" && typeof format === "function") {
      // One `file:line: path: message` line per problem, as compilers print them.
      // deno-lint-ignore no-console
      console.error(format.call(error));
      exit(2);
    }
    throw error;
  }
}

async function start(settings: AppSettings): Promise<App> {
  try {
    return await startApp(settings);
  } catch (error) {
    if (error instanceof CliError) fail(2, error.message);
    if (error instanceof StartError || error instanceof LazyImportError) fail(1, error.message);
    throw error;
  }
}

async function main(): Promise<void> {
  const parent = Deno.ppid;
  let code;
  try {
    code = await subcommand(Deno.args);
  } catch (error) {
    if (error instanceof LazyImportError) fail(1, error.message);
    throw error;
  }
  if (code !== undefined) Deno.exit(code);
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
  const hangups = holdHangups(); // a SIGHUP during the start must not kill it
  const settings = await settingsOf(config);
  const app = await start(settings);
  const server = app.server;
  // The reload module loads with the first SIGHUP: a start without one never pays for it.
  let reload: Promise<() => void> | undefined;
  const onReload = () => {
    reload ??= import("./src/app/reload.ts").then(({ reloader }) => reloader(app, config, env));
    reload.then((run) => run());
  };
  const unlisten = handleSignals(server, onReload, exit, hangups());
  try {
    await announce(app);
  } catch (error) {
    await server.shutdown({ graceMs: 0 });
    await app.close();
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
  // The settings in force: a SIGHUP in the first 100 ms may have changed the level already.
  await configureLogging(app.settings.logging.format, app.settings.logging.level);
  const run = settings.run;
  const { watchLifelines } = await import("./src/app/lifelines.ts");
  const stopWatching = watchLifelines(server, {
    ...(run.exitAfterMs === undefined ? {} : { exitAfterMs: run.exitAfterMs }),
    ...(run.exitWhenIdleMs === undefined ? {} : { exitWhenIdleMs: run.exitWhenIdleMs }),
    stdinLifeline: run.stdinLifeline,
    ...(run.parentLifeline ? { parent } : {}),
  });
  await server.finished;
  stopWatching();
  unlisten();
  // The HTTP port answered 503 through the grace; the transfer log has the aborted transfers.
  await app.close();
  // Done: a pending stdin read (--stdin-lifeline) or the logging timer must not keep us alive.
  exit(0);
}

if (import.meta.main) await main();
