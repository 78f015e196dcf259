/**
 * Precedence: config file < `FTPGATE_*` environment < command-line flags.
 *
 * Each layer holds only what its source set explicitly (`undefined`: not given), in the shape
 * of `LoadedConfig`. A value given in a later layer replaces the earlier one whole — a list of
 * users, a TLS source, a port range are never mixed from two sources. The one exception is the
 * ops parts (`http`, `transferLog`, `onUpload`, `webhook`), merged field by field, so that
 * `FTPGATE_HTTP_PORT=9200` moves the side port the file configured without dropping its token
 * file. No dependency: the CLI may use it without loading the schema.
 *
 * @module
 */

import type { OpsOptions } from "../ops/mod.ts";
import type { ConfigLogging, ConfigRun, ConfigServeOptions } from "./types.ts";

/** One source of settings: only what it set explicitly. */
export interface ConfigLayer {
  /** Server options. */
  serve?: ConfigServeOptions;
  /** Ops parts, merged field by field. */
  ops?: OpsOptions;
  /** Log format and level. */
  logging?: ConfigLogging;
  /** Process settings. */
  run?: ConfigRun;
}

/**
 * Merges the file, the environment and the flags, later layers winning per key.
 *
 * @example
 * ```ts
 * import { mergeConfig } from "./merge.ts";
 * const merged = mergeConfig(
 *   { serve: { port: 2121, maxSessions: 50 }, ops: { http: { port: 9100, tokenFile: "/t" } } },
 *   { serve: { port: 21 } }, // FTPGATE_PORT=21
 *   { serve: { maxSessions: 10 }, ops: { http: { port: 9200 } } }, // --max-sessions 10 --http-port 9200
 * );
 * merged.serve; // { port: 21, maxSessions: 10 }
 * merged.ops?.http; // { port: 9200, tokenFile: "/t" }
 * ```
 */
export function mergeConfig<T extends ConfigLayer>(
  file: T,
  env: ConfigLayer,
  flags: ConfigLayer,
): T {
  const layers = [file, env, flags];
  const merged: T = { ...file };
  merged.serve = assign(layers.map((layer) => layer.serve));
  merged.logging = assign(layers.map((layer) => layer.logging));
  merged.run = assign(layers.map((layer) => layer.run));
  const ops: OpsOptions = {};
  for (const part of ["http", "transferLog", "onUpload", "webhook"] as const) {
    const values = layers.map((layer) => layer.ops?.[part]).filter((value) => value !== undefined);
    if (values.length > 0) Object.assign(ops, { [part]: assign(values) });
  }
  merged.ops = ops;
  return merged;
}

/** Key by key, the last defined value wins. */
function assign<V extends object>(sources: readonly (V | undefined)[]): V {
  const out: Record<string, unknown> = {};
  for (const source of sources) {
    if (source === undefined) continue;
    for (const [key, value] of Object.entries(source)) {
      if (value !== undefined) out[key] = value;
    }
  }
  return out as V;
}
