/**
 * The shapes a loaded config file maps to: the library's options, with only what the file says.
 * Types only.
 *
 * @module
 */

import type { UserConfig } from "../identity/static.ts";
import type { LogFormat, LogLevelName } from "../log.ts";
import type { OpsOptions } from "../ops/mod.ts";
import type { ServeOptions } from "../options.ts";
import type { S3Settings } from "../storage/s3/settings.ts";

/** Reads one environment variable; undefined when unset (or not allowed). */
export type EnvLookup = (name: string) => string | undefined;

/** Clients in `networks` are told `address` in PASV replies (first matching rule wins). */
export interface PassiveAddressRule {
  /** CIDR networks, validated. */
  networks: string[];
  /** An IPv4 address or a host name (to resolve at start and on SIGHUP). */
  address: string;
}

/**
 * `ServeOptions` as a config file sets them: only what the file says (no defaults filled in,
 * so that the environment and flags can still override), plus what `ServeOptions` does not
 * have yet — the passive address per client network.
 */
export type ConfigServeOptions = Omit<ServeOptions, "root" | "users"> & {
  /** The server's root: a directory (absolute), `memory:` or an `s3://` URL. */
  root?: string;
  /** Users, passwords resolved (`password` in clear from env/file, or `passwordHash`). */
  users?: UserConfig[];
  /** Passive address per client network, checked before `passiveAddress`. */
  passiveAddresses?: PassiveAddressRule[];
};

/** Logging settings of the file; absent fields: the CLI's defaults. */
export interface ConfigLogging {
  /** `logging.format`: `text` or `json`. */
  format?: LogFormat;
  /** `logging.level`. */
  level?: LogLevelName;
}

/** Process-level settings (the CLI's `--ready-file`, `--exit-after`, ...). */
export interface ConfigRun {
  /** `run.ready_file` (`--ready-file`), absolute. */
  readyFile?: string;
  /** `run.exit_after` (`--exit-after`). */
  exitAfterMs?: number;
  /** `run.exit_when_idle` (`--exit-when-idle`): exit 0 after this long with no session. */
  exitWhenIdleMs?: number;
  /** `run.stdin_lifeline` (`--stdin-lifeline`). */
  stdinLifeline?: boolean;
  /** `run.parent_lifeline` (`--parent-lifeline`). */
  parentLifeline?: boolean;
  /** `run.workers` (`--workers`): isolates sharing the port. */
  workers?: WorkerCount;
}

/** How many isolates serve sessions: a count, or `auto` (one per core). */
export type WorkerCount = number | "auto";

/** The most workers `--workers` accepts (more isolates than cores only cost memory). */
export const MAX_WORKERS = 64;

/** The `s3` block of a config file: the settings `openS3Storage` takes (credentials resolved). */
export type ConfigS3Settings = Pick<
  S3Settings,
  | "endpoint"
  | "region"
  | "pathStyle"
  | "partSize"
  | "maxPartsInFlight"
  | "maxRenameKeys"
  | "listCacheMs"
  | "renameConcurrency"
  | "timeoutMs"
  | "maxAttempts"
  | "credentials"
>;

/** `auth.http`: options for `HttpIdentityProvider` (give it a `RootOpener` too). */
export interface ConfigAuthHttp {
  /** `auth.http.url`. */
  url: string;
  /** `auth.http.allowed_roots`: absolute, existing directories. */
  allowedRoots: string[];
  /** `auth.http.timeout_s`. */
  timeoutMs?: number;
  /** `auth.http.concurrency`. */
  concurrency?: number;
  /** `auth.http.cache_s`. */
  cacheMs?: number;
  /** Bearer token for the hook, resolved from `token_env` or `token_file`. */
  token?: string;
}

/** A config file, checked and mapped onto the library's options. */
export interface LoadedConfig {
  /** The config file, absolute. */
  file: string;
  /** For `serve()`. */
  serve: ConfigServeOptions;
  /** For `attachOps()`; empty when the file configures none of it. */
  ops: OpsOptions;
  /** For `configureLogging()`. */
  logging: ConfigLogging;
  /** For the CLI's process handling. */
  run: ConfigRun;
  /** For `openS3Storage()` of every `s3://` root. */
  s3?: ConfigS3Settings;
  /** The `s3-*` specs of `faults`, for the S3 layer of every `s3://` root. */
  s3Faults?: string[];
  /** For `new HttpIdentityProvider(...)`, then `serve({ identity })`. */
  authHttp?: ConfigAuthHttp;
}
