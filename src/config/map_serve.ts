/**
 * The config file → `serve()` options: users (passwords resolved, hashes checked), anonymous
 * access, passive mode, TLS, limits, faults. Only what the file says is set, so that the
 * environment and flags can still override the rest (see `merge.ts`).
 *
 * @module
 */

import { parseFaults } from "../faults/parse.ts";
import { detectHashFormat } from "../identity/passwords/format.ts";
import type { AnonymousAccess, AnonymousConfig, UserConfig } from "../identity/static.ts";
import { parsePortRange, resolveOptions } from "../options.ts";
import { type Checks, ms } from "./checks.ts";
import type { ConfigFile } from "./schema.ts";
import { duplicateMounts, toUserTree } from "./tree.ts";
import type { ConfigServeOptions } from "./types.ts";

/** Maps the file's server settings, recording problems in `checks`. */
export async function mapServe(config: ConfigFile, checks: Checks): Promise<ConfigServeOptions> {
  const serve: ConfigServeOptions = {};
  if (config.root !== undefined) serve.root = checks.root(config.root, ["root"]);
  if (config.listen?.host !== undefined) serve.hostname = config.listen.host;
  if (config.listen?.port !== undefined) serve.port = config.listen.port;
  if (config.banner !== undefined) serve.banner = config.banner;
  mapPassive(config, serve, checks);
  if (config.users !== undefined) serve.users = await mapUsers(config, checks);
  if (config.anonymous !== undefined) serve.anonymous = mapAnonymous(config, checks);
  if (config.allow_fxp !== undefined) serve.allowFxp = config.allow_fxp;
  if (config.allow_active !== undefined) serve.allowActive = config.allow_active;
  if (config.list_cache !== undefined) serve.listCache = config.list_cache;
  if (config.atomic_uploads !== undefined) serve.atomicUploads = config.atomic_uploads;
  mapTls(config, serve, checks);
  mapLimits(config, serve);
  mapTransfers(config, serve);
  if (config.faults !== undefined) mapFaults(config.faults, serve, checks);
  if (config.logging?.transcript !== undefined) {
    serve.transcript = checks.outputFile(config.logging.transcript, ["logging", "transcript"]);
  }
  checkLibraryRanges(config, serve, checks);
  return serve;
}

/**
 * The library's own range checks (resolveOptions) of the numbers the file set, reported at the
 * file's key and line in the file's unit. The schema lets some through that the library
 * refuses (a data timeout of 0 s, a stall timeout that rounds to 0 ms, a marker interval past
 * 2^40): without this, `check-config` passed them, and the start refused them naming the
 * library's option ("dataTimeoutMs: ... got 0"), which the file and the docs never mention.
 */
function checkLibraryRanges(config: ConfigFile, serve: ConfigServeOptions, checks: Checks): void {
  const ranged: [at: PropertyKey[], option: string, scale: number, value: unknown][] = [
    ...LIMITS.map(([key, option, scale]) =>
      [["limits", key], option, scale, config.limits?.[key]] as [
        PropertyKey[],
        string,
        number,
        unknown,
      ]
    ),
    [
      ["transfers", "restart_marker_interval"],
      "restartMarkerIntervalBytes",
      1,
      config.transfers?.restart_marker_interval,
    ],
    [["listen", "port"], "port", 1, config.listen?.port],
  ];
  for (const [at, option, scale, value] of ranged) {
    if (value === undefined) continue;
    try {
      resolveOptions({ root: "memory:", [option]: (serve as Record<string, unknown>)[option] });
    } catch (error) {
      const message = error instanceof Error ? error.message : "";
      if (!message.startsWith(`${option}: `)) continue; // not this option's: the start says it
      const range = /expected an integer from (\d+) to (\d+)/.exec(message);
      checks.add(
        at,
        range === null
          ? message.slice(option.length + 2)
          : scale === 1
          ? `expected an integer from ${range[1]} to ${range[2]}, got ${value}`
          : `expected seconds from ${Number(range[1]) / scale} to ${Number(range[2]) / scale} ` +
            `(whole milliseconds), got ${value}`,
      );
    }
  }
}

function mapPassive(config: ConfigFile, serve: ConfigServeOptions, checks: Checks): void {
  const passive = config.passive;
  if (passive === undefined) return;
  if (passive.ports !== undefined) {
    const text = typeof passive.ports === "string"
      ? passive.ports
      : `${passive.ports[0]}-${passive.ports[1]}`;
    try {
      serve.passivePorts = parsePortRange(text);
    } catch (error) {
      checks.add(["passive", "ports"], (error as Error).message.replace(/^passivePorts: /, ""));
    }
  }
  if (passive.address !== undefined) serve.passiveAddress = passive.address;
  if (passive.addresses !== undefined) {
    serve.passiveAddresses = passive.addresses.map((rule) => ({
      networks: [...rule.networks],
      address: rule.address,
    }));
  }
}

async function mapUsers(config: ConfigFile, checks: Checks): Promise<UserConfig[]> {
  const users: UserConfig[] = [];
  const names = new Map<string, number>();
  const tls = config.tls?.cert !== undefined || config.tls?.self_signed === true;
  for (const [i, user] of (config.users ?? []).entries()) {
    const at = ["users", i];
    const first = names.get(user.name);
    if (first !== undefined) {
      checks.add([...at, "name"], `"${user.name}" is already the name of users[${first}]`);
    } else {
      names.set(user.name, i);
    }
    const tree = toUserTree(user, (root, suffix) => checks.root(root, [...at, ...suffix]));
    for (const [j, path] of duplicateMounts(user.mounts ?? [])) {
      checks.add([...at, "mounts", j, "path"], `"${path}" is mounted twice`);
    }
    if (user.require_tls && !tls) {
      checks.add([...at, "require_tls"], "needs TLS: set tls.cert and tls.key, or tls.self_signed");
    }
    const out: UserConfig = { name: user.name, ...tree };
    const password = await mapPassword(config, user, at, checks);
    if (password !== undefined) Object.assign(out, password);
    users.push(out);
  }
  return users;
}

/** Exactly one of the four password sources; the hash checked, the others read. */
async function mapPassword(
  config: ConfigFile,
  user: NonNullable<ConfigFile["users"]>[number],
  at: readonly PropertyKey[],
  checks: Checks,
): Promise<{ password: string } | { passwordHash: string } | undefined> {
  const sources = (["password_hash", "password_env", "password_file", "password"] as const)
    .filter((key) => user[key] !== undefined);
  if (sources.length === 0) {
    checks.add(at, "needs password_hash, password_env or password_file");
    return undefined;
  }
  if (sources.length > 1) {
    checks.add(
      [...at, sources[1]],
      `give only one of password_hash, password_env, password_file and password (${
        sources[0]
      } is set)`,
    );
    return undefined;
  }
  if (user.password_hash !== undefined) {
    try {
      detectHashFormat(user.password_hash);
      return { passwordHash: user.password_hash };
    } catch (error) {
      // PasswordHashError names the scheme and the problem, never the hash.
      checks.add([...at, "password_hash"], (error as Error).message);
      return undefined;
    }
  }
  let password: string | undefined;
  if (user.password_env !== undefined) {
    password = checks.secretFromEnv(user.password_env, [...at, "password_env"]);
  } else if (user.password_file !== undefined) {
    password = await checks.secretFromFile(user.password_file, [...at, "password_file"]);
  } else if (config.allow_plaintext !== true) {
    checks.add(
      [...at, "password"],
      'a password in clear needs "allow_plaintext": true; use password_hash ' +
        "(ftpgate hash-password), password_env or password_file",
    );
  } else {
    password = user.password;
  }
  return password === undefined ? undefined : { password };
}

function mapAnonymous(config: ConfigFile, checks: Checks): boolean | AnonymousAccess {
  const anonymous = config.anonymous;
  if (typeof anonymous !== "object" || anonymous === null) return anonymous ?? false;
  const out: AnonymousConfig = {};
  if (anonymous.root !== undefined) out.root = checks.root(anonymous.root, ["anonymous", "root"]);
  if (anonymous.rules !== undefined) {
    out.rules = toUserTree({ rules: anonymous.rules }, (root) => root).rules;
  }
  return out;
}

function mapTls(config: ConfigFile, serve: ConfigServeOptions, checks: Checks): void {
  const tls = config.tls;
  if (tls === undefined) return;
  const at = (key: string) => ["tls", key];
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    checks.add(at(tls.cert === undefined ? "cert" : "key"), "tls.cert and tls.key go together");
  } else if (tls.cert !== undefined && tls.key !== undefined) {
    if (tls.self_signed) checks.add(at("self_signed"), "excludes tls.cert and tls.key");
    serve.tls = {
      certFile: checks.inputFile(tls.cert, at("cert")),
      keyFile: checks.inputFile(tls.key, at("key")),
    };
  } else if (tls.self_signed) {
    serve.tls = { selfSigned: true };
  }
  const options = [
    ["implicit_port", "implicitTlsPort"],
    ["require", "requireTls"],
    ["require_data", "requireTlsData"],
    ["require_session_reuse", "requireTlsSessionReuse"],
    ["allow_truncation", "tlsAllowTruncatedUploads"],
  ] as const;
  for (const [key, option] of options) {
    const value = tls[key];
    if (value === undefined) continue;
    if (serve.tls === undefined && value !== false) {
      checks.add(at(key), "needs a certificate: set tls.cert and tls.key, or tls.self_signed");
    }
    Object.assign(serve, { [option]: value });
  }
  if (tls.sniff !== undefined) {
    if (tls.sniff > 10) checks.add(at("sniff"), "must be at most 10 seconds");
    serve.tlsSniffMs = ms(tls.sniff);
  }
}

/** `limits` key → option and the factor from the file's unit (seconds) to the option's. */
const LIMITS = [
  ["max_sessions", "maxSessions", 1],
  ["max_sessions_per_ip", "maxSessionsPerIp", 1],
  ["idle_timeout", "idleTimeoutMs", 1000],
  ["data_timeout", "dataTimeoutMs", 1000],
  ["stall_timeout", "stallTimeoutMs", 1000],
  ["max_line_length", "maxLineLength", 1],
  ["max_pipelined", "maxPipelinedBytes", 1],
  ["max_login_attempts", "maxLoginAttempts", 1],
  ["login_failure_delay", "loginFailureDelayMs", 1000],
  ["ban_after", "banAfterFailures", 1],
  ["ban_duration", "banDurationMs", 1000],
  ["shutdown_grace", "shutdownGraceMs", 1000],
] as const;

function mapLimits(config: ConfigFile, serve: ConfigServeOptions): void {
  const limits = config.limits;
  if (limits === undefined) return;
  for (const [key, option, scale] of LIMITS) {
    const value = limits[key];
    if (value !== undefined) Object.assign(serve, { [option]: Math.round(value * scale) });
  }
}

/** The `--fault` parser, one spec at a time so that the bad one is named by its index. */
function mapTransfers(config: ConfigFile, serve: ConfigServeOptions): void {
  const transfers = config.transfers;
  if (transfers?.mode_z !== undefined) serve.modeZ = transfers.mode_z;
  if (transfers?.restart_marker_interval !== undefined) {
    serve.restartMarkerIntervalBytes = transfers.restart_marker_interval;
  }
  if (transfers?.ebcdic_code_page !== undefined) {
    serve.ebcdicCodePage = transfers.ebcdic_code_page;
  }
}

/** An S3 layer fault (`s3-slowdown=...`): not the server's to parse. */
export function isS3Fault(spec: string): boolean {
  return spec.startsWith("s3-");
}

function mapFaults(all: readonly string[], serve: ConfigServeOptions, checks: Checks): void {
  let ok = true;
  const specs = all.filter((spec) => !isS3Fault(spec));
  all.forEach((spec, i) => {
    if (isS3Fault(spec)) return;
    try {
      parseFaults([spec]);
    } catch (error) {
      ok = false;
      checks.add(["faults", i], (error as Error).message.replace(/^--fault /, ""));
    }
  });
  if (ok && specs.length > 0) serve.faults = parseFaults(specs);
}
