/**
 * Server options: their types, their defaults, and their validation. Pure: no I/O.
 *
 * Durations are milliseconds in the library (`…Ms`) and seconds on the command line.
 *
 * @module
 */

import { isIPv4 } from "./data/address.ts";
import { cidrProblem } from "./net/cidr.ts";
import type { PortRange } from "./data/passive.ts";
import type { Faults } from "./faults/parse.ts";
import type { IdentityProvider } from "./identity/identity.ts";
import type { AnonymousAccess, UserConfig } from "./identity/static.ts";
import type { Storage } from "./storage/storage.ts";
import type { TlsSource } from "./tls/context.ts";

/**
 * Options for {@linkcode serve}. Every field is optional.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "./options.ts";
 * const options: ServeOptions = {
 *   root: "/srv/ftp",
 *   hostname: "0.0.0.0",
 *   port: 21,
 *   users: [{ name: "alice", password: "secret" }],
 *   passivePorts: [50000, 50100],
 *   passiveAddress: "203.0.113.10",
 *   idleTimeoutMs: 120_000,
 * };
 * ```
 */
export interface ServeOptions {
  /**
   * Directory to serve, `"memory:"` for an empty in-memory tree, or a {@linkcode Storage}.
   * Default: the current directory.
   */
  root?: string | Storage;
  /** Address to listen on. `::` listens on IPv6 and (where the OS allows) IPv4. Default `127.0.0.1`. */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Users who may log in, each with an optional root and rules of their own. */
  users?: UserConfig[];
  /**
   * Anonymous login (`anonymous` or `ftp`): `false`, `true`/`"read"` (read-only), `"write"`
   * (upload-only: no overwrite, delete, rename or rmdir, as vsftpd's `anon_upload_enable`), or
   * `{ root, rules }`. Default: read-only when no user is configured, otherwise off.
   */
  anonymous?: boolean | AnonymousAccess;
  /**
   * Who may log in and what tree they get, instead of `users` and `anonymous`: an external
   * user store, a directory service, an HTTP hook (see `identity/identity.ts`).
   */
  identity?: IdentityProvider;
  /** Ports for passive data connections, inclusive; `[from, to]` or `{ from, to }`. Default: any. */
  passivePorts?: PortRange | readonly [number, number];
  /** Address advertised in PASV replies, for servers behind NAT. Default: the control connection's. */
  passiveAddress?: string;
  /**
   * Addresses advertised to clients by network, checked in order before `passiveAddress`: the
   * first entry whose networks (CIDR) hold the client's address gives the address, where
   * `"local"` means the address the client reached us on. Typical behind NAT: private and
   * loopback clients get `"local"`, everyone else `passiveAddress`.
   */
  passiveAddresses?: readonly PassiveAddressRule[];
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
  /** Text of the 220 greeting. */
  banner?: string;
  /** Most sessions at once; the next connection gets 421. Default 1000. */
  maxSessions?: number;
  /** Most sessions at once from one IP address. Default 100. */
  maxSessionsPerIp?: number;
  /**
   * A session with no command for this long (and no transfer running) is closed. 0 turns the
   * idle timeout off. Default 300 s.
   */
  idleTimeoutMs?: number;
  /** How long to wait for a data connection to be made (passive accept, active connect). Default 30 s. */
  dataTimeoutMs?: number;
  /** A transfer that moves no byte for this long is aborted. Default 120 s. */
  stallTimeoutMs?: number;
  /** Longest command line in bytes. Default 4096. */
  maxLineLength?: number;
  /**
   * Most bytes of commands read ahead of the one being answered (the rest wait in the kernel's
   * socket buffer, which then stops the client). Default 512.
   */
  maxPipelinedBytes?: number;
  /** Failed logins allowed per session before it is closed. Default 3. */
  maxLoginAttempts?: number;
  /** Delay before answering a failed login. Default 1000 ms. */
  loginFailureDelayMs?: number;
  /** Failed logins from one IP (within `banDurationMs`) before that IP is refused. Default 10. */
  banAfterFailures?: number;
  /** How long an IP stays refused after too many failed logins. Default 10 minutes. */
  banDurationMs?: number;
  /** Allow PORT/EPRT to an address other than the client's (FXP). Default false. */
  allowFxp?: boolean;
  /** Allow active mode (PORT/EPRT). Default true. */
  allowActive?: boolean;
  /** Write uploads to a hidden temporary file and rename it into place on success. Default false. */
  atomicUploads?: boolean;
  /**
   * Keep listings of large local directories, kept true by inotify (storage/dir_cache.ts), so
   * that a repeated LIST/MLSD stats only what changed. It needs FFI to glibc (`--allow-ffi`),
   * and is silently off without it. Default true.
   */
  listCache?: boolean;
  /** On shutdown, how long running transfers may continue before they are aborted. Default 10 s. */
  shutdownGraceMs?: number;
  /**
   * TLS credentials for FTPS (RFC 4217): `{ certFile, keyFile }`, `{ cert, key }` (PEM text) or
   * `{ selfSigned: true }`. Enables AUTH TLS, PBSZ, PROT, and implicit TLS.
   */
  tls?: TlsSource;
  /** A second port that speaks implicit TLS from the first byte (the port 990 style). */
  implicitTlsPort?: number;
  /**
   * On the main port, how long to wait for a TLS ClientHello before greeting in plain FTP
   * (0: never serve implicit TLS on the main port). Default 50 ms when TLS is configured.
   */
  tlsSniffMs?: number;
  /** Refuse USER/PASS before AUTH TLS (534), and unprotected data connections (521). */
  requireTls?: boolean;
  /** Refuse unprotected data connections (521) even if the control connection is plain. */
  requireTlsData?: boolean;
  /** Refuse a protected data connection that does not resume the control connection's TLS session. */
  requireTlsSessionReuse?: boolean;
  /**
   * Accept an upload whose TLS data connection ends with a TCP FIN but no close_notify. By
   * default it is refused with 426 (vsftpd's `strict_ssl_read_eof`): an attacker on the path, or
   * a broken middlebox, could have cut it short. Every client we test sends close_notify.
   */
  tlsAllowTruncatedUploads?: boolean;
  /**
   * MODE B and C downloads carry a restart marker (its text: the stored byte offset) about every
   * this many bytes; a client resumes from the last one with REST. 0 sends none. Default 1 MiB.
   */
  restartMarkerIntervalBytes?: number;
  /**
   * Offer MODE Z (deflate, draft-preston-ftpext-deflate): FEAT lists it and MODE Z is accepted.
   * Off by default: lftp uses MODE Z whenever FEAT offers it, and deflate caps a session at
   * ~100 MB/s of CPU work on data that does not compress — worth it on slow links, not on fast
   * ones. Default false.
   */
  modeZ?: boolean;
  /** TYPE E's EBCDIC code page: `"037"` (US/Canada, the default) or `"1047"` (z/OS Latin-1). */
  ebcdicCodePage?: "037" | "1047";
  /** Misbehave on purpose, for testing FTP clients (see `faults/parse.ts`). */
  faults?: Faults;
  /**
   * Record every command and reply: `true` keeps them in memory for `server.transcript()`, a
   * path also appends them to that file as JSON lines.
   */
  transcript?: boolean | string;
  /** Called once the server is listening. */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** One entry of {@linkcode ServeOptions.passiveAddresses}. */
export interface PassiveAddressRule {
  /** Client networks, in CIDR notation (`10.0.0.0/8`, `::1/128`). */
  networks: readonly string[];
  /** The IPv4 address to advertise to them, or `"local"` for the control connection's. */
  address: string;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  root: string | Storage;
  hostname: string;
  port: number;
  users: UserConfig[];
  anonymous: AnonymousAccess;
  identity: IdentityProvider | undefined;
  passivePorts: PortRange | undefined;
  passiveAddress: string | undefined;
  passiveAddresses: readonly PassiveAddressRule[];
  banner: string;
  maxSessions: number;
  maxSessionsPerIp: number;
  idleTimeoutMs: number;
  dataTimeoutMs: number;
  stallTimeoutMs: number;
  maxLineLength: number;
  maxPipelinedBytes: number;
  maxLoginAttempts: number;
  loginFailureDelayMs: number;
  banAfterFailures: number;
  banDurationMs: number;
  allowFxp: boolean;
  allowActive: boolean;
  atomicUploads: boolean;
  listCache: boolean;
  shutdownGraceMs: number;
  tls: TlsSource | undefined;
  implicitTlsPort: number | undefined;
  tlsSniffMs: number;
  requireTls: boolean;
  requireTlsData: boolean;
  requireTlsSessionReuse: boolean;
  tlsAllowTruncatedUploads: boolean;
  restartMarkerIntervalBytes: number;
  modeZ: boolean;
  ebcdicCodePage: "037" | "1047";
  faults: Faults | undefined;
  transcript: boolean | string;
}

/**
 * Defaults for every limit; also shown by `--help`.
 *
 * @example
 * ```ts
 * import { DEFAULTS } from "./options.ts";
 * DEFAULTS.idleTimeoutMs; // 300000
 * ```
 */
export const DEFAULTS = {
  hostname: "127.0.0.1",
  port: 0,
  banner: "ftpgate ready.",
  maxSessions: 1000,
  maxSessionsPerIp: 100,
  idleTimeoutMs: 300_000,
  dataTimeoutMs: 30_000,
  stallTimeoutMs: 120_000,
  maxLineLength: 4096,
  maxPipelinedBytes: 512,
  maxLoginAttempts: 3,
  loginFailureDelayMs: 1000,
  banAfterFailures: 10,
  banDurationMs: 600_000,
  shutdownGraceMs: 10_000,
  tlsSniffMs: 50,
  restartMarkerIntervalBytes: 1 << 20,
} as const;

/**
 * Fills in defaults and checks every value. Throws `TypeError` or `RangeError` with a message that
 * names the option.
 */
export function resolveOptions(options: ServeOptions): ResolvedOptions {
  const users = options.users ?? [];
  for (const user of users) {
    if (!user.name || /[\s:]/.test(user.name)) {
      throw new TypeError(`users: invalid user name ${JSON.stringify(user.name)}`);
    }
    if (user.password !== undefined && typeof user.password !== "string") {
      throw new TypeError(`users: password of ${user.name} must be a string`);
    }
    if (typeof user.password !== "string" && typeof user.passwordHash !== "string") {
      throw new TypeError(`users: ${user.name} needs a password or a passwordHash`);
    }
  }
  const passivePorts = resolvePortRange(options.passivePorts);
  const resolved: ResolvedOptions = {
    root: options.root ?? ".",
    hostname: options.hostname ?? DEFAULTS.hostname,
    port: options.port ?? DEFAULTS.port,
    users,
    anonymous: resolveAnonymous(options.anonymous, users.length),
    identity: options.identity,
    passivePorts,
    passiveAddress: options.passiveAddress,
    passiveAddresses: options.passiveAddresses ?? [],
    banner: options.banner ?? DEFAULTS.banner,
    maxSessions: options.maxSessions ?? DEFAULTS.maxSessions,
    maxSessionsPerIp: options.maxSessionsPerIp ?? DEFAULTS.maxSessionsPerIp,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
    dataTimeoutMs: options.dataTimeoutMs ?? DEFAULTS.dataTimeoutMs,
    stallTimeoutMs: options.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs,
    maxLineLength: options.maxLineLength ?? DEFAULTS.maxLineLength,
    maxPipelinedBytes: options.maxPipelinedBytes ?? DEFAULTS.maxPipelinedBytes,
    maxLoginAttempts: options.maxLoginAttempts ?? DEFAULTS.maxLoginAttempts,
    loginFailureDelayMs: options.loginFailureDelayMs ?? DEFAULTS.loginFailureDelayMs,
    banAfterFailures: options.banAfterFailures ?? DEFAULTS.banAfterFailures,
    banDurationMs: options.banDurationMs ?? DEFAULTS.banDurationMs,
    allowFxp: options.allowFxp ?? false,
    allowActive: options.allowActive ?? true,
    atomicUploads: options.atomicUploads ?? false,
    listCache: options.listCache ?? true,
    shutdownGraceMs: options.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs,
    tls: options.tls,
    implicitTlsPort: options.implicitTlsPort,
    tlsSniffMs: options.tls ? options.tlsSniffMs ?? DEFAULTS.tlsSniffMs : 0,
    requireTls: options.requireTls ?? false,
    requireTlsData: options.requireTlsData ?? false,
    requireTlsSessionReuse: options.requireTlsSessionReuse ?? false,
    tlsAllowTruncatedUploads: options.tlsAllowTruncatedUploads ?? false,
    restartMarkerIntervalBytes: options.restartMarkerIntervalBytes ??
      DEFAULTS.restartMarkerIntervalBytes,
    modeZ: options.modeZ ?? false,
    ebcdicCodePage: options.ebcdicCodePage ?? "037",
    faults: options.faults && Object.keys(options.faults).length > 0 ? options.faults : undefined,
    transcript: options.transcript ?? false,
  };
  const needsTls = resolved.implicitTlsPort !== undefined || resolved.requireTls ||
    resolved.requireTlsData || resolved.requireTlsSessionReuse;
  if (needsTls && !resolved.tls) {
    throw new TypeError(
      "TLS options need a certificate: set tls (--tls-cert/--tls-key or --tls-self-signed)",
    );
  }
  if (resolved.implicitTlsPort !== undefined) {
    checkInteger("implicitTlsPort", resolved.implicitTlsPort, 0, 65535);
  }
  checkInteger("tlsSniffMs", resolved.tlsSniffMs, 0, 10_000);
  if (resolved.passiveAddress !== undefined && !isIPv4(resolved.passiveAddress)) {
    throw new TypeError(
      `passiveAddress: expected an IPv4 address, got "${resolved.passiveAddress}"`,
    );
  }
  for (const [index, rule] of resolved.passiveAddresses.entries()) {
    if (rule.address !== "local" && !isIPv4(rule.address)) {
      throw new TypeError(
        `passiveAddresses[${index}].address: expected an IPv4 address or "local"`,
      );
    }
    for (const network of rule.networks) {
      const problem = cidrProblem(network);
      if (problem !== null) throw new TypeError(`passiveAddresses[${index}].networks: ${problem}`);
    }
  }
  checkInteger("port", resolved.port, 0, 65535);
  for (
    const name of [
      "maxSessions",
      "maxSessionsPerIp",
      "maxLoginAttempts",
      "banAfterFailures",
    ] as const
  ) checkInteger(name, resolved[name], 1, Number.MAX_SAFE_INTEGER);
  // The data and stall timeouts have no "off": a transfer must not wait for ever.
  checkInteger("dataTimeoutMs", resolved.dataTimeoutMs, 1, 2 ** 31 - 1);
  checkInteger("stallTimeoutMs", resolved.stallTimeoutMs, 1, 2 ** 31 - 1);
  for (
    const name of [
      "idleTimeoutMs",
      "loginFailureDelayMs",
      "banDurationMs",
      "shutdownGraceMs",
    ] as const
  ) checkInteger(name, resolved[name], 0, 2 ** 31 - 1);
  checkInteger("maxLineLength", resolved.maxLineLength, 64, 1 << 20);
  checkInteger("maxPipelinedBytes", resolved.maxPipelinedBytes, 16, 1 << 20);
  checkInteger("restartMarkerIntervalBytes", resolved.restartMarkerIntervalBytes, 0, 2 ** 40);
  if (resolved.ebcdicCodePage !== "037" && resolved.ebcdicCodePage !== "1047") {
    throw new TypeError(`ebcdicCodePage: expected "037" or "1047"`);
  }
  if (/[\r\n]/.test(resolved.banner)) throw new TypeError("banner: must be one line");
  return resolved;
}

/** Parses `LO-HI` into a port range; throws `RangeError` when malformed. */
export function parsePortRange(text: string): PortRange {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  if (!match) throw new RangeError(`expected a port range like 50000-50100, got "${text}"`);
  return resolvePortRange([Number(match[1]), Number(match[2])])!;
}

function resolvePortRange(
  range: PortRange | readonly [number, number] | undefined,
): PortRange | undefined {
  if (range === undefined) return undefined;
  const [from, to] = Array.isArray(range)
    ? range
    : [(range as PortRange).from, (range as PortRange).to];
  checkInteger("passivePorts", from, 1024, 65535);
  checkInteger("passivePorts", to, 1024, 65535);
  if (from > to) throw new RangeError(`passivePorts: ${from} is above ${to}`);
  return { from, to };
}

function resolveAnonymous(
  value: boolean | AnonymousAccess | undefined,
  userCount: number,
): AnonymousAccess {
  if (value === undefined) return userCount === 0 ? "read" : false;
  if (value === true) return "read";
  if (value === false || value === "read" || value === "write") return value;
  if (typeof value === "object" && value !== null) return value;
  throw new TypeError(`anonymous: expected true, false, "read", "write" or { root, rules }`);
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected an integer from ${min} to ${max}, got ${value}`);
  }
}
