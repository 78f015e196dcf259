/**
 * `ftpgate check-config FILE`: loads a config file as a start would (schema, then the checks
 * that need the machine: directories exist, secrets resolve, hashes are of a known format,
 * then the checks a start makes of the settings as a whole: the library's ranges, the upload
 * hook's command line, the HTTP port's exposure, S3 faults without an S3 root) and starts
 * nothing. The environment's `FTPGATE_*` values are not merged in: it checks the file.
 *
 * Exit 0 and `FILE: OK` on stdout when it is valid; exit 2 with one `file:line: path: message`
 * line per problem on stderr when it is not (the loader's messages never hold a secret's
 * value); exit 2 with the usage for a wrong command line.
 *
 * @module
 */

import { CliError, parseCli } from "../cli.ts";
import { loadPart } from "./lazy.ts";
import { type Env, loadSettings } from "./settings.ts";

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
  const { ConfigError } = await import("../config/load.ts");
  try {
    // What a start does before it opens anything (app/start.ts): a file that passes here is
    // not refused by the start for a mistake in its settings (exit 2).
    const settings = await loadSettings(parseCli(["--config", args[0]]), env);
    const { validateSettings } = await loadPart<typeof import("./validate.ts")>("validate");
    await validateSettings(settings);
    await write(Deno.stdout, `${settings.configFile}: OK`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      await write(Deno.stderr, error.format());
    } else if (error instanceof CliError) {
      // Messages of the merged settings name the file already; those of validate.ts a flag.
      const named = error.message.includes(`${args[0].replace(/^\.\//, "")}: `);
      await write(Deno.stderr, named ? error.message : `${args[0]}: ${error.message}`);
    } else {
      throw error;
    }
    return 2;
  }
}
