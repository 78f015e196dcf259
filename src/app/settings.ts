/**
 * What the application runs with: the command line alone, or a config file with the
 * environment and the flags over it (file < `FTPGATE_*` < flags). The config loader (and zod
 * with it) is imported only when a file is given, so that a plain start never pays for it.
 *
 * @module
 */

import { type CliConfig, CliError, type CliS3Settings, flagMessage } from "../cli.ts";
import type {
  ConfigAuthHttp,
  ConfigS3Settings,
  ConfigServeOptions,
  WorkerCount,
} from "../config/types.ts";
import type { LogFormat, LogLevelName } from "../log.ts";
import type { OpsOptions } from "../ops/mod.ts";
import { resolveOptions } from "../options.ts";
import { isIPv4 } from "../data/address.ts";
import { loadPart } from "./lazy.ts";

/** The server's options as the app holds them: roots by name, PASV addresses maybe by name. */
export type AppServeOptions = ConfigServeOptions & { root: string; hostname: string; port: number };

/** Everything the application starts (and reloads) with. */
export interface AppSettings {
  /** The config file, absolute, when one was given. */
  configFile?: string;
  /** For `serve()`, once S3 roots are opened and PASV host names resolved. */
  serve: AppServeOptions;
  /** For `attachOps()`; empty when nothing is configured. */
  ops: OpsOptions;
  /** For `openS3Storage()` of every `s3://` root. */
  s3: ConfigS3Settings & CliS3Settings;
  /** `--fault` values of the S3 layer. */
  s3Faults: string[];
  /** `auth.http` of the config file. */
  authHttp?: ConfigAuthHttp;
  /** Log format and level. */
  logging: { format: LogFormat; level: LogLevelName };
  /** Process settings. */
  run: {
    readyFile?: string;
    exitAfterMs?: number;
    exitWhenIdleMs?: number;
    stdinLifeline: boolean;
    parentLifeline: boolean;
    workers?: WorkerCount;
  };
  /** The user made up by `--user random`. */
  randomUser?: { name: string; password: string };
  /**
   * The user the ready line names: the random one, or the first `--user` (the command line had
   * its password anyway). Never a user of the config file: their secrets stay where they are.
   */
  readyUser?: { name: string; password: string };
  /** Environment variables the config file named (`password_env`, ...): the launcher grants them. */
  envRead: string[];
}

/** Looks up one environment variable; undefined when unset or not allowed. */
export type Env = (name: string) => string | undefined;

/**
 * The settings of a command line without a config file: exactly what the flags say, with the
 * command line's defaults.
 */
export function settingsFromCli(config: CliConfig): AppSettings {
  return {
    serve: config.serve as AppServeOptions,
    ops: config.ops ?? {},
    s3: config.s3 ?? {},
    s3Faults: config.s3Faults ?? [],
    logging: { format: config.logFormat, level: config.logLevel },
    run: {
      ...(config.readyFile === undefined ? {} : { readyFile: config.readyFile }),
      ...(config.exitAfterMs === undefined ? {} : { exitAfterMs: config.exitAfterMs }),
      ...(config.exitWhenIdleMs === undefined ? {} : { exitWhenIdleMs: config.exitWhenIdleMs }),
      stdinLifeline: config.stdinLifeline,
      parentLifeline: config.parentLifeline ?? false,
      ...(config.workers === undefined ? {} : { workers: config.workers }),
    },
    ...(config.randomUser ? { randomUser: config.randomUser } : {}),
    ...readyUser(config),
    envRead: [],
  };
}

function readyUser(config: CliConfig): Pick<AppSettings, "readyUser"> {
  const first = config.configFile === undefined
    ? config.serve.users?.[0]
    : config.given?.flags.serve?.users?.[0] ?? config.given?.env.serve?.users?.[0];
  const user = config.randomUser ?? first;
  return user?.password === undefined
    ? {}
    : { readyUser: { name: user.name, password: user.password } };
}

/**
 * The settings for `config`: loads its config file, if any, and puts the environment's and the
 * flags' values over it. Throws the loader's `ConfigError` for a bad file and
 * {@linkcode CliError} for a combination that only the merged result shows to be wrong.
 */
export async function loadSettings(config: CliConfig, env: Env): Promise<AppSettings> {
  if (config.configFile === undefined) return settingsFromCli(config);
  const { loadConfigFile, mergeConfig } = await loadPart<typeof import("../config/load.ts")>(
    "config",
  );
  const envRead = new Set<string>();
  const loaded = await loadConfigFile(config.configFile, (name) => {
    envRead.add(name);
    return env(name);
  });
  const given = config.given ?? { env: {}, flags: {} };
  // The command line's defaults sit under the file (the library's port default is 0).
  const base = {
    ...loaded,
    serve: { root: ".", hostname: "127.0.0.1", port: 2121, ...loaded.serve },
  };
  const merged = mergeConfig(base, given.env, given.flags);
  const serve = merged.serve as AppServeOptions;
  const rootGiven = loaded.serve.root !== undefined || given.env.serve?.root !== undefined ||
    given.flags.serve?.root !== undefined;
  if (!rootGiven && (merged.authHttp !== undefined || everyoneHasATree(serve))) {
    // Nobody would see the current directory: serve none (and need no permission on it).
    serve.root = "memory:";
  }
  if (merged.authHttp !== undefined && (given.flags.serve?.users ?? given.env.serve?.users)) {
    throw new CliError(
      `--user cannot be combined with auth.http of ${loaded.file}: the hook decides every login`,
    );
  }
  const settings: AppSettings = {
    configFile: loaded.file,
    serve,
    ops: merged.ops ?? {},
    s3: definedOf(loaded.s3, given.env.s3, given.flags.s3),
    s3Faults: given.flags.s3Faults ?? given.env.s3Faults ?? loaded.s3Faults ?? [],
    logging: {
      format: merged.logging?.format ?? "text",
      level: merged.logging?.level ?? "info",
    },
    run: {
      ...merged.run,
      stdinLifeline: merged.run?.stdinLifeline ?? false,
      parentLifeline: merged.run?.parentLifeline ?? false,
    },
    ...(config.randomUser ? { randomUser: config.randomUser } : {}),
    ...readyUser(config),
    envRead: [...envRead],
  };
  if (merged.authHttp !== undefined) settings.authHttp = merged.authHttp;
  checkMerged(settings, config);
  return settings;
}

/** Every user has a root or mounts of their own, and anonymous access is off or has its own. */
function everyoneHasATree(serve: AppServeOptions): boolean {
  const users = serve.users ?? [];
  if (users.length === 0) return false;
  const anonymous = serve.anonymous;
  const anonymousOwn = anonymous === undefined || anonymous === false ||
    (typeof anonymous === "object" && anonymous.root !== undefined);
  return anonymousOwn &&
    users.every((user) => user.root !== undefined || user.mounts !== undefined);
}

/** Key by key, the last defined value wins. */
function definedOf<T extends object>(...sources: (T | undefined)[]): T {
  const out: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source ?? {})) {
      if (value !== undefined) out[key] = value;
    }
  }
  return out as T;
}

/** What the layers can get wrong together: the library's checks, and incomplete ops parts. */
function checkMerged(settings: AppSettings, config: CliConfig): void {
  const given = new Set([
    ...Object.keys(config.given?.flags.serve ?? {}),
    ...Object.keys(config.given?.env.serve ?? {}),
  ]);
  const file = settings.configFile!;
  const serve = settings.serve;
  try {
    resolveOptions({
      ...serve,
      // Host names are resolved at start; roots are opened then too.
      passiveAddress: serve.passiveAddress && isIPv4(serve.passiveAddress)
        ? serve.passiveAddress
        : undefined,
      passiveAddresses: serve.passiveAddresses?.map((rule) => ({
        networks: rule.networks,
        address: rule.address === "local" || isIPv4(rule.address) ? rule.address : "0.0.0.0",
      })),
    });
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
    const option = /^(\w+):/.exec(error.message)?.[1];
    if (option !== undefined && given.has(option)) {
      throw new CliError(flagMessage(error.message, (flag) => `--${flag}`));
    }
    throw new CliError(`${file}: ${error.message}`);
  }
  const ops = settings.ops;
  const missing: [part: unknown, key: string, flag: string, path: string][] = [
    [ops.http, "port", "--http-port", "http.port"],
    [ops.transferLog, "path", "--transfer-log", "transfer_log.path"],
    [ops.onUpload, "command", "--on-upload", "on_upload.command"],
    [ops.webhook, "url", "--webhook", "webhook.url"],
  ];
  for (const [part, key, flag, path] of missing) {
    if (part !== undefined && (part as Record<string, unknown>)[key] === undefined) {
      throw new CliError(`${flag} (or ${path} in ${file}) is needed by the other ${flag} options`);
    }
  }
}
