/**
 * The command line's vocabulary: every flag, its kind, its `--help` line and its environment
 * variable (`FTPGATE_` plus the flag name in upper snake case). Data only, and the help text
 * made from it; `cli.ts` parses with it.
 *
 * @module
 */

import { DEFAULTS } from "../options.ts";
import { VERSION } from "../version.ts";

/** How a flag's value is read. */
export type FlagKind = "string" | "boolean" | "seconds" | "integer" | "list";

/** One flag. */
export interface Flag {
  kind: FlagKind;
  help: string;
  /** Shown in --help as the value's name. */
  value?: string;
  /** Default shown in --help. */
  default?: string;
}

/** Headings of `--help`, each before the flag named. */
const SECTIONS: Record<string, string> = {
  root: "Server",
  "tls-cert": "FTPS",
  "s3-endpoint": "S3 back end (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...)",
  "http-port": "Operations",
  "mode-z": "Representations and modes",
  config: "Process",
};

/** The flags, in --help order. */
export const FLAGS: Record<string, Flag> = {
  "root": {
    kind: "string",
    value: "DIR",
    help: "Directory to serve, memory:, or s3://BUCKET[/PREFIX]",
    default: ".",
  },
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
    help: "IPv4 address or host name to advertise in PASV (NAT; names resolved at start, SIGHUP)",
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
  "no-list-cache": {
    kind: "boolean",
    help: "Stat every entry of every listing (no inotify cache, no FFI grant)",
  },
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
  "s3-endpoint": {
    kind: "string",
    value: "URL",
    help: "S3 endpoint (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS)",
  },
  "s3-region": { kind: "string", value: "REGION", help: "S3 signing region (default: AWS_REGION)" },
  "s3-path-style": {
    kind: "boolean",
    help: "Bucket in the URL path, not the host name (default with --s3-endpoint)",
  },
  "s3-part-size": {
    kind: "integer",
    value: "MiB",
    help: "Multipart upload part size, 5 to 5120",
    default: "8",
  },
  "s3-max-rename-keys": {
    kind: "integer",
    value: "N",
    help: "Most keys a directory rename copies (more: 550)",
    default: "10000",
  },
  "s3-list-cache": {
    kind: "seconds",
    value: "S",
    help: "Serve a directory's listing from memory this long (other instances' changes show late)",
    default: "0 (off)",
  },
  "http-port": {
    kind: "integer",
    value: "N",
    help: "HTTP side port: /healthz, /readyz, /metrics, status page (off without it)",
  },
  "http-host": {
    kind: "string",
    value: "ADDR",
    help: "Address of the HTTP port (not loopback: needs --http-token-file)",
    default: "127.0.0.1",
  },
  "http-token-file": {
    kind: "string",
    value: "FILE",
    help: "Bearer token the HTTP port requires (read from this file)",
  },
  "http-insecure": {
    kind: "boolean",
    help: "Allow a non-loopback --http-host without a token",
  },
  "transfer-log": {
    kind: "string",
    value: "FILE",
    help: "Append a line per transfer (reopened on SIGHUP, for logrotate)",
  },
  "transfer-log-format": {
    kind: "string",
    value: "xferlog|json",
    help: "Format of --transfer-log",
    default: "xferlog",
  },
  "on-upload": {
    kind: "string",
    value: "CMD",
    help: "Run this program after each completed upload (no shell; facts in FTPGATE_* env)",
  },
  "on-upload-timeout": {
    kind: "seconds",
    value: "S",
    help: "Longest run of --on-upload",
    default: "60",
  },
  "on-upload-concurrency": {
    kind: "integer",
    value: "N",
    help: "--on-upload programs running at once",
    default: "4",
  },
  "webhook": { kind: "string", value: "URL", help: "POST events as JSON to this URL" },
  "webhook-secret-file": {
    kind: "string",
    value: "FILE",
    help: "Sign webhook bodies with the key in this file (X-Ftpgate-Signature)",
  },
  "webhook-events": {
    kind: "string",
    value: "TYPES",
    help: "Comma-separated event types to send (default: all)",
  },
  "webhook-queue": {
    kind: "integer",
    value: "N",
    help: "Webhook events waiting at most (the oldest dropped beyond)",
    default: "1000",
  },
  "mode-z": { kind: "boolean", help: "Offer MODE Z (deflate) in FEAT" },
  "restart-marker-interval": {
    kind: "integer",
    value: "BYTES",
    help: "MODE B/C downloads: a restart marker every this many bytes (0: none)",
    default: String(DEFAULTS.restartMarkerIntervalBytes),
  },
  "ebcdic-code-page": {
    kind: "string",
    value: "037|1047",
    help: "EBCDIC code page of TYPE E",
    default: "037",
  },
  "config": {
    kind: "string",
    value: "FILE",
    help: "Config file (JSONC); FTPGATE_* variables and flags override it",
  },
  "ready-file": {
    kind: "string",
    value: "PATH",
    help: "When listening, write a JSON ready line here (and print it; - prints only)",
  },
  "workers": {
    kind: "string",
    value: "N|auto",
    help: "Run sessions in N isolates sharing the port (Linux; auto: one per core)",
    default: "1",
  },
  "exit-after": { kind: "seconds", value: "S", help: "Shut down after this long" },
  "exit-when-idle": {
    kind: "seconds",
    value: "S",
    help: "Exit 0 after this long with no session (scale to zero)",
  },
  "stdin-lifeline": { kind: "boolean", help: "Shut down when stdin closes (parent died)" },
  "parent-lifeline": {
    kind: "boolean",
    help: "Shut down when the parent process exits (deno task start sets it)",
  },
  "fault": {
    kind: "list",
    value: "SPEC",
    help:
      "Misbehave on purpose (repeatable): delay=MS, drop-after=VERB, dead-pasv, stall-retr=BYTES, fail-stor=BYTES[:CODE], reject-login=N, split-replies; with an s3:// root s3-slowdown=COUNT[/EVERY], s3-fail-part=N, s3-slow-get=MS",
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

/** The environment variable for a flag: `pasv-ports` → `FTPGATE_PASV_PORTS`. */
export function envName(flag: string): string {
  return "FTPGATE_" + flag.toUpperCase().replaceAll("-", "_");
}

/** Every environment variable the CLI reads. */
export function envNames(): string[] {
  return [...Object.keys(FLAGS).map(envName), envName("user") + "S"];
}

/** The `--help` text. */
export function helpText(): string {
  const rows: string[] = [];
  for (const [name, flag] of Object.entries(FLAGS)) {
    if (SECTIONS[name] !== undefined) rows.push("", `${SECTIONS[name]}:`);
    const left = `  --${name}${flag.value ? " " + flag.value : ""}`;
    const right = flag.help + (flag.default !== undefined ? ` [${flag.default}]` : "");
    rows.push((left.length < 31 ? left.padEnd(32) : `${left}  `) + right);
  }
  return [
    `ftpgate ${VERSION} — an FTP server`,
    "",
    "Usage: ftpgate [options]",
    "       ftpgate check-config FILE      Validate a config file (exit 0 valid, 2 invalid)",
    "       ftpgate hash-password          Read a password, print its argon2id hash",
    ...rows,
    "",
    "Every option can also be set with an environment variable: FTPGATE_ and the option name",
    "in upper case with underscores (FTPGATE_ROOT, FTPGATE_PORT, FTPGATE_USER, ...).",
    "Precedence: config file < FTPGATE_* variables < flags. Durations are in seconds.",
  ].join("\n");
}
