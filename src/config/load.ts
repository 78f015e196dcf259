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

import { parseFaults } from "../faults/parse.ts";
import { detectHashFormat } from "../identity/passwords/format.ts";
import type { AnonymousAccess, AnonymousConfig, UserConfig } from "../identity/static.ts";
import type { OpsOptions } from "../ops/mod.ts";
import { parsePortRange } from "../options.ts";
import { parseAddress } from "./cidr.ts";
import { ConfigError, type ConfigIssue, formatPath } from "./errors.ts";
import { toConfigIssues } from "./issues.ts";
import { parseJsonc } from "./jsonc.ts";
import { type ConfigFile, ConfigSchema } from "./schema.ts";
import { duplicateMounts, toUserTree } from "./tree.ts";

import type {
  ConfigAuthHttp,
  ConfigLogging,
  ConfigRun,
  ConfigS3Settings,
  ConfigServeOptions,
  EnvLookup,
  LoadedConfig,
} from "./types.ts";

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
  const checker = new Checker(file, dirname(file), env, parsed.lineOf);
  const loaded = await checker.map(result.data);
  if (checker.issues.length > 0) throw new ConfigError(file, sortByLine(checker.issues));
  return loaded;
}

/** Collects problems while mapping; every check adds to it rather than stopping. */
class Checker {
  readonly issues: ConfigIssue[] = [];
  readonly #file: string;
  readonly #dir: string;
  readonly #env: EnvLookup;
  readonly #lineOf: (path: readonly PropertyKey[]) => number | undefined;

  constructor(
    file: string,
    dir: string,
    env: EnvLookup,
    lineOf: (path: readonly PropertyKey[]) => number | undefined,
  ) {
    this.#file = file;
    this.#dir = dir;
    this.#env = env;
    this.#lineOf = lineOf;
  }

  add(path: readonly PropertyKey[], message: string): void {
    const line = this.#lineOf(path);
    this.issues.push({ path: formatPath(path), message, ...(line ? { line } : {}) });
  }

  async map(config: ConfigFile): Promise<LoadedConfig> {
    const serve: ConfigServeOptions = {};
    const pending: Promise<void>[] = [];
    const later = (check: Promise<void>) => void pending.push(check);

    if (config.root !== undefined) serve.root = this.root(config.root, ["root"], later);
    if (config.listen?.host !== undefined) serve.hostname = config.listen.host;
    if (config.listen?.port !== undefined) serve.port = config.listen.port;
    if (config.banner !== undefined) serve.banner = config.banner;
    this.#passive(config, serve);
    if (config.users !== undefined) {
      serve.users = await this.#users(config, later);
    }
    if (config.anonymous !== undefined) serve.anonymous = this.#anonymous(config, later);
    if (config.allow_fxp !== undefined) serve.allowFxp = config.allow_fxp;
    if (config.allow_active !== undefined) serve.allowActive = config.allow_active;
    if (config.atomic_uploads !== undefined) serve.atomicUploads = config.atomic_uploads;
    this.#tls(config, serve, later);
    this.#limits(config, serve);
    if (config.faults !== undefined) this.#faults(config.faults, serve);
    const logging: ConfigLogging = {};
    if (config.logging?.format !== undefined) logging.format = config.logging.format;
    if (config.logging?.level !== undefined) logging.level = config.logging.level;
    if (config.logging?.transcript !== undefined) {
      serve.transcript = this.outputFile(
        config.logging.transcript,
        ["logging", "transcript"],
        later,
      );
    }
    const run: ConfigRun = {};
    if (config.run?.ready_file !== undefined) {
      run.readyFile = this.outputFile(config.run.ready_file, ["run", "ready_file"], later);
    }
    if (config.run?.exit_after !== undefined) run.exitAfterMs = ms(config.run.exit_after);
    if (config.run?.exit_when_idle !== undefined) {
      run.exitWhenIdleMs = ms(config.run.exit_when_idle);
    }
    if (config.run?.stdin_lifeline !== undefined) run.stdinLifeline = config.run.stdin_lifeline;
    const ops = this.#ops(config, later);
    const loaded: LoadedConfig = { file: this.#file, serve, ops, logging, run };
    if (config.s3 !== undefined) loaded.s3 = this.#s3(config.s3);
    if (config.auth?.http !== undefined) {
      loaded.authHttp = await this.#authHttp(config, later);
    }
    await Promise.all(pending);
    return loaded;
  }

  /** A root: `memory:` and `s3://` as they are, a directory resolved and checked. */
  root(value: string, at: readonly PropertyKey[], later: (check: Promise<void>) => void): string {
    if (value === "memory:" || /^s3:\/\//i.test(value)) {
      if (/^s3:\/\/[^/]*@/i.test(value)) {
        this.add(at, "credentials in an s3:// URL are not allowed: use s3.access_key_id_env");
      }
      return value;
    }
    const resolved = absolute(value, this.#dir);
    later(this.#expect(resolved, "directory", at));
    return resolved;
  }

  /** A file to read (certificate, token file): resolved and checked. */
  inputFile(
    value: string,
    at: readonly PropertyKey[],
    later: (check: Promise<void>) => void,
  ): string {
    const resolved = absolute(value, this.#dir);
    later(this.#expect(resolved, "file", at));
    return resolved;
  }

  /** A file to write (logs, ready file): its directory must exist. */
  outputFile(
    value: string,
    at: readonly PropertyKey[],
    later: (check: Promise<void>) => void,
  ): string {
    const resolved = absolute(value, this.#dir);
    const parent = dirname(resolved);
    later(this.#expect(parent, "directory", at, "its directory"));
    return resolved;
  }

  async #expect(
    path: string,
    kind: "file" | "directory",
    at: readonly PropertyKey[],
    what: string = kind,
  ): Promise<void> {
    try {
      const stat = await Deno.stat(path);
      const ok = kind === "file" ? stat.isFile : stat.isDirectory;
      if (!ok) this.add(at, `${what} is not a ${kind} (${path})`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        this.add(at, `${what === kind ? kind : what} does not exist (${path})`);
      } else {
        this.add(at, `${what} cannot be checked (${reason(error)}: ${path})`);
      }
    }
  }

  /** A secret from an environment variable; reports when unset or empty. */
  secretFromEnv(name: string, at: readonly PropertyKey[]): string | undefined {
    const value = this.#env(name);
    if (value === undefined) this.add(at, `environment variable ${name} is not set`);
    else if (value === "") this.add(at, `environment variable ${name} is empty`);
    else return value;
    return undefined;
  }

  /** A secret from a file: the whole file, trailing white space removed. */
  async secretFromFile(path: string, at: readonly PropertyKey[]): Promise<string | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      this.add(at, `cannot read ${path} (${reason(error)})`);
      return undefined;
    }
    const secret = text.replace(/\s+$/, "");
    if (secret === "") this.add(at, `${path} is empty`);
    return secret === "" ? undefined : secret;
  }

  #passive(config: ConfigFile, serve: ConfigServeOptions): void {
    const passive = config.passive;
    if (passive === undefined) return;
    if (passive.ports !== undefined) {
      try {
        serve.passivePorts = typeof passive.ports === "string"
          ? parsePortRange(passive.ports)
          : parsePortRange(`${passive.ports[0]}-${passive.ports[1]}`);
      } catch (error) {
        this.add(["passive", "ports"], (error as Error).message.replace(/^passivePorts: /, ""));
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

  async #users(
    config: ConfigFile,
    later: (check: Promise<void>) => void,
  ): Promise<UserConfig[]> {
    const users: UserConfig[] = [];
    const names = new Map<string, number>();
    const tls = config.tls?.cert !== undefined || config.tls?.self_signed === true;
    for (const [i, user] of (config.users ?? []).entries()) {
      const at = ["users", i];
      const first = names.get(user.name);
      if (first !== undefined) {
        this.add([...at, "name"], `"${user.name}" is already the name of users[${first}]`);
      } else {
        names.set(user.name, i);
      }
      const tree = toUserTree(user, (root, suffix) => this.root(root, [...at, ...suffix], later));
      for (const [j, path] of duplicateMounts(user.mounts ?? [])) {
        this.add([...at, "mounts", j, "path"], `"${path}" is mounted twice`);
      }
      if (user.require_tls && !tls) {
        this.add(
          [...at, "require_tls"],
          "needs TLS: set tls.cert and tls.key, or tls.self_signed",
        );
      }
      const out: UserConfig = { name: user.name, ...tree };
      const sources = (["password_hash", "password_env", "password_file", "password"] as const)
        .filter((key) => user[key] !== undefined);
      if (sources.length === 0) {
        this.add(at, "needs password_hash, password_env or password_file");
      } else if (sources.length > 1) {
        this.add(
          [...at, sources[1]],
          `give only one of password_hash, password_env, password_file and password (${
            sources[0]
          } is set)`,
        );
      } else if (user.password_hash !== undefined) {
        try {
          detectHashFormat(user.password_hash);
          out.passwordHash = user.password_hash;
        } catch (error) {
          // PasswordHashError names the scheme and the problem, never the hash.
          this.add([...at, "password_hash"], (error as Error).message);
        }
      } else if (user.password_env !== undefined) {
        const password = this.secretFromEnv(user.password_env, [...at, "password_env"]);
        if (password !== undefined) out.password = password;
      } else if (user.password_file !== undefined) {
        const file = absolute(user.password_file, this.#dir);
        const password = await this.secretFromFile(file, [...at, "password_file"]);
        if (password !== undefined) out.password = password;
      } else if (user.password !== undefined) {
        if (config.allow_plaintext !== true) {
          this.add(
            [...at, "password"],
            'a password in clear needs "allow_plaintext": true; use password_hash ' +
              "(ftpgate hash-password), password_env or password_file",
          );
        } else {
          out.password = user.password;
        }
      }
      users.push(out);
    }
    return users;
  }

  #anonymous(config: ConfigFile, later: (check: Promise<void>) => void): boolean | AnonymousAccess {
    const anonymous = config.anonymous;
    if (typeof anonymous !== "object" || anonymous === null) return anonymous ?? false;
    const out: AnonymousConfig = {};
    if (anonymous.root !== undefined) {
      out.root = this.root(anonymous.root, ["anonymous", "root"], later);
    }
    if (anonymous.rules !== undefined) {
      out.rules = toUserTree({ rules: anonymous.rules }, (root) => root).rules;
    }
    return out;
  }

  #tls(config: ConfigFile, serve: ConfigServeOptions, later: (check: Promise<void>) => void): void {
    const tls = config.tls;
    if (tls === undefined) return;
    const at = (key: string) => ["tls", key];
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      this.add(at(tls.cert === undefined ? "cert" : "key"), "tls.cert and tls.key go together");
    } else if (tls.cert !== undefined && tls.key !== undefined) {
      if (tls.self_signed) this.add(at("self_signed"), "excludes tls.cert and tls.key");
      serve.tls = {
        certFile: this.inputFile(tls.cert, at("cert"), later),
        keyFile: this.inputFile(tls.key, at("key"), later),
      };
    } else if (tls.self_signed) {
      serve.tls = { selfSigned: true };
    }
    const needsCertificate = "needs a certificate: set tls.cert and tls.key, or tls.self_signed";
    const options = [
      ["implicit_port", "implicitTlsPort"],
      ["sniff", "tlsSniffMs"],
      ["require", "requireTls"],
      ["require_data", "requireTlsData"],
      ["require_session_reuse", "requireTlsSessionReuse"],
      ["allow_truncation", "tlsAllowTruncatedUploads"],
    ] as const;
    for (const [key, option] of options) {
      const value = tls[key];
      if (value === undefined) continue;
      if (serve.tls === undefined && value !== false && key !== "sniff") {
        this.add(at(key), needsCertificate);
      }
      Object.assign(serve, { [option]: key === "sniff" ? ms(value as number) : value });
    }
    if (serve.tlsSniffMs !== undefined && serve.tlsSniffMs > 10_000) {
      this.add(at("sniff"), "must be at most 10 seconds");
    }
  }

  #limits(config: ConfigFile, serve: ConfigServeOptions): void {
    const limits = config.limits;
    if (limits === undefined) return;
    const table = [
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
    for (const [key, option, scale] of table) {
      const value = limits[key];
      if (value !== undefined) Object.assign(serve, { [option]: Math.round(value * scale) });
    }
  }

  #faults(specs: readonly string[], serve: ConfigServeOptions): void {
    let ok = true;
    specs.forEach((spec, i) => {
      try {
        parseFaults([spec]);
      } catch (error) {
        ok = false;
        this.add(["faults", i], (error as Error).message.replace(/^--fault /, ""));
      }
    });
    if (ok && specs.length > 0) serve.faults = parseFaults(specs);
  }

  #ops(config: ConfigFile, later: (check: Promise<void>) => void): OpsOptions {
    const ops: OpsOptions = {};
    const http = config.http;
    if (http !== undefined) {
      const out: NonNullable<OpsOptions["http"]> = { port: http.port };
      if (http.host !== undefined) out.hostname = http.host;
      if (http.token_file !== undefined && http.token_env !== undefined) {
        this.add(["http", "token_env"], "give only one of token_file and token_env");
      }
      if (http.token_file !== undefined) {
        out.tokenFile = this.inputFile(http.token_file, ["http", "token_file"], later);
      }
      if (http.token_env !== undefined) {
        const token = this.secretFromEnv(http.token_env, ["http", "token_env"]);
        if (token !== undefined) out.token = token;
      }
      if (http.insecure !== undefined) out.insecure = http.insecure;
      if (http.metrics !== undefined) out.metrics = http.metrics;
      if (http.status_page !== undefined) out.statusPage = http.status_page;
      if (http.ready_timeout !== undefined) out.readyTimeoutMs = ms(http.ready_timeout);
      ops.http = out;
    }
    const log = config.transfer_log;
    if (log !== undefined) {
      ops.transferLog = {
        path: this.outputFile(log.path, ["transfer_log", "path"], later),
        ...(log.format === undefined ? {} : { format: log.format }),
        ...(log.utc === undefined ? {} : { utc: log.utc }),
      };
    }
    const upload = config.on_upload;
    if (upload !== undefined) {
      ops.onUpload = { command: upload.command };
      if (upload.timeout !== undefined) ops.onUpload.timeoutMs = ms(upload.timeout);
      if (upload.concurrency !== undefined) ops.onUpload.concurrency = upload.concurrency;
      if (upload.max_queue !== undefined) ops.onUpload.maxQueue = upload.max_queue;
      if (upload.cwd !== undefined) {
        ops.onUpload.cwd = this.root(upload.cwd, ["on_upload", "cwd"], later);
      }
    }
    const webhook = config.webhook;
    if (webhook !== undefined) {
      const out: NonNullable<OpsOptions["webhook"]> = { url: webhook.url };
      this.#noUrlCredentials(webhook.url, ["webhook", "url"], "secret_env or secret_file");
      if (webhook.secret_file !== undefined && webhook.secret_env !== undefined) {
        this.add(["webhook", "secret_env"], "give only one of secret_file and secret_env");
      }
      if (webhook.secret_file !== undefined) {
        out.secretFile = this.inputFile(webhook.secret_file, ["webhook", "secret_file"], later);
      }
      if (webhook.secret_env !== undefined) {
        const secret = this.secretFromEnv(webhook.secret_env, ["webhook", "secret_env"]);
        if (secret !== undefined) out.secret = secret;
      }
      if (webhook.types !== undefined) {
        out.types = webhook.types as NonNullable<NonNullable<OpsOptions["webhook"]>["types"]>;
      }
      if (webhook.max_queue !== undefined) out.maxQueue = webhook.max_queue;
      if (webhook.timeout !== undefined) out.timeoutMs = ms(webhook.timeout);
      if (webhook.max_attempts !== undefined) out.maxAttempts = webhook.max_attempts;
      if (webhook.backoff !== undefined) out.backoffMs = ms(webhook.backoff);
      if (webhook.max_backoff !== undefined) out.maxBackoffMs = ms(webhook.max_backoff);
      ops.webhook = out;
    }
    return ops;
  }

  #s3(s3: NonNullable<ConfigFile["s3"]>): ConfigS3Settings {
    const out: ConfigS3Settings = {};
    if (s3.endpoint !== undefined) {
      this.#noUrlCredentials(s3.endpoint, ["s3", "endpoint"], "access_key_id_env");
      out.endpoint = s3.endpoint;
    }
    if (s3.region !== undefined) out.region = s3.region;
    if (s3.path_style !== undefined) out.pathStyle = s3.path_style;
    if (s3.part_size !== undefined) out.partSize = s3.part_size;
    if (s3.max_parts_in_flight !== undefined) out.maxPartsInFlight = s3.max_parts_in_flight;
    if (s3.max_rename_keys !== undefined) out.maxRenameKeys = s3.max_rename_keys;
    if (s3.rename_concurrency !== undefined) out.renameConcurrency = s3.rename_concurrency;
    if (s3.timeout !== undefined) out.timeoutMs = ms(s3.timeout);
    if (s3.max_attempts !== undefined) out.maxAttempts = s3.max_attempts;
    const id = s3.access_key_id_env;
    const secret = s3.secret_access_key_env;
    if ((id === undefined) !== (secret === undefined)) {
      this.add(
        ["s3", id === undefined ? "secret_access_key_env" : "access_key_id_env"],
        "access_key_id_env and secret_access_key_env go together",
      );
    } else if (id !== undefined && secret !== undefined) {
      const accessKeyId = this.secretFromEnv(id, ["s3", "access_key_id_env"]);
      const secretAccessKey = this.secretFromEnv(secret, ["s3", "secret_access_key_env"]);
      const sessionToken = s3.session_token_env === undefined
        ? undefined
        : this.secretFromEnv(s3.session_token_env, ["s3", "session_token_env"]);
      if (accessKeyId !== undefined && secretAccessKey !== undefined) {
        out.credentials = {
          accessKeyId,
          secretAccessKey,
          ...(sessionToken === undefined ? {} : { sessionToken }),
        };
      }
    } else if (s3.session_token_env !== undefined) {
      this.add(["s3", "session_token_env"], "needs access_key_id_env and secret_access_key_env");
    }
    return out;
  }

  async #authHttp(
    config: ConfigFile,
    later: (check: Promise<void>) => void,
  ): Promise<ConfigAuthHttp> {
    const http = config.auth!.http;
    const at = (key: string) => ["auth", "http", key];
    if (config.users !== undefined || config.anonymous !== undefined) {
      this.add(
        ["auth", "http"],
        "cannot be combined with users or anonymous: the hook decides every login",
      );
    }
    this.#noUrlCredentials(http.url, at("url"), "token_env or token_file");
    const url = new URL(http.url);
    if (url.protocol === "http:" && !isLoopbackHost(url.hostname) && http.insecure !== true) {
      this.add(
        at("url"),
        'http:// would send passwords in clear: use https://, a loopback address, or "insecure": true',
      );
    }
    const out: ConfigAuthHttp = {
      url: http.url,
      allowedRoots: http.allowed_roots.map((root, i) => {
        const resolved = absolute(root, this.#dir);
        later(this.#expect(resolved, "directory", ["auth", "http", "allowed_roots", i]));
        return resolved;
      }),
    };
    if (http.timeout_s !== undefined) out.timeoutMs = ms(http.timeout_s);
    if (http.concurrency !== undefined) out.concurrency = http.concurrency;
    if (http.cache_s !== undefined) out.cacheMs = ms(http.cache_s);
    if (http.token_env !== undefined && http.token_file !== undefined) {
      this.add(at("token_env"), "give only one of token_file and token_env");
    } else if (http.token_env !== undefined) {
      const token = this.secretFromEnv(http.token_env, at("token_env"));
      if (token !== undefined) out.token = token;
    } else if (http.token_file !== undefined) {
      const token = await this.secretFromFile(
        absolute(http.token_file, this.#dir),
        at("token_file"),
      );
      if (token !== undefined) out.token = token;
    }
    return out;
  }

  #noUrlCredentials(value: string, at: readonly PropertyKey[], instead: string): void {
    const url = new URL(value);
    if (url.username !== "" || url.password !== "") {
      this.add(at, `credentials in the URL would show in logs: use ${instead}`);
    }
  }
}

function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  if (bare === "localhost") return true;
  const address = parseAddress(bare);
  if (address === null) return false;
  return address.family === 4 ? address.value >> 24n === 127n : address.value === 1n;
}

function sortByLine(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.i - b.i)
    .map(({ issue }) => issue);
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "not found";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) return "Deno has no read permission";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  return error instanceof Error ? error.name : "error";
}

function cwd(): string {
  try {
    return Deno.cwd();
  } catch {
    return "/";
  }
}

/** True for `/x`, `C:\x`, `C:/x` and `\\server\share`. */
function isAbsolute(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
}

/** `path` resolved against `base` and normalised (`.`, `..`, doubled slashes) on POSIX. */
function absolute(path: string, base: string): string {
  if (!isAbsolute(path)) path = `${base.replace(/[\\/]+$/, "")}/${path}`;
  if (!path.startsWith("/")) return path; // a Windows path: left to the OS
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

function dirname(path: string): string {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return cut <= 0 ? path.slice(0, cut + 1) || "/" : path.slice(0, cut);
}
