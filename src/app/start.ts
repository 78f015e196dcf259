/**
 * Builds and starts the application: S3 roots, the identity hook, the FTP server, then the
 * operations parts (HTTP port, transfer log, upload hook, webhooks). What is not configured is
 * not loaded: FTPS modules, the S3 client, the ops modules and the hook provider are each a
 * dynamic `import()` behind their setting.
 *
 * Stopping is the caller's: `server.shutdown()`, wait for `server.finished`, then
 * {@linkcode App.close} (ops last, so that `/healthz` answers 503 through the grace period and
 * the transfer log records the transfers the shutdown aborted).
 *
 * @module
 */

import type { HttpIdentityProvider } from "../identity/http.ts";
import type { OpsHandle } from "../ops/mod.ts";
import { type FtpServer, serve } from "../server.ts";
import type { WorkerPool } from "../workers/pool.ts";
import { CliError } from "../cli.ts";
import { loadPart } from "./lazy.ts";
import { S3Roots } from "./roots.ts";
import { buildServeOptions, type BuiltOptions } from "./serve_options.ts";
import type { AppSettings } from "./settings.ts";

/**
 * A start that failed; main.ts prints the message and exits 1. (Here, not in start_errors.ts:
 * that module loads only when something failed.)
 */
export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartError";
  }
}

/** The operator's line for a failed start (the module that words it loads only then). */
async function startError(
  error: unknown,
  settings: AppSettings,
  part: "server" | "ops" = "server",
): Promise<StartError> {
  const { opsStartupError, startupError } = await import("./start_errors.ts");
  return new StartError((part === "ops" ? opsStartupError : startupError)(error, settings));
}

/** Settings whose checks need a module of their own (see validate.ts). */
function needsValidation(settings: AppSettings): boolean {
  const { onUpload, webhook } = settings.ops;
  return onUpload !== undefined || webhook?.types !== undefined || settings.s3Faults.length > 0 ||
    settings.ops.http !== undefined;
}

/** The server of a running application: one in this isolate, or `--workers N` of them. */
export type AppServer = FtpServer | WorkerPool;

/** A running application. */
export interface App {
  readonly server: AppServer;
  /** The operations parts, when any is configured. */
  readonly ops: OpsHandle | undefined;
  /** The `s3://` roots in use. */
  readonly roots: S3Roots;
  /** The settings in force (a reload replaces them). */
  settings: AppSettings;
  /** The HTTP identity hook in force, when `auth.http` is configured. */
  identity: HttpIdentityProvider | undefined;
  /** Providers a reload replaced: closed at exit, their sessions may still be logging in. */
  readonly retired: HttpIdentityProvider[];
  /** Closes everything but the server (call it after `server.finished`). */
  close(): Promise<void>;
}

/**
 * Starts the application. Throws `CliError` for a setting that cannot work (exit 2) and
 * {@linkcode StartError} for what the machine refuses (exit 1), having closed what it opened.
 */
export async function startApp(settings: AppSettings): Promise<App> {
  if (needsValidation(settings)) {
    const { validateSettings } = await loadPart<typeof import("./validate.ts")>("validate");
    await validateSettings(settings);
  }
  // FTPS modules (node:tls and friends) load only when asked for: ~30 ms off a plain start.
  if (settings.serve.tls) await loadPart<typeof import("../tls/mod.ts")>("tls");
  // Settings a pool cannot share are refused before any root or hook is opened.
  if (typeof settings.run.workers === "number") workerCount(settings, () => 1);
  const roots = new S3Roots();
  let built;
  try {
    built = await buildServeOptions(settings, roots);
  } catch (error) {
    await roots.close();
    throw await startError(error, settings);
  }
  let server: AppServer;
  try {
    server = await startServer(settings, built.options);
  } catch (error) {
    if (error instanceof CliError) {
      built.identity?.close();
      await roots.close();
      throw error;
    }
    built.identity?.close();
    await roots.close();
    throw await startError(error, settings);
  }
  let ops: OpsHandle | undefined;
  if (Object.keys(settings.ops).length > 0) {
    try {
      const { attachOps } = await loadPart<typeof import("../ops/mod.ts")>("ops");
      ops = await attachOps(server, settings.ops);
    } catch (error) {
      await server.shutdown({ graceMs: 0 });
      built.identity?.close();
      await roots.close();
      throw await startError(error, settings, "ops");
    }
  }
  const app: App = {
    server,
    ops,
    roots,
    settings,
    identity: built.identity,
    retired: [],
    async close() {
      await ops?.close();
      for (const provider of [app.identity, ...app.retired]) provider?.close();
      await roots.close();
    },
  };
  return app;
}

/**
 * How many isolates serve: `run.workers`, with `auto` as the cores here. Throws `CliError`
 * when settings that cannot be shared ask for more than one (before anything is opened).
 */
function workerCount(settings: AppSettings, cores: () => number): number {
  const asked = settings.run.workers ?? 1;
  const count = asked === "auto" ? cores() : asked;
  if (count === 1) return 1;
  const shared = sharedProblem(settings);
  if (shared !== undefined) throw new CliError(`--workers ${asked}: ${shared}`);
  return count;
}

/**
 * One server in this isolate, or (`count` > 1) a pool of `count` isolates on one port
 * (src/workers/pool.ts). A pool needs its options as plain data, so it serves local
 * directories and `memory:` (which keeps one worker) only: an `s3://` root or an `auth.http`
 * hook is an object of this isolate that cannot be handed to another.
 */
async function startServer(
  settings: AppSettings,
  options: BuiltOptions["options"],
): Promise<AppServer> {
  if (settings.run.workers === undefined || settings.run.workers === 1) return serve(options);
  const { autoWorkerCount, runWorkers } = await loadPart<typeof import("../workers/pool.ts")>(
    "workers",
  );
  const count = workerCount(settings, autoWorkerCount);
  if (count === 1) return serve(options);
  // Without --unstable-net, Deno exits the process (code 70) at the first reusePort listen
  // instead of throwing; the unstable network APIs are absent then, which tells it in advance.
  if (!("listenDatagram" in Deno)) {
    throw new CliError(
      `--workers ${settings.run.workers}: run deno with --unstable-net (SO_REUSEPORT); ` +
        "deno task start and the compiled binary have it",
    );
  }
  return await runWorkers(options, count, { log: settings.logging });
}

/** Why these settings cannot be served by several isolates, or undefined. */
function sharedProblem(settings: AppSettings): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux (SO_REUSEPORT)";
  if (settings.authHttp !== undefined) return "cannot be combined with auth.http";
  const s3 = (root: unknown) => typeof root === "string" && /^s3:\/\//i.test(root);
  const users = settings.serve.users ?? [];
  if (
    s3(settings.serve.root) ||
    users.some((user) => s3(user.root) || (user.mounts ?? []).some((mount) => s3(mount.root)))
  ) {
    return "serves local directories only (an s3:// root stays in one isolate)";
  }
  return undefined;
}
