/**
 * SIGHUP: re-read the config file (when one was given) and apply what can change while the
 * server runs — users, rules, limits, anonymous access, the identity hook, passive addresses
 * (host names resolved again), the banner — with `server.reconfigure()`; re-read the TLS
 * certificate files; reopen the transfer log (logrotate); forget the identity hook's cache.
 *
 * Sessions are never dropped: those logged in keep what they logged in with. A file that does
 * not load keeps the old configuration and logs why, one line per problem; so does a PASV name
 * that no longer resolves or an S3 root that cannot be opened. What needs the sockets or the
 * root again (listen address, root, TLS on or off, atomic uploads, the ops parts, S3 settings,
 * `run`) is logged as needing a restart and left as it is. The log level and format apply at
 * once.
 *
 * @module
 */

import type { CliConfig } from "../cli.ts";
import { configureLogging, log } from "../log.ts";
import { type Reconfiguration, RESTART_OPTIONS } from "../server.ts";
import { buildServeOptions } from "./serve_options.ts";
import { type AppSettings, type Env, loadSettings } from "./settings.ts";
import type { App } from "./start.ts";

/**
 * Options only a restart can change: those `server.reconfigure()` refuses, and atomicUploads,
 * which it takes but cannot apply (every root, the users' ones too, is opened with the value of
 * the start; reopening them would change the storage under logged-in sessions).
 */
const FIXED = [...RESTART_OPTIONS, "atomicUploads"] as const;

/** Returns the SIGHUP handler: reloads run one at a time, and one asked for meanwhile runs after. */
export function reloader(app: App, cli: CliConfig, env: Env): () => void {
  let running: Promise<void> | null = null;
  let again = false;
  const run = () => {
    running = reload(app, cli, env).catch((error) => {
      log.server.error("SIGHUP: reload failed: {error}", { error });
    }).finally(() => {
      running = null;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return () => {
    if (running !== null) again = true;
    else run();
  };
}

async function reload(app: App, cli: CliConfig, env: Env): Promise<void> {
  const next = await nextSettings(app, cli, env);
  if (next !== null) await reconfigure(app, next);
  reloadTls(app);
  if (app.ops !== undefined) {
    try {
      await app.ops.reopen();
    } catch (error) {
      log.server.error("SIGHUP: cannot reopen the transfer log: {error}", {
        error: (error as Error).message,
      });
    }
  }
  app.identity?.clearCache();
}

/** The new settings, or null (logged) when the config file does not load. */
async function nextSettings(app: App, cli: CliConfig, env: Env): Promise<AppSettings | null> {
  if (cli.configFile === undefined) return app.settings;
  try {
    return await loadSettings(cli, env);
  } catch (error) {
    const lines = typeof (error as { format?: unknown }).format === "function"
      ? (error as { format(): string }).format().split("\n")
      : [(error as Error).message];
    log.server.error(
      "SIGHUP: {file} not reloaded ({count} problem(s)); the old configuration stays",
      { file: cli.configFile, count: lines.length },
    );
    for (const line of lines) log.server.error("SIGHUP: {problem}", { problem: line });
    return null;
  }
}

/** Applies `next` to new logins; on any failure nothing changes. */
async function reconfigure(app: App, next: AppSettings): Promise<void> {
  for (const what of needsRestart(app.settings, next)) {
    log.server.warning("SIGHUP: {what} changed; it takes a restart (not applied)", { what });
  }
  let built;
  try {
    const previous = app.identity && app.settings.authHttp
      ? { provider: app.identity, settings: app.settings.authHttp }
      : undefined;
    built = await buildServeOptions(next, app.roots, previous);
  } catch (error) {
    log.server.error("SIGHUP: configuration not applied, the old one stays: {error}", {
      error: (error as Error).message,
    });
    return;
  }
  const options = built.options as unknown as Record<string, unknown>;
  const changes: Record<string, unknown> = {
    users: undefined,
    anonymous: undefined,
    identity: undefined,
  };
  const keys = new Set([...Object.keys(app.settings.serve), ...Object.keys(options)]);
  for (const key of keys) {
    if (!(FIXED as readonly string[]).includes(key)) changes[key] = options[key];
  }
  try {
    app.server.reconfigure(changes as Reconfiguration);
  } catch (error) {
    log.server.error("SIGHUP: configuration not applied, the old one stays: {error}", {
      error: (error as Error).message,
    });
    if (built.identity !== app.identity) built.identity?.close();
    return;
  }
  if (app.identity !== undefined && built.identity !== app.identity) app.retired.push(app.identity);
  app.identity = built.identity;
  // What a restart would apply stays as it runs now.
  const before = app.settings;
  app.settings = {
    ...next,
    serve: {
      ...next.serve,
      ...Object.fromEntries(FIXED.map((key) => [key, app.settings.serve[key]])),
    },
    ops: app.settings.ops,
    s3: app.settings.s3,
    s3Faults: app.settings.s3Faults,
    run: app.settings.run,
  };
  // The log level and format apply at once (a level raised to debug is what a reload is for).
  if (JSON.stringify(before.logging) !== JSON.stringify(next.logging)) {
    await configureLogging(next.logging.format, next.logging.level);
    // With --workers, each worker isolate logs for itself.
    if ("configureLogging" in app.server) {
      app.server.configureLogging(next.logging.format, next.logging.level);
    }
  }
  if (next.configFile !== undefined) {
    log.server.info("SIGHUP: configuration reloaded from {file}", { file: next.configFile });
  }
}

/** What differs between `now` and `next` that only a restart applies. */
function needsRestart(now: AppSettings, next: AppSettings): string[] {
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  const out: string[] = [];
  for (const key of FIXED) {
    if (differs(now.serve[key], next.serve[key])) out.push(key);
  }
  if (differs(now.ops, next.ops)) out.push("http, transfer_log, on_upload or webhook");
  if (differs(now.s3, next.s3)) out.push("s3");
  if (differs(now.run, next.run)) out.push("run");
  return out;
}

function reloadTls(app: App): void {
  const server = app.server;
  if (server.tlsFingerprint === undefined) {
    log.server.info("SIGHUP: no TLS certificate to reload");
    return;
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
}
