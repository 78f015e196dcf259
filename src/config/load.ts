/**
 * Loads a config file: read, parse JSONC, validate against the schema, then check what only
 * the whole file and the machine can tell (directories exist, secrets resolve, hashes are of a
 * known format, names are unique), and map it onto the options the library takes.
 *
 * Everything wrong is reported at once, as a {@linkcode ConfigError} with one line per problem
 * (`users[2].root: directory does not exist (/srv/ftp/carol)`), never a secret's value.
 *
 * Load it lazily (`await import("./config/load.ts")`): it brings zod and jsonc-parser, which
 * the plain start path does not need.
 *
 * @module
 */

import { absolute, Checks, dirname, ms, reason } from "./checks.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { toConfigIssues } from "./issues.ts";
import { parseJsonc } from "./jsonc.ts";
import { mapAuthHttp, mapOps, mapS3 } from "./map_ops.ts";
import { isS3Fault, mapServe } from "./map_serve.ts";
import { type ConfigFile, ConfigSchema } from "./schema.ts";
import type { ConfigLogging, ConfigRun, EnvLookup, LoadedConfig } from "./types.ts";

export { ConfigError, type ConfigIssue } from "./errors.ts";
export { type ConfigLayer, mergeConfig } from "./merge.ts";
export type {
  ConfigAuthHttp,
  ConfigLogging,
  ConfigRun,
  ConfigS3Settings,
  ConfigServeOptions,
  EnvLookup,
  LoadedConfig,
  PassiveAddressRule,
} from "./types.ts";

/**
 * Loads and checks a config file. Relative paths in it are resolved against the file's
 * directory; `password_env` and the other `*_env` keys are read through `env`.
 *
 * @throws {ConfigError} listing every problem found.
 *
 * @example
 * ```ts
 * import { ConfigError, loadConfigFile } from "./load.ts";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/bob`);
 * Deno.writeTextFileSync(`${dir}/ftpgate.jsonc`, `{
 *   // bob's password comes from the environment
 *   "users": [{ "name": "bob", "password_env": "BOB_PASSWORD", "root": "bob" }],
 * }`);
 * const config = await loadConfigFile(`${dir}/ftpgate.jsonc`, (name) =>
 *   name === "BOB_PASSWORD" ? "s3cret" : undefined);
 * config.serve.users?.[0].root; // `${dir}/bob`
 * try {
 *   await loadConfigFile(`${dir}/ftpgate.jsonc`, () => undefined);
 * } catch (error) {
 *   if (error instanceof ConfigError) error.message;
 *   // "users[0].password_env: environment variable BOB_PASSWORD is not set"
 * }
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function loadConfigFile(
  path: string,
  env: EnvLookup = () => undefined,
): Promise<LoadedConfig> {
  const file = absolute(path, cwd());
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new ConfigError(file, [{ path: "(file)", message: `cannot read it (${reason(error)})` }]);
  }
  text = text.replace(/^\uFEFF/, ""); // a BOM some Windows editors write
  if (text.trim() === "") throw new ConfigError(file, [{ path: "(file)", message: "is empty" }]);
  const parsed = parseJsonc(text);
  if ("issues" in parsed) throw new ConfigError(file, parsed.issues);
  const result = ConfigSchema.safeParse(parsed.value);
  if (!result.success) {
    const issues = toConfigIssues(result.error, ConfigSchema, { lineOf: parsed.lineOf });
    throw new ConfigError(file, sortByLine(issues));
  }
  const checks = new Checks(dirname(file), env, parsed.lineOf);
  const config = result.data;
  const loaded: LoadedConfig = {
    file,
    serve: await mapServe(config, checks),
    ops: mapOps(config, checks),
    logging: mapLogging(config),
    run: mapRun(config, checks),
  };
  if (config.s3 !== undefined) loaded.s3 = mapS3(config.s3, checks);
  // s3-* faults belong to the S3 layer, parsed when an s3:// root is opened (as with --fault).
  const s3Faults = (config.faults ?? []).filter(isS3Fault);
  if (s3Faults.length > 0) loaded.s3Faults = s3Faults;
  if (config.auth?.http !== undefined) loaded.authHttp = await mapAuthHttp(config, checks);
  await checks.settle();
  if (checks.issues.length > 0) throw new ConfigError(file, sortByLine(checks.issues));
  return loaded;
}

function mapLogging(config: ConfigFile): ConfigLogging {
  const logging: ConfigLogging = {};
  if (config.logging?.format !== undefined) logging.format = config.logging.format;
  if (config.logging?.level !== undefined) logging.level = config.logging.level;
  return logging;
}

function mapRun(config: ConfigFile, checks: Checks): ConfigRun {
  const run: ConfigRun = {};
  const given = config.run;
  if (given === undefined) return run;
  if (given.ready_file !== undefined) {
    run.readyFile = checks.outputFile(given.ready_file, ["run", "ready_file"]);
  }
  if (given.exit_after !== undefined) run.exitAfterMs = ms(given.exit_after);
  if (given.exit_when_idle !== undefined) run.exitWhenIdleMs = ms(given.exit_when_idle);
  if (given.stdin_lifeline !== undefined) run.stdinLifeline = given.stdin_lifeline;
  if (given.parent_lifeline !== undefined) run.parentLifeline = given.parent_lifeline;
  if (given.workers !== undefined) run.workers = given.workers;
  return run;
}

function sortByLine(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.i - b.i)
    .map(({ issue }) => issue);
}

function cwd(): string {
  try {
    return Deno.cwd();
  } catch {
    return "/";
  }
}
