/**
 * The optional parts of the application — FTPS (node:tls), the config loader (zod), the S3
 * back end, the ops modules, the HTTP identity hook, the subcommands, and what a session loads
 * on a client's request (the TYPE E / STRU R / MODE B, C, Z codecs, the REST offsets of TYPE A,
 * the HASH digests) — loaded only when used.
 *
 * Why not a plain `await import("../config/load.ts")`: Deno puts every statically analyzable
 * dynamic import into the module graph it loads at start, so each one costs start-up time even
 * when it never runs (measured here: ~1.2 ms for the config loader, ~1.1 ms for S3, ~0.8 ms
 * for the identity hook, ~0.4 ms for FTPS). An import by computed URL is loaded only when it runs. The price:
 * under `deno run`, such a module needs read permission on its files (`deno task start` grants
 * `src/` when a part is used), and `deno compile` must `--include` it ({@linkcode lazyModules}).
 *
 * @module
 */

/** The parts, by name, and their modules relative to this one. */
const PARTS = {
  tls: "../tls/mod.ts",
  config: "../config/load.ts",
  s3: "../storage/s3/mod.ts",
  ops: "../ops/mod.ts",
  identityHook: "../identity/http.ts",
  validate: "./validate.ts",
  checkConfig: "./check_config.ts",
  hashPassword: "../identity/passwords/hash_password_command.ts",
  workers: "../workers/pool.ts",
  // What any session may load, whatever the configuration: see SESSION_SOURCES.
  codecs: "../data/codecs.ts",
  asciiOffset: "../data/ascii_offset.ts",
  hashDigest: "../commands/hash_digest.ts",
} as const;

/** A part's name. */
export type PartName = keyof typeof PARTS;

/** The source directory a permission must cover for the parts (`src/`). */
export const SOURCE_DIR: URL = new URL("../", import.meta.url);

/**
 * Where the parts that any session may load live, relative to `src/` (the codecs import only
 * modules under `data/`; the digests only `node:` built-ins): a client may send MODE B or HASH
 * to any server, so `deno task start` grants read on these even when it does not grant `src/`
 * ({@linkcode SOURCE_DIR}) for the other parts.
 */
export const SESSION_SOURCES: readonly string[] = ["data", "commands/hash_digest.ts"];

/**
 * Every lazily loaded module, as paths relative to the repository: what `deno compile` must
 * `--include`, besides the password worker.
 */
export function lazyModules(): string[] {
  const repo = new URL("../../", import.meta.url).pathname;
  return Object.values(PARTS).map((path) =>
    new URL(path, import.meta.url).pathname.slice(repo.length)
  );
}

/** A part that Deno refused to load for lack of read permission on ftpgate's own source. */
export class LazyImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LazyImportError";
  }
}

/**
 * Loads a part; the caller names its module type (`loadPart<typeof import("./x.ts")>("x")`,
 * a type position: nothing is loaded for it, and this module imports none of the parts, so
 * that no import cycle runs through it). Throws {@linkcode LazyImportError} when Deno may not
 * read the part's source.
 */
export async function loadPart<T>(name: PartName): Promise<T> {
  const url = new URL(PARTS[name], import.meta.url);
  try {
    return await import(url.href);
  } catch (error) {
    if (error instanceof Error && /Requires read access/.test(error.message)) {
      const dir = decodeURIComponent(SOURCE_DIR.pathname);
      throw new LazyImportError(
        `Deno may not read ftpgate's source to load the ${name} module: run deno with ` +
          `--allow-read=${dir} (deno task start grants it)`,
      );
    }
    throw error;
  }
}
