/**
 * The least Deno permission flags that let ftpgate run with a given configuration. Used by
 * `deno task start` and `deno task compile` (scripts/launch.ts). Pure.
 *
 * - read and write: the root only (nothing for an in-memory root), plus the files the options
 *   name (certificates to read, a ready file to write); on Linux also read on `/proc/self/fd`,
 *   through which directories are listed by open handle (see storage/local.ts);
 * - net: everything when active mode is on (PORT/EPRT connect to the client's address, which is
 *   not known in advance) or when listening on a wildcard address (passive listeners bind to
 *   whichever local address the client reached); otherwise only the listen address;
 * - env: only the FTPGATE_* variables the CLI reads.
 *
 * @module
 */

import type { CliConfig } from "./cli.ts";

/** Absolute paths the server reads or writes besides its root. */
export interface ExtraPaths {
  read?: string[];
  write?: string[];
  /** Whether the target is Linux (default: this machine's OS). */
  linux?: boolean;
}

/** Deno flags for running ftpgate with `config`. Paths must already be absolute. */
export function permissionFlags(
  config: CliConfig,
  envNames: readonly string[],
  extra: ExtraPaths = {},
): string[] {
  const { root, hostname, allowActive } = config.serve;
  const memory = root.startsWith("memory:");
  const tls = config.serve.tls;
  const tlsFiles = tls && "certFile" in tls ? [tls.certFile, tls.keyFile] : [];
  const pinning = !memory && (extra.linux ?? Deno.build.os === "linux") ? ["/proc/self/fd"] : [];
  const read = [...(memory ? [] : [root]), ...pinning, ...tlsFiles, ...(extra.read ?? [])];
  const written = [config.readyFile, config.serve.transcript].filter(
    (path): path is string => typeof path === "string" && path !== "-",
  );
  // A ready file is written beside itself first (`.tmp`) and renamed: grant its directory.
  const writeDirs = written.map((path) => path.slice(0, Math.max(1, path.lastIndexOf("/"))));
  const write = [...(memory ? [] : [root]), ...writeDirs, ...(extra.write ?? [])];
  const wildcard = hostname === "0.0.0.0" || hostname === "::" || hostname === "";
  const flags = [
    allowActive !== false || wildcard ? "--allow-net" : `--allow-net=${bracket(hostname)}`,
  ];
  if (read.length > 0) flags.push(`--allow-read=${read.map(escapeList).join(",")}`);
  if (write.length > 0) flags.push(`--allow-write=${write.map(escapeList).join(",")}`);
  if (envNames.length > 0) flags.push(`--allow-env=${envNames.join(",")}`);
  return flags;
}

function bracket(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Deno's permission lists are comma-separated, with no escape for a comma inside a path. */
function escapeList(path: string): string {
  if (path.includes(",")) {
    throw new RangeError(`cannot grant a path with a comma through a flag list: ${path}`);
  }
  return path;
}
