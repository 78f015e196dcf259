/**
 * The least Deno permission flags that let ftpgate run with a given configuration. Used by
 * `deno task start` and `deno task compile` (scripts/launch.ts). Pure: what needs the machine
 * (S3 hosts, name servers, the source directory) is passed in.
 *
 * - read and write: the roots only — the server's, each user's, each mount's (read only for a
 *   read-only mount), anonymous access's, the directories an identity hook may hand out —
 *   nothing for an in-memory or `s3://` root; plus the files the options name: certificates,
 *   secret files and the config file to read; the ready file and the temporary file it is
 *   renamed from, to read and write (a rename needs both); the transcript and the transfer
 *   log, to append to. On Linux also read on `/proc/self/fd`, through which directories are
 *   listed by open handle (see storage/local.ts). Read on ftpgate's own source directory when
 *   an optional part is loaded from it (see app/lazy.ts) or a password worker starts, and
 *   otherwise on the codecs and digests in it that a client's MODE B, TYPE E or HASH loads;
 * - net: everything when active mode is on (PORT/EPRT connect to the client's address, which is
 *   not known in advance) or when listening on a wildcard address (passive listeners bind to
 *   whichever local address the client reached); otherwise the listen address, the HTTP port's
 *   address, the S3 endpoints, the webhook's and identity hook's hosts, and the name servers
 *   when a PASV address is a host name;
 * - env: the FTPGATE_* variables the CLI reads, the AWS_* ones for an S3 root, and those the
 *   config file names (`password_env`, ...);
 * - run: the upload hook's program, when one is configured;
 * - ffi: glibc only (its known paths, src/storage/libc.ts), on Linux with a local root and the
 *   listing cache on: the cache reads inotify through it. FFI code is not bound by the other
 *   permissions, so `--no-list-cache` (`list_cache: false`) drops the grant for operators who
 *   want the sandbox whole.
 *
 * @module
 */

import type { OpsOptions } from "./ops/mod.ts";
import type { TlsSource } from "./tls/context.ts";
import { SESSION_SOURCES } from "./app/lazy.ts";
import { LIBC_PATHS } from "./storage/libc.ts";

/** A user's tree, as far as permissions go. */
interface PermissionUser {
  root?: unknown;
  mounts?: readonly { root: unknown; readOnly?: boolean }[];
  passwordHash?: string;
}

/**
 * What a configuration needs. `CliConfig` (a command line) and the app's settings (with a
 * config file merged in) both fit.
 */
export interface PermissionInput {
  serve: {
    root: string;
    hostname: string;
    allowActive?: boolean;
    tls?: TlsSource;
    transcript?: boolean | string;
    users?: readonly PermissionUser[];
    anonymous?: unknown;
    listCache?: boolean;
  };
  /** `--ready-file` of a `CliConfig`. */
  readyFile?: string | undefined;
  /** The ready file of the app's settings. */
  run?: { readyFile?: string; workers?: number | "auto" };
  /** The operations parts. */
  ops?: OpsOptions;
  /** The config file (read at start and on SIGHUP). */
  configFile?: string;
  /** `auth.http`: its directories are roots, its host is reached. */
  authHttp?: { url: string; allowedRoots: readonly string[] };
}

/** What the caller found out about the machine, and paths beyond the options. */
export interface ExtraPaths {
  read?: string[];
  write?: string[];
  /** Whether the target is Linux (default: this machine's OS). */
  linux?: boolean;
  /** `host:port` of every S3 endpoint (`s3NetHost()`); S3 roots get no file access. */
  s3Hosts?: string[];
  /** `host:port` of the name servers, needed when a PASV address is a host name. */
  nameservers?: string[];
  /** ftpgate's source directory: read is granted when {@linkcode needsSource} says so. */
  sourceDir?: string;
  /** The upload hook's program, as `--allow-run` names it. */
  program?: string;
  /**
   * A local root's real path (symbolic links resolved), when it differs from the path as
   * written: the storage serves the real path, so it is granted too.
   */
  realPath?: (path: string) => string | undefined;
  /**
   * The addresses the listen host resolves to, when it is a name (`localhost`): passive
   * listeners bind to the address the client reached, which a grant of the name does not cover.
   */
  listenAddresses?: string[];
}

/**
 * Deno flags for running ftpgate with `config`. Paths must already be absolute. Throws
 * `RangeError` for a path that Deno's flags cannot express (one with a comma).
 *
 * @example
 * ```ts
 * import { permissionFlags } from "./permissions.ts";
 * permissionFlags(
 *   { serve: { root: "/srv/ftp", hostname: "127.0.0.1", allowActive: false } },
 *   ["FTPGATE_ROOT"],
 *   { linux: false },
 * );
 * // ["--allow-net=127.0.0.1", "--allow-read=/srv/ftp", "--allow-write=/srv/ftp",
 * //  "--allow-env=FTPGATE_ROOT"]
 * ```
 */
export function permissionFlags(
  config: PermissionInput,
  envNames: readonly string[],
  extra: ExtraPaths = {},
): string[] {
  const { hostname, allowActive } = config.serve;
  const roots = localRoots(config, extra.realPath);
  const linux = extra.linux ?? Deno.build.os === "linux";
  const tls = config.serve.tls;
  const tlsFiles = tls && "certFile" in tls ? [tls.certFile, tls.keyFile] : [];
  const pinning = roots.read.length > 0 && linux ? ["/proc/self/fd"] : [];
  // The ready file is written as `<path>.tmp` and renamed into place (app/ready.ts).
  const readyFile = config.readyFile ?? config.run?.readyFile;
  const ready = readyFile !== undefined && readyFile !== "-" ? [readyFile, `${readyFile}.tmp`] : [];
  const transcript = config.serve.transcript;
  const ops = config.ops ?? {};
  const secrets = [ops.http?.tokenFile, ops.webhook?.secretFile].filter(isString);
  const source = sourceGrant(config, extra.sourceDir);
  const read = unique([
    ...roots.read,
    ...pinning,
    ...tlsFiles,
    ...secrets,
    // The loader checks that the hook's working directory exists (a stat).
    ...(ops.onUpload?.cwd === undefined ? [] : [ops.onUpload.cwd]),
    ...(config.configFile === undefined ? [] : [config.configFile]),
    ...ready,
    ...source,
    ...(extra.read ?? []),
  ]);
  const write = unique([
    ...roots.write,
    ...ready,
    ...(typeof transcript === "string" ? [transcript] : []),
    ...(ops.transferLog?.path === undefined ? [] : [ops.transferLog.path]),
    ...(extra.write ?? []),
  ]);
  const wildcard = hostname === "0.0.0.0" || hostname === "::" || hostname === "";
  const flags: string[] = [];
  if (allowActive !== false || wildcard) {
    flags.push("--allow-net");
  } else {
    const hosts = unique([
      bracket(hostname),
      ...(extra.listenAddresses ?? []).map(bracket),
      ...(ops.http ? [bracket(ops.http.hostname ?? "127.0.0.1")] : []),
      ...(extra.s3Hosts ?? []),
      ...[ops.webhook?.url, config.authHttp?.url].filter(isString).map(urlHost),
      ...(extra.nameservers ?? []),
    ]);
    flags.push(`--allow-net=${hosts.map(escapeList).join(",")}`);
  }
  if (read.length > 0) flags.push(`--allow-read=${read.map(escapeList).join(",")}`);
  if (write.length > 0) flags.push(`--allow-write=${write.map(escapeList).join(",")}`);
  if (envNames.length > 0) flags.push(`--allow-env=${unique(envNames).join(",")}`);
  if (extra.program !== undefined) flags.push(`--allow-run=${escapeList(extra.program)}`);
  if (linux && roots.read.length > 0 && config.serve.listCache !== false) {
    flags.push(`--allow-ffi=${LIBC_PATHS.join(",")}`);
  }
  return flags;
}

/**
 * Whether the server loads code from all of its source directory at run time (beyond what a
 * session loads on a client's request, granted always): an optional part
 * (FTPS, a config file, the ops modules, an identity hook, the S3 back end) or a password
 * worker for hashed passwords.
 */
export function needsSource(config: PermissionInput): boolean {
  const ops = config.ops ?? {};
  return config.serve.tls !== undefined || config.configFile !== undefined ||
    Object.keys(ops).length > 0 || config.authHttp !== undefined ||
    (config.run?.workers ?? 1) !== 1 ||
    (config.serve.users ?? []).some((user) => user.passwordHash !== undefined) ||
    [config.serve.root, ...allRoots(config).map((root) => root.path)].some(isS3);
}

/**
 * What to grant of ftpgate's source directory: all of it when {@linkcode needsSource} says so;
 * otherwise the codecs and digests that any session may load (a client's MODE B, TYPE E or
 * HASH, see app/lazy.ts), which are there to be loaded whatever the configuration.
 */
function sourceGrant(config: PermissionInput, sourceDir: string | undefined): string[] {
  if (sourceDir === undefined) return [];
  if (needsSource(config)) return [sourceDir];
  return SESSION_SOURCES.map((path) => `${sourceDir.replace(/[\\/]$/, "")}/${path}`);
}

/** The local directories among the roots, to read, and to write (not read-only mounts). */
function localRoots(
  config: PermissionInput,
  realPath: ExtraPaths["realPath"],
): { read: string[]; write: string[] } {
  const read: string[] = [];
  const write: string[] = [];
  for (const root of allRoots(config)) {
    if (root.path.startsWith("memory:") || isS3(root.path)) continue;
    const real = realPath?.(root.path);
    const paths = real === undefined || real === root.path ? [root.path] : [root.path, real];
    read.push(...paths);
    if (!root.readOnly) write.push(...paths);
  }
  return { read: unique(read), write: unique(write) };
}

function allRoots(config: PermissionInput): { path: string; readOnly: boolean }[] {
  const roots = [{ path: config.serve.root, readOnly: false }];
  const add = (root: unknown, readOnly = false) => {
    if (typeof root === "string") roots.push({ path: root, readOnly });
  };
  for (const user of config.serve.users ?? []) {
    add(user.root);
    for (const mount of user.mounts ?? []) add(mount.root, mount.readOnly === true);
  }
  const anonymous = config.serve.anonymous;
  if (typeof anonymous === "object" && anonymous !== null && "root" in anonymous) {
    add((anonymous as { root?: unknown }).root);
  }
  for (const root of config.authHttp?.allowedRoots ?? []) add(root);
  return roots;
}

function isS3(root: string): boolean {
  return /^s3:\/\//i.test(root);
}

function isString(value: unknown): value is string {
  return typeof value === "string";
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** `host:port` of an http(s) URL, as `--allow-net` names it. */
function urlHost(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return `${parsed.hostname}:${port}`;
}

function bracket(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * Deno's permission lists are comma-separated, with no working escape for a comma inside a path
 * (the `,,` of denoland/deno#25453 makes Deno 2.9.6 fail with "Empty path is not allowed").
 * Granting the parent directory instead would grant more than asked, so such a path is refused.
 */
function escapeList(path: string): string {
  if (path.includes(",")) {
    throw new RangeError(
      `cannot grant Deno access to "${path}": a Deno permission flag cannot name a path ` +
        "that contains a comma",
    );
  }
  return path;
}
