/**
 * `ftpgate check-config FILE`: loads a config file as a start would (schema, then the checks
 * that need the machine: directories exist, secrets resolve, hashes are of a known format) and
 * starts nothing.
 *
 * Exit 0 and `FILE: OK` on stdout when it is valid; exit 2 with one `file:line: path: message`
 * line per problem on stderr when it is not (the loader's messages never hold a secret's
 * value); exit 2 with the usage for a wrong command line.
 *
 * @module
 */

import type { Env } from "./settings.ts";

const USAGE = `Usage: ftpgate check-config FILE

Validates a config file without starting the server: exit 0 when it is valid, 2 (with one
"file:line: path: message" line per problem) when it is not.`;

/** Runs the command; returns the exit code. */
export async function runCheckConfig(args: readonly string[], env: Env): Promise<number> {
  const write = (stream: typeof Deno.stdout, text: string) =>
    stream.write(new TextEncoder().encode(text + "\n"));
  if (args.length === 1 && (args[0] === "-h" || args[0] === "--help")) {
    await write(Deno.stdout, USAGE);
    return 0;
  }
  if (args.length !== 1 || args[0].startsWith("-")) {
    await write(Deno.stderr, USAGE);
    return 2;
  }
  const { ConfigError, loadConfigFile } = await import("../config/load.ts");
  try {
    const loaded = await loadConfigFile(args[0], env);
    await write(Deno.stdout, `${loaded.file}: OK`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    await write(Deno.stderr, error.format());
    return 2;
  }
}
