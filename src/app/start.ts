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
import { loadPart } from "./lazy.ts";
import { S3Roots } from "./roots.ts";
import { buildServeOptions } from "./serve_options.ts";
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

/** A running application. */
export interface App {
  readonly server: FtpServer;
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
  const roots = new S3Roots();
  let built;
  try {
    built = await buildServeOptions(settings, roots);
  } catch (error) {
    await roots.close();
    throw await startError(error, settings);
  }
  let server: FtpServer;
  try {
    server = serve(built.options);
  } catch (error) {
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
