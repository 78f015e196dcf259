/**
 * Command line and environment → options. Pure: the caller passes argv and an env lookup.
 *
 * Every flag can also come from an environment variable, `FTPGATE_` plus the flag name in upper
 * snake case (`--pasv-ports` → `FTPGATE_PASV_PORTS`); a flag on the command line wins.
 *
 * @module
 */

import type { UserConfig } from "./identity/static.ts";
import { isIPv4 } from "./data/address.ts";
import type { LogFormat } from "./log.ts";
import { parseFaults } from "./faults/parse.ts";
import { DEFAULTS, parsePortRange, resolveOptions, type ServeOptions } from "./options.ts";
import { VERSION as PACKAGE_VERSION } from "./version.ts";

/** The version printed by `--version`. */
export const VERSION: string = PACKAGE_VERSION;

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
  /** Shut down when stdin reaches end of file. */
  stdinLifeline: boolean;
  /** Shut down when the parent process exits (the process is re-parented). */
  parentLifeline?: boolean;
  /** The user made up by `--user random`, whose password only the ready line can tell. */
  randomUser?: { name: string; password: string };
}

/** A command-line mistake: main.ts prints it and exits with code 2. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

type FlagKind = "string" | "boolean" | "seconds" | "integer" | "list";

interface Flag {
  kind: FlagKind;
  help: string;
  /** Shown in --help as the value's name. */
  value?: string;
  /** Default shown in --help. */
  default?: string;
}

/** The flags, in --help order. */
const FLAGS: Record<string, Flag> = {
  "root": { kind: "string", value: "DIR", help: "Directory to serve", default: "." },
  "host": {
    kind: "string",
    value: "ADDR",
    help: "Address to listen on (:: for IPv6 and IPv4)",
    default: DEFAULTS.hostname,
  },
  "port": {
    kind: "integer",
    value: "N",
    help: "Port to listen on (0: any free port)",
    default: "2121",
  },
  "user": {
    kind: "list",
    value: "NAME:PASS",
    help: "A read-write user (repeatable; env: comma-separated)",
  },
  "anonymous": {
    kind: "boolean",
    help: "Allow anonymous read-only login (default without --user)",
  },
  "anonymous-write": { kind: "boolean", help: "Allow anonymous uploads too (implies --anonymous)" },
  "pasv-ports": { kind: "string", value: "LO-HI", help: "Port range for passive data connections" },
  "pasv-address": {
    kind: "string",
    value: "ADDR",
    help: "IPv4 address to advertise in PASV (NAT)",
  },
  "max-sessions": {
    kind: "integer",
    value: "N",
    help: "Most sessions at once",
    default: String(DEFAULTS.maxSessions),
  },
  "max-sessions-per-ip": {
    kind: "integer",
    value: "N",
    help: "Most sessions at once from one IP",
    default: String(DEFAULTS.maxSessionsPerIp),
  },
  "idle-timeout": {
    kind: "seconds",
    value: "S",
    help: "Close a session idle this long",
    default: String(DEFAULTS.idleTimeoutMs / 1000),
  },
  "data-timeout": {
    kind: "seconds",
    value: "S",
    help: "Wait this long for a data connection",
    default: String(DEFAULTS.dataTimeoutMs / 1000),
  },
  "stall-timeout": {
    kind: "seconds",
    value: "S",
    help: "Abort a transfer that moves no byte this long",
    default: String(DEFAULTS.stallTimeoutMs / 1000),
  },
  "max-line-length": {
    kind: "integer",
    value: "BYTES",
    help: "Longest command line",
    default: String(DEFAULTS.maxLineLength),
  },
  "max-pipelined": {
    kind: "integer",
    value: "BYTES",
    help: "Command bytes read ahead of the one being answered",
    default: String(DEFAULTS.maxPipelinedBytes),
  },
  "max-login-attempts": {
    kind: "integer",
    value: "N",
    help: "Failed logins per session before it is closed",
    default: String(DEFAULTS.maxLoginAttempts),
  },
  "login-failure-delay": {
    kind: "seconds",
    value: "S",
    help: "Delay before answering a failed login",
    default: String(DEFAULTS.loginFailureDelayMs / 1000),
  },
  "ban-after": {
    kind: "integer",
    value: "N",
    help: "Failed logins from one IP before it is banned",
    default: String(DEFAULTS.banAfterFailures),
  },
  "ban-duration": {
    kind: "seconds",
    value: "S",
    help: "How long a ban lasts",
    default: String(DEFAULTS.banDurationMs / 1000),
  },
  "allow-fxp": { kind: "boolean", help: "Allow PORT/EPRT to hosts other than the client" },
  "no-active": { kind: "boolean", help: "Refuse active mode (PORT/EPRT)" },
  "atomic-uploads": {
    kind: "boolean",
    help: "Upload to a hidden temporary file, rename into place on success",
  },
  "shutdown-grace": {
    kind: "seconds",
    value: "S",
    help: "On SIGTERM/SIGINT, let transfers finish this long",
    default: String(DEFAULTS.shutdownGraceMs / 1000),
  },
  "tls-cert": { kind: "string", value: "FILE", help: "TLS certificate (PEM) for FTPS" },
  "tls-key": { kind: "string", value: "FILE", help: "TLS private key (PEM); SIGHUP reloads both" },
  "tls-self-signed": {
    kind: "boolean",
    help: "Generate a throwaway certificate at start (tests, CI)",
  },
  "implicit-tls-port": { kind: "integer", value: "N", help: "Also listen for implicit TLS here" },
  "tls-sniff": {
    kind: "seconds",
    value: "S",
    help: "Main port: wait this long for a TLS ClientHello (0: off)",
    default: String(DEFAULTS.tlsSniffMs / 1000),
  },
  "require-tls": { kind: "boolean", help: "Refuse login and data without TLS" },
  "require-tls-data": { kind: "boolean", help: "Refuse data connections without PROT P" },
  "tls-allow-truncation": {
    kind: "boolean",
    help: "Accept TLS uploads that end without close_notify (refused with 426 by default)",
  },
  "require-tls-session-reuse": {
    kind: "boolean",
    help: "Data TLS must resume the control TLS session",
  },
  "ready-file": {
    kind: "string",
    value: "PATH",
    help: "When listening, write a JSON ready line here (and print it; - prints only)",
  },
  "exit-after": { kind: "seconds", value: "S", help: "Shut down after this long" },
  "stdin-lifeline": { kind: "boolean", help: "Shut down when stdin closes (parent died)" },
  "parent-lifeline": {
    kind: "boolean",
    help: "Shut down when the parent process exits (deno task start sets it)",
  },
  "fault": {
    kind: "list",
    value: "SPEC",
    help:
      "Misbehave on purpose (repeatable): delay=MS, drop-after=VERB, dead-pasv, stall-retr=BYTES, fail-stor=BYTES[:CODE], reject-login=N, split-replies",
  },
  "transcript": {
    kind: "string",
    value: "FILE",
    help: "Append every command and reply (JSON lines)",
  },
  "log-format": {
    kind: "string",
    value: "text|json",
    help: "Log format (stderr)",
    default: "text",
  },
  "log-level": {
    kind: "string",
    value: "LEVEL",
    help: "debug, info, warning or error",
    default: "info",
  },
  "help": { kind: "boolean", help: "Show this help" },
  "version": { kind: "boolean", help: "Show the version" },
};

/** Every environment variable the CLI reads. */
export function envNames(): string[] {
  return [...Object.keys(FLAGS).map(envName), envName("user") + "S"];
}

/** The `--help` text. */
export function helpText(): string {
  const rows = Object.entries(FLAGS).map(([name, flag]) => {
    const left = `  --${name}${flag.value ? " " + flag.value : ""}`;
    const right = flag.help + (flag.default !== undefined ? ` [${flag.default}]` : "");
    return left.padEnd(32) + right;
  });
  return [
    `ftpgate ${VERSION} — an FTP server`,
    "",
    "Usage: ftpgate [options]",
    "",
    ...rows,
    "",
    "Every option can also be set with an environment variable: FTPGATE_ and the option name",
    "in upper case with underscores (FTPGATE_ROOT, FTPGATE_PORT, FTPGATE_USER, ...).",
    "Durations are in seconds.",
  ].join("\n");
}

/** The environment variable for a flag: `pasv-ports` → `FTPGATE_PASV_PORTS`. */
export function envName(flag: string): string {
  return "FTPGATE_" + flag.toUpperCase().replaceAll("-", "_");
}

/**
 * Parses the command line (and the environment) into a {@linkcode CliConfig}, and validates the
 * options as `serve()` will. Throws {@linkcode CliError} for unknown flags and bad values; its
 * message names the flag (and the variable, for a value from the environment), never the
 * library's option name, and never echoes a password.
 */
export function parseCli(
  args: string[],
  env: (name: string) => string | undefined = () => undefined,
): CliConfig {
  const parsed = parseFlags(args);
  const sources = new Map<string, string>();
  const get = (name: string) => {
    if (parsed[name] !== undefined) return parsed[name];
    const found = fromEnv(name, env);
    if (found !== undefined) sources.set(name, found.variable);
    return found?.value;
  };
  /** How to name a flag in an error: `--port`, or `--port (from FTPGATE_PORT)`. */
  const label = (name: string) => {
    const variable = sources.get(name);
    return variable === undefined ? `--${name}` : `--${name} (from ${variable})`;
  };
  const text = (name: string) => get(name) as string | undefined;
  const flag = (name: string) => get(name) === true;
  const integer = (name: string) => {
    const value = text(name);
    return wholeNumber(label(name), value);
  };
  const seconds = (name: string) => {
    const value = text(name);
    return milliseconds(label(name), value);
  };

  const users = parseUsers(
    (get("user") as string[] | undefined) ?? [],
    label("user"),
    sources.has("user"),
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
    hostname: text("host") ?? DEFAULTS.hostname,
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
    if (!isIPv4(pasvAddress)) {
      throw new CliError(
        `${label("pasv-address")}: expected an IPv4 address, got "${pasvAddress}"`,
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
  for (
    const [name, key] of [
      ["require-tls", "requireTls"],
      ["require-tls-data", "requireTlsData"],
      ["require-tls-session-reuse", "requireTlsSessionReuse"],
      ["tls-allow-truncation", "tlsAllowTruncatedUploads"],
    ] as const
  ) {
    if (flag(name)) serve[key] = true;
  }
  const implicitPort = integer("implicit-tls-port");
  if (implicitPort !== undefined) serve.implicitTlsPort = implicitPort;
  if (implicitPort !== undefined && implicitPort !== 0 && implicitPort === serve.port) {
    throw new CliError(`${label("implicit-tls-port")}: ${implicitPort} is already --port`);
  }
  const wantsTls = serve.requireTls || serve.requireTlsData || serve.requireTlsSessionReuse ||
    serve.implicitTlsPort !== undefined;
  if (wantsTls && !serve.tls) {
    throw new CliError("TLS options need --tls-cert and --tls-key, or --tls-self-signed");
  }
  for (const [name, key] of Object.entries(LIMIT_FLAGS)) {
    const value = FLAGS[name].kind === "seconds" ? seconds(name) : integer(name);
    if (value !== undefined) Object.assign(serve, { [key]: value });
  }
  const faults = (get("fault") as string[] | undefined) ?? [];
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
  // (exit 2, the flag named) and not a failed start.
  try {
    resolveOptions(serve);
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new CliError(flagMessage(error.message, label));
    }
    throw error;
  }
  const random = users.find((user) => user.random);
  return {
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
}

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
};

/**
 * Rewrites an error of `resolveOptions` ("maxLineLength: expected an integer from 64 to 1048576,
 * got 10") for the command line ("--max-line-length: ..."); milliseconds of a seconds flag are
 * given back in seconds.
 */
function flagMessage(message: string, label: (flag: string) => string): string {
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

/**
 * `--name value`, `--name=value`, `--flag`; list flags repeat. Strict: unknown flags, missing
 * values, values given to boolean flags and positional arguments are errors. (node:util's
 * parseArgs does the same, but loading it costs 8 ms of every start.)
 */
function parseFlags(args: readonly string[]): Record<string, string | boolean | string[]> {
  const values: Record<string, string | boolean | string[]> = {};
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
): { value: string | boolean | string[]; variable: string } | undefined {
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

function milliseconds(label: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) throw new CliError(`${label}: expected seconds, got "${text}"`);
  return Math.round(Number(text) * 1000);
}
