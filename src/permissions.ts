/**
 * The least Deno permission flags that let ftpgate run with a given configuration. Used by
 * `deno task start` and `deno task compile` (scripts/launch.ts). Pure.
 *
 * - read and write: the root only (nothing for an in-memory root), plus the files the options
 *   name: certificates to read; the ready file and the temporary file it is renamed from, to
 *   read and write (a rename needs both), nothing else of their directory; the transcript, to
 *   append to. On Linux also read on `/proc/self/fd`, through which directories are listed by
 *   open handle (see storage/local.ts);
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

/**
 * Deno flags for running ftpgate with `config`. Paths must already be absolute. Throws
 * `RangeError` for a path that Deno's flags cannot express (one with a comma).
 */
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
  // The ready file is written as `<path>.tmp` and renamed into place (main.ts).
  const ready = config.readyFile !== undefined && config.readyFile !== "-"
    ? [config.readyFile, `${config.readyFile}.tmp`]
    : [];
  const transcript = config.serve.transcript;
  const read = [
    ...(memory ? [] : [root]),
    ...pinning,
    ...tlsFiles,
    ...ready,
    ...(extra.read ?? []),
  ];
  const write = [
    ...(memory ? [] : [root]),
    ...ready,
    ...(typeof transcript === "string" ? [transcript] : []),
    ...(extra.write ?? []),
  ];
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
