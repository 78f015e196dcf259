/**
 * Command line and environment → options. Pure: the caller passes argv and an env lookup.
 *
 * Every flag can also come from an environment variable, `FTPGATE_` plus the flag name in upper
 * snake case (`--pasv-ports` → `FTPGATE_PASV_PORTS`); a flag on the command line wins. With
 * `--config FILE` the file comes first and both override it: {@linkcode CliConfig.given} holds
 * only what the environment and the flags actually set, for `mergeConfig()`.
 *
 * @module
 */

import type { UserConfig } from "./identity/static.ts";
import { isIPv4 } from "./data/address.ts";
import type { LogFormat } from "./log.ts";
import { parseFaults } from "./faults/parse.ts";
import type { OpsOptions } from "./ops/mod.ts";
import { parsePortRange, resolveOptions, type ServeOptions } from "./options.ts";
import type { ConfigLayer } from "./config/merge.ts";
import { MAX_WORKERS, type WorkerCount } from "./config/types.ts";
import { envName, envNames, FLAGS, helpText } from "./app/flags.ts";
import { VERSION as PACKAGE_VERSION } from "./version.ts";

export { envName, envNames, helpText };

/** The version printed by `--version`. */
export const VERSION: string = PACKAGE_VERSION;

/** The S3 settings the command line can set (credentials never: they would show in `ps`). */
export interface CliS3Settings {
  /** `--s3-endpoint`. */
  endpoint?: string;
  /** `--s3-region`. */
  region?: string;
  /** `--s3-path-style`. */
  pathStyle?: boolean;
  /** `--s3-part-size`, in bytes (the flag is in MiB). */
  partSize?: number;
  /** `--s3-max-rename-keys`. */
  maxRenameKeys?: number;
  /** `--s3-list-cache`, in milliseconds (the flag is in seconds). */
  listCacheMs?: number;
}

/** What one source (the environment, or the flags) set explicitly, shaped for `mergeConfig()`. */
export interface CliLayer extends ConfigLayer {
  /** S3 settings. */
  s3?: CliS3Settings;
  /** `--fault` values for the S3 layer (`s3-*`), parsed once an S3 root is opened. */
  s3Faults?: string[];
}

/** Everything main.ts needs to start. */
export interface CliConfig {
  serve: ServeOptions & { root: string; hostname: string; port: number };
  logFormat: LogFormat;
  logLevel: "debug" | "info" | "warning" | "error";
  help: boolean;
  version: boolean;
  /** Where to write the JSON ready line; "-" for stdout only. */
  readyFile: string | undefined;
  /** Shut down after this many milliseconds. */
  exitAfterMs: number | undefined;
  /** `--workers`: isolates sharing the port (undefined: 1). */
  workers?: WorkerCount;
  /** Exit 0 after this many milliseconds without a session (`--exit-when-idle`). */
  exitWhenIdleMs?: number;
  /** Shut down when stdin reaches end of file. */
  stdinLifeline: boolean;
  /** Shut down when the parent process exits (the process is re-parented). */
  parentLifeline?: boolean;
  /** The user made up by `--user random`, whose password only the ready line can tell. */
  randomUser?: { name: string; password: string };
  /** `--config FILE`: load it, then apply {@linkcode given} over it. */
  configFile?: string;
  /** The operations parts the flags configure (`--http-port`, `--transfer-log`, ...). */
  ops?: OpsOptions;
  /** S3 settings of the flags, for an `s3://` root. */
  s3?: CliS3Settings;
  /** `--fault` values for the S3 layer. */
  s3Faults?: string[];
  /** Only what the environment and the flags set, each apart: the layers over a config file. */
  given?: { env: CliLayer; flags: CliLayer };
}

/** A command-line mistake: main.ts prints it and exits with code 2. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Where a flag's value came from. */
type Source = "flags" | "env";
type Value = string | boolean | string[];

/**
 * Parses the command line (and the environment) into a {@linkcode CliConfig}, and validates the
 * options as `serve()` will. Throws {@linkcode CliError} for unknown flags and bad values; its
 * message names the flag (and the variable, for a value from the environment), never the
 * library's option name, and never echoes a password. With `--config`, what only the merged
 * result can tell (TLS options without a certificate, an HTTP token without a port) is left to
 * the caller, which checks after merging.
 */
export function parseCli(
  args: string[],
  env: (name: string) => string | undefined = () => undefined,
): CliConfig {
  const parsed = parseFlags(args);
  const sources = new Map<string, Source>();
  const variables = new Map<string, string>();
  // Each variable is read once (a Deno op each time otherwise, for every unset flag).
  const seen = new Map<string, Value | undefined>();
  const get = (name: string): Value | undefined => {
    if (seen.has(name)) return seen.get(name);
    let value: Value | undefined;
    if (parsed[name] !== undefined) {
      sources.set(name, "flags");
      value = parsed[name];
    } else {
      const found = fromEnv(name, env);
      if (found !== undefined) {
        sources.set(name, "env");
        variables.set(name, found.variable);
      }
      value = found?.value;
    }
    seen.set(name, value);
    return value;
  };
  /** How to name a flag in an error: `--port`, or `--port (from FTPGATE_PORT)`. */
  const label = (name: string) => {
    const variable = variables.get(name);
    return variable === undefined ? `--${name}` : `--${name} (from ${variable})`;
  };
  const text = (name: string) => get(name) as string | undefined;
  const flag = (name: string) => get(name) === true;
  // The value first: reading it records where it came from, which the label names.
  const integer = (name: string) => {
    const value = text(name);
    return wholeNumber(label(name), value);
  };
  const seconds = (name: string) => {
    const value = text(name);
    return milliseconds(label(name), value);
  };

  const configFile = text("config");
  const layered = configFile !== undefined;
  const users = parseUsers(
    (get("user") as string[] | undefined) ?? [],
    label("user"),
    sources.get("user") === "env",
  );
  const anonymousWrite = flag("anonymous-write");
  const logFormat = text("log-format") ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new CliError(`${label("log-format")}: expected text or json, got "${logFormat}"`);
  }
  const logLevel = text("log-level") ?? "info";
  if (!["debug", "info", "warning", "error"].includes(logLevel)) {
    throw new CliError(
      `${label("log-level")}: expected debug, info, warning or error, got "${logLevel}"`,
    );
  }
  const serve: CliConfig["serve"] = {
    root: text("root") ?? ".",
    hostname: text("host") ?? "127.0.0.1",
    port: integer("port") ?? 2121,
    users,
    anonymous: anonymousWrite
      ? "write"
      : flag("anonymous")
      ? "read"
      : users.length === 0
      ? "read"
      : false,
    allowFxp: flag("allow-fxp"),
    allowActive: !flag("no-active"),
    listCache: !flag("no-list-cache"),
    atomicUploads: flag("atomic-uploads"),
  };
  const pasvPorts = text("pasv-ports");
  if (pasvPorts !== undefined) {
    try {
      serve.passivePorts = parsePortRange(pasvPorts);
    } catch (error) {
      throw new CliError(`${label("pasv-ports")}: ${withoutOptionName(error)}`);
    }
  }
  const pasvAddress = text("pasv-address");
  if (pasvAddress !== undefined) {
    if (!isIPv4(pasvAddress) && !isHostName(pasvAddress)) {
      throw new CliError(
        `${label("pasv-address")}: expected an IPv4 address or a host name, got "${pasvAddress}"`,
      );
    }
    serve.passiveAddress = pasvAddress;
  }
  const cert = text("tls-cert");
  const key = text("tls-key");
  if ((cert === undefined) !== (key === undefined)) {
    throw new CliError("--tls-cert and --tls-key go together");
  }
  if (cert !== undefined && key !== undefined) {
    if (flag("tls-self-signed")) {
      throw new CliError("--tls-self-signed and --tls-cert exclude each other");
    }
    serve.tls = { certFile: cert, keyFile: key };
  } else if (flag("tls-self-signed")) {
    serve.tls = { selfSigned: true };
  }
  for (const [name, option] of BOOLEAN_OPTIONS) if (flag(name)) serve[option] = true;
  const implicitPort = integer("implicit-tls-port");
  if (implicitPort !== undefined) serve.implicitTlsPort = implicitPort;
  const portGiven = !layered || sources.has("port");
  if (
    implicitPort !== undefined && implicitPort !== 0 && portGiven && implicitPort === serve.port
  ) {
    throw new CliError(`${label("implicit-tls-port")}: ${implicitPort} is already --port`);
  }
  const wantsTls = serve.requireTls || serve.requireTlsData || serve.requireTlsSessionReuse ||
    serve.implicitTlsPort !== undefined;
  if (wantsTls && !serve.tls && !layered) {
    throw new CliError("TLS options need --tls-cert and --tls-key, or --tls-self-signed");
  }
  for (const [name, key] of Object.entries(LIMIT_FLAGS)) {
    const value = FLAGS[name].kind === "seconds" ? seconds(name) : integer(name);
    if (value !== undefined) Object.assign(serve, { [key]: value });
  }
  const restartMarker = integer("restart-marker-interval");
  if (restartMarker !== undefined) serve.restartMarkerIntervalBytes = restartMarker;
  const codePage = text("ebcdic-code-page");
  if (codePage !== undefined) {
    if (codePage !== "037" && codePage !== "1047") {
      throw new CliError(`${label("ebcdic-code-page")}: expected 037 or 1047, got "${codePage}"`);
    }
    serve.ebcdicCodePage = codePage;
  }
  const allFaults = (get("fault") as string[] | undefined) ?? [];
  const s3Faults = allFaults.filter(isS3Fault);
  const faults = allFaults.filter((spec) => !isS3Fault(spec));
  if (faults.length > 0) {
    try {
      serve.faults = parseFaults(faults);
    } catch (error) {
      throw new CliError(`${label("fault")}: ${(error as Error).message}`);
    }
  }
  const transcript = text("transcript");
  if (transcript !== undefined) serve.transcript = transcript;
  // The library's own checks (ranges, user names), run now so that a mistake is a bad flag
  // (exit 2, the flag named) and not a failed start. A host name for PASV is resolved later;
  // with a config file, the certificate may come from the file (checked after merging).
  try {
    resolveOptions({
      ...serve,
      passiveAddress: pasvAddress !== undefined && isIPv4(pasvAddress) ? pasvAddress : undefined,
      ...(layered && !serve.tls ? { tls: { selfSigned: true } } : {}),
    });
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new CliError(flagMessage(error.message, label));
    }
    throw error;
  }
  const s3 = parseS3(get, integer, label);
  const ops = parseOps(get, integer, seconds, label, layered);
  const random = users.find((user) => user.random);
  const config: CliConfig = {
    serve: { ...serve, users: users.map(({ name, password }) => ({ name, password })) },
    readyFile: text("ready-file"),
    exitAfterMs: seconds("exit-after"),
    stdinLifeline: flag("stdin-lifeline"),
    parentLifeline: flag("parent-lifeline"),
    ...(random ? { randomUser: { name: random.name, password: random.password } } : {}),
    logFormat,
    logLevel: logLevel as CliConfig["logLevel"],
    help: flag("help"),
    version: flag("version"),
  };
  const idle = seconds("exit-when-idle");
  if (idle !== undefined) config.exitWhenIdleMs = idle;
  const workers = text("workers");
  if (workers !== undefined) config.workers = parseWorkerCount(label("workers"), workers);
  if (configFile !== undefined) config.configFile = configFile;
  if (Object.keys(ops).length > 0) config.ops = ops;
  if (Object.keys(s3).length > 0) config.s3 = s3;
  if (s3Faults.length > 0) config.s3Faults = s3Faults;
  // The layers matter only over a config file: a plain start does not build them.
  if (layered) config.given = layers(config, get, sources);
  return config;
}

/**
 * The flags given explicitly, on the command line or through their variable (for the launcher,
 * which makes the paths among them absolute). Throws {@linkcode CliError} as `parseCli` does.
 */
export function givenFlags(
  args: string[],
  env: (name: string) => string | undefined = () => undefined,
): Set<string> {
  const parsed = parseFlags(args);
  return new Set(
    Object.keys(FLAGS).filter((name) => parsed[name] !== undefined || fromEnv(name, env)),
  );
}

/** Boolean flags that set a `ServeOptions` field to true. */
const BOOLEAN_OPTIONS = [
  ["require-tls", "requireTls"],
  ["require-tls-data", "requireTlsData"],
  ["require-tls-session-reuse", "requireTlsSessionReuse"],
  ["tls-allow-truncation", "tlsAllowTruncatedUploads"],
  ["mode-z", "modeZ"],
] as const;

/** The flags that set a limit of {@linkcode ServeOptions}, and the option each one sets. */
const LIMIT_FLAGS: Record<string, keyof ServeOptions> = {
  "max-sessions": "maxSessions",
  "max-sessions-per-ip": "maxSessionsPerIp",
  "idle-timeout": "idleTimeoutMs",
  "data-timeout": "dataTimeoutMs",
  "stall-timeout": "stallTimeoutMs",
  "max-line-length": "maxLineLength",
  "max-pipelined": "maxPipelinedBytes",
  "max-login-attempts": "maxLoginAttempts",
  "login-failure-delay": "loginFailureDelayMs",
  "ban-after": "banAfterFailures",
  "ban-duration": "banDurationMs",
  "shutdown-grace": "shutdownGraceMs",
  "tls-sniff": "tlsSniffMs",
};

/** Every option `resolveOptions` may name in an error, and the flag that sets it. */
const OPTION_FLAGS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(LIMIT_FLAGS).map(([flag, option]) => [option, flag])),
  root: "root",
  hostname: "host",
  port: "port",
  users: "user",
  anonymous: "anonymous",
  passivePorts: "pasv-ports",
  passiveAddress: "pasv-address",
  implicitTlsPort: "implicit-tls-port",
  tls: "tls-cert",
  faults: "fault",
  transcript: "transcript",
  restartMarkerIntervalBytes: "restart-marker-interval",
  ebcdicCodePage: "ebcdic-code-page",
  modeZ: "mode-z",
  tlsAllowTruncatedUploads: "tls-allow-truncation",
  requireTls: "require-tls",
  requireTlsData: "require-tls-data",
  requireTlsSessionReuse: "require-tls-session-reuse",
};

/**
 * The flag that sets a library option (`maxLineLength` → `max-line-length`), or undefined.
 *
 * @example
 * ```ts
 * import { optionFlag } from "./cli.ts";
 * optionFlag("passiveAddress"); // "pasv-address"
 * ```
 */
export function optionFlag(option: string): string | undefined {
  return OPTION_FLAGS[option];
}

/**
 * Rewrites an error of `resolveOptions` ("maxLineLength: expected an integer from 64 to 1048576,
 * got 10") for the command line ("--max-line-length: ..."); milliseconds of a seconds flag are
 * given back in seconds. A message of an option no flag sets is returned as it is.
 */
export function flagMessage(message: string, label: (flag: string) => string): string {
  const match = /^(\w+): (.*)$/s.exec(message);
  const flag = match ? OPTION_FLAGS[match[1]] : undefined;
  if (!match || flag === undefined) return message;
  let rest = match[2];
  if (FLAGS[flag].kind === "seconds") {
    const seconds = (ms: string) => String(Number(ms) / 1000);
    rest = rest.replace(
      /^expected an integer from (\d+) to (\d+), got (\S+)$/,
      (_, min, max, got) =>
        `expected seconds from ${seconds(min)} to ${seconds(max)}, got ${seconds(got)}`,
    );
  }
  return `${label(flag)}: ${rest}`;
}

/** A range error's message without the option name it starts with ("passivePorts: ..."). */
function withoutOptionName(error: unknown): string {
  return (error as Error).message.replace(/^\w+: /, "");
}

/** RFC 1123 host names; all-digit names are mistyped addresses, not names. */
function isHostName(value: string): boolean {
  return HOSTNAME.test(value) && !/^[\d.]+$/.test(value);
}

const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

function isS3Fault(spec: string): boolean {
  return spec.startsWith("s3-");
}

type Label = (name: string) => string;

/** A URL the server will call: http(s), and no `user:password@` (it would show in `ps`). */
function httpUrl(label: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${label}: expected an http:// or https:// URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`${label}: expected an http:// or https:// URL`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new CliError(`${label}: credentials in the URL would show in ps and logs`);
  }
  return value;
}

function parseS3(
  get: GetRaw,
  integer: (name: string) => number | undefined,
  label: Label,
): CliS3Settings {
  const text = (name: string) => get(name) as string | undefined;
  const s3: CliS3Settings = {};
  const endpoint = text("s3-endpoint");
  if (endpoint !== undefined) s3.endpoint = httpUrl(label("s3-endpoint"), endpoint);
  const region = text("s3-region");
  if (region !== undefined) s3.region = region;
  const pathStyle = get("s3-path-style");
  if (pathStyle !== undefined) s3.pathStyle = pathStyle === true;
  const part = integer("s3-part-size");
  if (part !== undefined) {
    if (part < 5 || part > 5120) {
      throw new CliError(`${label("s3-part-size")}: expected MiB from 5 to 5120, got ${part}`);
    }
    s3.partSize = part * 1024 * 1024;
  }
  const keys = integer("s3-max-rename-keys");
  if (keys !== undefined) {
    if (keys < 1) throw new CliError(`${label("s3-max-rename-keys")}: must be at least 1`);
    s3.maxRenameKeys = keys;
  }
  const listCache = text("s3-list-cache");
  if (listCache !== undefined) s3.listCacheMs = milliseconds(label("s3-list-cache"), listCache)!;
  return s3;
}

/**
 * The ops parts of the flags. Without a config file a part's extra flags need its main one
 * (`--http-token-file` without `--http-port`); with one, the file may hold it.
 */
function parseOps(
  get: GetRaw,
  integer: (name: string) => number | undefined,
  seconds: (name: string) => number | undefined,
  label: Label,
  layered: boolean,
): OpsOptions {
  const text = (name: string) => get(name) as string | undefined;
  const ops: OpsOptions = {};
  /** `--http-token-file` without `--http-port` is a mistake (a boolean given false is not). */
  const needs = (main: string, others: string[]) => {
    if (layered || get(main) !== undefined) return;
    const extra = others.find((name) => get(name) !== undefined && get(name) !== false);
    if (extra !== undefined) throw new CliError(`${label(extra)} needs --${main}`);
  };
  const http: Partial<NonNullable<OpsOptions["http"]>> = {};
  const httpPort = integer("http-port");
  if (httpPort !== undefined) {
    if (httpPort > 65535) {
      throw new CliError(`${label("http-port")}: expected an integer from 0 to 65535`);
    }
    http.port = httpPort;
  }
  const httpHost = text("http-host");
  if (httpHost !== undefined) http.hostname = httpHost;
  const tokenFile = text("http-token-file");
  if (tokenFile !== undefined) http.tokenFile = tokenFile;
  const insecure = get("http-insecure");
  if (insecure !== undefined) http.insecure = insecure === true;
  needs("http-port", ["http-host", "http-token-file", "http-insecure"]);
  // Without a config file a part exists only with its main flag (`--http-insecure` given false
  // through the environment starts no HTTP port).
  const part = (main: string, value: object) =>
    Object.keys(value).length > 0 && (layered || get(main) !== undefined);
  if (part("http-port", http)) ops.http = http as NonNullable<OpsOptions["http"]>;

  const logPath = text("transfer-log");
  const logFormat = text("transfer-log-format");
  if (logFormat !== undefined && logFormat !== "xferlog" && logFormat !== "json") {
    throw new CliError(
      `${label("transfer-log-format")}: expected xferlog or json, got "${logFormat}"`,
    );
  }
  needs("transfer-log", ["transfer-log-format"]);
  if ((logPath !== undefined || logFormat !== undefined) && (layered || logPath !== undefined)) {
    ops.transferLog = {
      ...(logPath === undefined ? {} : { path: logPath }),
      ...(logFormat === undefined ? {} : { format: logFormat }),
    } as NonNullable<OpsOptions["transferLog"]>;
  }

  const upload: Partial<NonNullable<OpsOptions["onUpload"]>> = {};
  const command = text("on-upload");
  if (command !== undefined) upload.command = command;
  const timeout = seconds("on-upload-timeout");
  if (timeout !== undefined) {
    if (timeout < 1 || timeout > 2 ** 31 - 1) {
      throw new CliError(`${label("on-upload-timeout")}: expected seconds from 0.001 to 2147483`);
    }
    upload.timeoutMs = timeout;
  }
  const concurrency = integer("on-upload-concurrency");
  if (concurrency !== undefined) {
    if (concurrency < 1) {
      throw new CliError(`${label("on-upload-concurrency")}: must be at least 1`);
    }
    upload.concurrency = concurrency;
  }
  needs("on-upload", ["on-upload-timeout", "on-upload-concurrency"]);
  if (part("on-upload", upload)) ops.onUpload = upload as NonNullable<OpsOptions["onUpload"]>;

  const webhook: Partial<NonNullable<OpsOptions["webhook"]>> = {};
  const url = text("webhook");
  if (url !== undefined) webhook.url = httpUrl(label("webhook"), url);
  const secretFile = text("webhook-secret-file");
  if (secretFile !== undefined) webhook.secretFile = secretFile;
  const events = text("webhook-events");
  if (events !== undefined) {
    const types = items(events);
    if (types.length === 0) throw new CliError(`${label("webhook-events")}: names no event`);
    webhook.types = types as NonNullable<OpsOptions["webhook"]>["types"];
  }
  const queue = integer("webhook-queue");
  if (queue !== undefined) {
    if (queue < 1) throw new CliError(`${label("webhook-queue")}: must be at least 1`);
    webhook.maxQueue = queue;
  }
  needs("webhook", ["webhook-secret-file", "webhook-events", "webhook-queue"]);
  if (part("webhook", webhook)) ops.webhook = webhook as NonNullable<OpsOptions["webhook"]>;
  return ops;
}

/**
 * Which part of the configuration each flag sets, and how to read it back: the layers over a
 * config file are built from this, so that only what was given overrides the file. A value set
 * by several flags (a TLS source) belongs to the command line if any of them was given there.
 */
const LAYER_FIELDS: [flags: string[], read: (c: CliConfig, get: GetRaw) => CliLayer][] = [
  [["root"], (c) => ({ serve: { root: c.serve.root } })],
  [["host"], (c) => ({ serve: { hostname: c.serve.hostname } })],
  [["port"], (c) => ({ serve: { port: c.serve.port } })],
  [["user"], (c) => ({ serve: { users: c.serve.users } })],
  [["anonymous", "anonymous-write"], (_, get) => ({
    serve: {
      anonymous: get("anonymous-write") === true ? "write" : get("anonymous") === true && "read",
    },
  })],
  [["allow-fxp"], (_, get) => ({ serve: { allowFxp: get("allow-fxp") === true } })],
  [["no-active"], (_, get) => ({ serve: { allowActive: get("no-active") !== true } })],
  [["no-list-cache"], (_, get) => ({ serve: { listCache: get("no-list-cache") !== true } })],
  [["atomic-uploads"], (_, get) => ({ serve: { atomicUploads: get("atomic-uploads") === true } })],
  [["pasv-ports"], (c) => ({ serve: { passivePorts: c.serve.passivePorts } })],
  [["pasv-address"], (c) => ({ serve: { passiveAddress: c.serve.passiveAddress } })],
  [["tls-cert", "tls-key", "tls-self-signed"], (c) => ({ serve: { tls: c.serve.tls } })],
  ...BOOLEAN_OPTIONS.map(([flag, option]): [string[], (c: CliConfig, get: GetRaw) => CliLayer] => [
    [flag],
    (_, get) => ({ serve: { [option]: get(flag) === true } }),
  ]),
  [["implicit-tls-port"], (c) => ({ serve: { implicitTlsPort: c.serve.implicitTlsPort } })],
  ...Object.entries(LIMIT_FLAGS).map((
    [flag, option],
  ): [string[], (c: CliConfig) => CliLayer] => [[flag], (c) => ({
    serve: { [option]: c.serve[option] },
  })]),
  [["restart-marker-interval"], (c) => ({
    serve: { restartMarkerIntervalBytes: c.serve.restartMarkerIntervalBytes },
  })],
  [["ebcdic-code-page"], (c) => ({ serve: { ebcdicCodePage: c.serve.ebcdicCodePage } })],
  [["fault"], (c) => ({ serve: { faults: c.serve.faults }, s3Faults: c.s3Faults })],
  [["transcript"], (c) => ({ serve: { transcript: c.serve.transcript } })],
  [["ready-file"], (c) => ({ run: { readyFile: c.readyFile } })],
  [["exit-after"], (c) => ({ run: { exitAfterMs: c.exitAfterMs } })],
  [["workers"], (c) => ({ run: { workers: c.workers } })],
  [["exit-when-idle"], (c) => ({ run: { exitWhenIdleMs: c.exitWhenIdleMs } })],
  [["stdin-lifeline"], (c) => ({ run: { stdinLifeline: c.stdinLifeline } })],
  [["parent-lifeline"], (c) => ({ run: { parentLifeline: c.parentLifeline } })],
  [["log-format"], (c) => ({ logging: { format: c.logFormat } })],
  [["log-level"], (c) => ({ logging: { level: c.logLevel } })],
  [["http-port"], (c) => ({ ops: { http: { port: c.ops?.http?.port } } } as CliLayer)],
  [["http-host"], (c) => ({ ops: { http: { hostname: c.ops?.http?.hostname } } } as CliLayer)],
  [
    ["http-token-file"],
    (c) => ({ ops: { http: { tokenFile: c.ops?.http?.tokenFile } } } as CliLayer),
  ],
  [["http-insecure"], (c) => ({ ops: { http: { insecure: c.ops?.http?.insecure } } } as CliLayer)],
  [
    ["transfer-log"],
    (c) => ({ ops: { transferLog: { path: c.ops?.transferLog?.path } } } as CliLayer),
  ],
  [["transfer-log-format"], (c) => ({
    ops: { transferLog: { format: c.ops?.transferLog?.format } },
  } as CliLayer)],
  [
    ["on-upload"],
    (c) => ({ ops: { onUpload: { command: c.ops?.onUpload?.command } } } as CliLayer),
  ],
  [["on-upload-timeout"], (c) => ({
    ops: { onUpload: { timeoutMs: c.ops?.onUpload?.timeoutMs } },
  } as CliLayer)],
  [["on-upload-concurrency"], (c) => ({
    ops: { onUpload: { concurrency: c.ops?.onUpload?.concurrency } },
  } as CliLayer)],
  [["webhook"], (c) => ({ ops: { webhook: { url: c.ops?.webhook?.url } } } as CliLayer)],
  [["webhook-secret-file"], (c) => ({
    ops: { webhook: { secretFile: c.ops?.webhook?.secretFile } },
  } as CliLayer)],
  [["webhook-events"], (c) => ({ ops: { webhook: { types: c.ops?.webhook?.types } } } as CliLayer)],
  [
    ["webhook-queue"],
    (c) => ({ ops: { webhook: { maxQueue: c.ops?.webhook?.maxQueue } } } as CliLayer),
  ],
  [["s3-endpoint"], (c) => ({ s3: { endpoint: c.s3?.endpoint } })],
  [["s3-region"], (c) => ({ s3: { region: c.s3?.region } })],
  [["s3-path-style"], (c) => ({ s3: { pathStyle: c.s3?.pathStyle } })],
  [["s3-part-size"], (c) => ({ s3: { partSize: c.s3?.partSize } })],
  [["s3-max-rename-keys"], (c) => ({ s3: { maxRenameKeys: c.s3?.maxRenameKeys } })],
  [["s3-list-cache"], (c) => ({ s3: { listCacheMs: c.s3?.listCacheMs } })],
];

type GetRaw = (name: string) => Value | undefined;

/** Splits what was given into the environment's layer and the command line's. */
function layers(
  config: CliConfig,
  get: GetRaw,
  sources: Map<string, Source>,
): { env: CliLayer; flags: CliLayer } {
  const out = { env: {} as CliLayer, flags: {} as CliLayer };
  for (const [flags, read] of LAYER_FIELDS) {
    const from = flags.map((name) => sources.get(name)).filter((source) => source !== undefined);
    if (from.length === 0) continue;
    deepAssign(out[from.includes("flags") ? "flags" : "env"], read(config, get));
  }
  return out;
}

/** Copies the defined leaves of `source` into `target` (two levels: part, then field). */
function deepAssign(target: CliLayer, source: CliLayer): void {
  const into = target as Record<string, unknown>;
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (Array.isArray(value) || typeof value !== "object" || value === null) {
      into[key] = value;
      continue;
    }
    const part = (into[key] ??= {}) as Record<string, unknown>;
    for (const [field, leaf] of Object.entries(value)) {
      if (leaf === undefined) continue;
      if (key === "ops" && typeof leaf === "object" && leaf !== null && !Array.isArray(leaf)) {
        const defined = Object.entries(leaf).filter(([, v]) => v !== undefined);
        if (defined.length === 0) continue;
        part[field] = { ...(part[field] as object | undefined), ...Object.fromEntries(defined) };
      } else {
        part[field] = leaf;
      }
    }
  }
}

/**
 * `--name value`, `--name=value`, `--flag`; list flags repeat. Strict: unknown flags, missing
 * values, values given to boolean flags and positional arguments are errors. (node:util's
 * parseArgs does the same, but loading it costs 8 ms of every start.)
 */
function parseFlags(args: readonly string[]): Record<string, Value> {
  const values: Record<string, Value> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--") || arg === "--") {
      throw new CliError(`unexpected argument "${arg}"`);
    }
    const equals = arg.indexOf("=");
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const flag = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
    if (flag === undefined) throw new CliError(`unknown option "--${name}"`);
    if (flag.kind === "boolean") {
      if (equals !== -1) throw new CliError(`--${name} takes no value`);
      values[name] = true;
      continue;
    }
    let value: string;
    if (equals !== -1) value = arg.slice(equals + 1);
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) value = args[++i];
    else throw new CliError(`--${name} needs a value`);
    if (flag.kind === "list") values[name] = [...((values[name] as string[]) ?? []), value];
    else values[name] = value;
  }
  return values;
}

function fromEnv(
  name: string,
  env: (name: string) => string | undefined,
): { value: Value; variable: string } | undefined {
  const kind = FLAGS[name].kind;
  const variable = envName(name);
  let value = env(variable) || undefined;
  // FTPGATE_USERS reads more naturally for a list; both spellings work, but not both at once.
  const plural = kind === "list" ? env(variable + "S") || undefined : undefined;
  if (value !== undefined && plural !== undefined) {
    throw new CliError(`${variable} and ${variable}S are both set: set one of them`);
  }
  if (value === undefined && plural === undefined) return undefined;
  if (plural !== undefined) return { value: items(plural), variable: variable + "S" };
  if (kind === "list") return { value: items(value!), variable };
  if (kind !== "boolean") return { value: value!, variable };
  value = value!.toLowerCase();
  if (TRUE.includes(value)) return { value: true, variable };
  if (FALSE.includes(value)) return { value: false, variable };
  throw new CliError(
    `${variable}: expected ${TRUE.join(", ")} or ${FALSE.join(", ")}, got "${value}"`,
  );
}

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];

function items(value: string): string[] {
  return value.split(",").map((item) => item.trim()).filter(Boolean);
}

/** Users from `--user` values; `random` marks the one made up. Errors never quote a password. */
function parseUsers(
  specs: readonly string[],
  label: string,
  fromEnv: boolean,
): (UserConfig & { password: string; random?: boolean })[] {
  const users = specs.map((spec, index) => {
    // `--user random`: fresh credentials, announced in the ready line.
    if (spec === "random") {
      const bytes = crypto.getRandomValues(new Uint8Array(12));
      const password = btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "x");
      return { name: `u${crypto.randomUUID().slice(0, 8)}`, password, random: true };
    }
    const colon = spec.indexOf(":");
    // The value is not quoted back: it may be (part of) a password.
    if (colon <= 0) {
      const which = specs.length > 1 ? ` (item ${index + 1})` : "";
      const hint = fromEnv ? "; items are separated by commas, so a password cannot hold one" : "";
      throw new CliError(`${label}${which}: expected NAME:PASSWORD or random${hint}`);
    }
    const name = spec.slice(0, colon);
    const password = spec.slice(colon + 1);
    if (password === "") throw new CliError(`${label}: user "${name}" has an empty password`);
    return { name, password };
  });
  if (users.filter((user) => user.random).length > 1) {
    throw new CliError(`${label}: random can be given only once`);
  }
  const seen = new Set<string>();
  for (const { name } of users) {
    if (seen.has(name)) throw new CliError(`${label}: user "${name}" is given twice`);
    seen.add(name);
  }
  return users;
}

function wholeNumber(label: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CliError(`${label}: expected a whole number, got "${text}"`);
  return Number(text);
}

/** `--workers`: a count from 1 to 64, or `auto` (one per core, resolved at start). */
function parseWorkerCount(label: string, text: string): WorkerCount {
  if (text === "auto") return "auto";
  const count = wholeNumber(label, text) ?? 0;
  if (count < 1 || count > MAX_WORKERS) {
    throw new CliError(`${label}: expected 1 to ${MAX_WORKERS} or auto, got "${text}"`);
  }
  return count;
}

function milliseconds(label: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) throw new CliError(`${label}: expected seconds, got "${text}"`);
  return Math.round(Number(text) * 1000);
}
