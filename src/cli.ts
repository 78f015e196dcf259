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
import { DEFAULTS, parsePortRange, type ServeOptions } from "./options.ts";

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

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
 * Parses the command line (and the environment) into a {@linkcode CliConfig}. Throws
 * {@linkcode CliError} for unknown flags and bad values.
 */
export function parseCli(
  args: string[],
  env: (name: string) => string | undefined = () => undefined,
): CliConfig {
  const parsed = parseFlags(args);
  const get = (name: string) => parsed[name] ?? fromEnv(name, env);
  const text = (name: string) => get(name) as string | undefined;
  const flag = (name: string) => get(name) === true;

  const users = ((get("user") as string[] | undefined) ?? []).map(parseUser);
  const anonymousWrite = flag("anonymous-write");
  const logFormat = text("log-format") ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new CliError(`--log-format: expected text or json, got "${logFormat}"`);
  }
  const logLevel = text("log-level") ?? "info";
  if (!["debug", "info", "warning", "error"].includes(logLevel)) {
    throw new CliError(`--log-level: expected debug, info, warning or error, got "${logLevel}"`);
  }
  const serve: CliConfig["serve"] = {
    root: text("root") ?? ".",
    hostname: text("host") ?? DEFAULTS.hostname,
    port: integer("port", text("port")) ?? 2121,
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
      throw new CliError(`--pasv-ports: ${(error as Error).message}`);
    }
  }
  const pasvAddress = text("pasv-address");
  if (pasvAddress !== undefined) {
    if (!isIPv4(pasvAddress)) {
      throw new CliError(`--pasv-address: expected an IPv4 address, got "${pasvAddress}"`);
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
  const implicitPort = integer("implicit-tls-port", text("implicit-tls-port"));
  if (implicitPort !== undefined) serve.implicitTlsPort = implicitPort;
  const wantsTls = serve.requireTls || serve.requireTlsData || serve.requireTlsSessionReuse ||
    serve.implicitTlsPort !== undefined;
  if (wantsTls && !serve.tls) {
    throw new CliError("TLS options need --tls-cert and --tls-key, or --tls-self-signed");
  }
  const limits: [string, keyof ServeOptions, "integer" | "seconds"][] = [
    ["max-sessions", "maxSessions", "integer"],
    ["max-sessions-per-ip", "maxSessionsPerIp", "integer"],
    ["idle-timeout", "idleTimeoutMs", "seconds"],
    ["data-timeout", "dataTimeoutMs", "seconds"],
    ["stall-timeout", "stallTimeoutMs", "seconds"],
    ["max-line-length", "maxLineLength", "integer"],
    ["max-pipelined", "maxPipelinedBytes", "integer"],
    ["max-login-attempts", "maxLoginAttempts", "integer"],
    ["login-failure-delay", "loginFailureDelayMs", "seconds"],
    ["ban-after", "banAfterFailures", "integer"],
    ["ban-duration", "banDurationMs", "seconds"],
    ["shutdown-grace", "shutdownGraceMs", "seconds"],
    ["tls-sniff", "tlsSniffMs", "seconds"],
  ];
  for (const [name, key, kind] of limits) {
    const value = kind === "integer" ? integer(name, text(name)) : seconds(name, text(name));
    if (value !== undefined) Object.assign(serve, { [key]: value });
  }
  const faults = (get("fault") as string[] | undefined) ?? [];
  if (faults.length > 0) {
    try {
      serve.faults = parseFaults(faults);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  }
  const transcript = text("transcript");
  if (transcript !== undefined) serve.transcript = transcript;
  return {
    serve,
    readyFile: text("ready-file"),
    exitAfterMs: seconds("exit-after", text("exit-after")),
    stdinLifeline: flag("stdin-lifeline"),
    logFormat,
    logLevel: logLevel as CliConfig["logLevel"],
    help: flag("help"),
    version: flag("version"),
  };
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
): string | boolean | string[] | undefined {
  const kind = FLAGS[name].kind;
  // FTPGATE_USERS reads more naturally for a list; both spellings work.
  const value = env(envName(name)) ?? (kind === "list" ? env(envName(name) + "S") : undefined);
  if (value === undefined || value === "") return undefined;
  if (kind === "boolean") return ["1", "true", "yes", "on"].includes(value.toLowerCase());
  if (kind === "list") return value.split(",").map((item) => item.trim()).filter(Boolean);
  return value;
}

function parseUser(text: string): UserConfig {
  // `--user random`: fresh credentials, announced in the ready line.
  if (text === "random") {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    const password = btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "x");
    return { name: `u${crypto.randomUUID().slice(0, 8)}`, password };
  }
  const colon = text.indexOf(":");
  if (colon <= 0) throw new CliError(`--user: expected NAME:PASSWORD or random, got "${text}"`);
  return { name: text.slice(0, colon), password: text.slice(colon + 1) };
}

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new CliError(`--${name}: expected a whole number, got "${text}"`);
  return Number(text);
}

function seconds(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) throw new CliError(`--${name}: expected seconds, got "${text}"`);
  return Math.round(Number(text) * 1000);
}
