/**
 * The config file → the ops parts (`attachOps()`), the S3 settings and `auth.http`. Secrets
 * come only from `*_env` variables or `*_file` files, never inline.
 *
 * @module
 */

import { splitCommand } from "../ops/argv.ts";
import type { OpsOptions } from "../ops/mod.ts";
import { type Checks, isLoopbackHost, ms } from "./checks.ts";
import type { ConfigFile } from "./schema.ts";
import type { ConfigAuthHttp, ConfigS3Settings } from "./types.ts";

type Webhook = NonNullable<OpsOptions["webhook"]>;

/** Maps `http`, `transfer_log`, `on_upload` and `webhook`; empty when none is set. */
export function mapOps(config: ConfigFile, checks: Checks): OpsOptions {
  const ops: OpsOptions = {};
  const http = config.http;
  if (http !== undefined) {
    const out: NonNullable<OpsOptions["http"]> = { port: http.port };
    if (http.host !== undefined) out.hostname = http.host;
    if (http.token_file !== undefined && http.token_env !== undefined) {
      checks.add(["http", "token_env"], "give only one of token_file and token_env");
    }
    if (http.token_file !== undefined) {
      out.tokenFile = checks.inputFile(http.token_file, ["http", "token_file"]);
    }
    if (http.token_env !== undefined) {
      const token = checks.secretFromEnv(http.token_env, ["http", "token_env"]);
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
    ops.transferLog = { path: checks.outputFile(log.path, ["transfer_log", "path"]) };
    if (log.format !== undefined) ops.transferLog.format = log.format;
    if (log.utc !== undefined) ops.transferLog.utc = log.utc;
  }
  const upload = config.on_upload;
  if (upload !== undefined) {
    ops.onUpload = { command: uploadCommand(upload.command, checks) };
    if (upload.timeout !== undefined) ops.onUpload.timeoutMs = ms(upload.timeout);
    if (upload.concurrency !== undefined) ops.onUpload.concurrency = upload.concurrency;
    if (upload.max_queue !== undefined) ops.onUpload.maxQueue = upload.max_queue;
    if (upload.cwd !== undefined) {
      ops.onUpload.cwd = checks.directory(upload.cwd, ["on_upload", "cwd"]);
    }
  }
  if (config.webhook !== undefined) ops.webhook = mapWebhook(config.webhook, checks);
  return ops;
}

/**
 * The hook's command with a relative program (`hooks/scan.sh`) resolved against the file's
 * directory, as every other path of the file ("Paths" in docs/configuration.md): spawned as
 * written it ran only when the server happened to start there (under systemd, cwd /, never).
 * A bare name (`clamdscan`) is still looked up in PATH. A line that cannot be split is left as
 * it is, for the start's check to name.
 */
function uploadCommand(command: string | readonly string[], checks: Checks): string | string[] {
  let words: string[];
  try {
    words = typeof command === "string" ? splitCommand(command) : [...command];
  } catch {
    return command as string;
  }
  const program = words[0];
  if (program === undefined || !program.includes("/") || program.startsWith("/")) {
    return typeof command === "string" ? command : words;
  }
  return [checks.resolve(program), ...words.slice(1)];
}

function mapWebhook(webhook: NonNullable<ConfigFile["webhook"]>, checks: Checks): Webhook {
  const out: Webhook = { url: webhook.url };
  checks.noUrlCredentials(webhook.url, ["webhook", "url"], "secret_env or secret_file");
  if (webhook.secret_file !== undefined && webhook.secret_env !== undefined) {
    checks.add(["webhook", "secret_env"], "give only one of secret_file and secret_env");
  }
  if (webhook.secret_file !== undefined) {
    out.secretFile = checks.inputFile(webhook.secret_file, ["webhook", "secret_file"]);
  }
  if (webhook.secret_env !== undefined) {
    const secret = checks.secretFromEnv(webhook.secret_env, ["webhook", "secret_env"]);
    if (secret !== undefined) out.secret = secret;
  }
  if (webhook.types !== undefined) out.types = webhook.types as Webhook["types"];
  if (webhook.max_queue !== undefined) out.maxQueue = webhook.max_queue;
  if (webhook.timeout !== undefined) out.timeoutMs = ms(webhook.timeout);
  if (webhook.max_attempts !== undefined) out.maxAttempts = webhook.max_attempts;
  if (webhook.backoff !== undefined) out.backoffMs = ms(webhook.backoff);
  if (webhook.max_backoff !== undefined) out.maxBackoffMs = ms(webhook.max_backoff);
  return out;
}

/** Maps `s3` onto `S3Settings`; credentials from the environment variables it names. */
export function mapS3(s3: NonNullable<ConfigFile["s3"]>, checks: Checks): ConfigS3Settings {
  const out: ConfigS3Settings = {};
  if (s3.endpoint !== undefined) {
    checks.noUrlCredentials(s3.endpoint, ["s3", "endpoint"], "access_key_id_env");
    out.endpoint = s3.endpoint;
  }
  if (s3.region !== undefined) out.region = s3.region;
  if (s3.path_style !== undefined) out.pathStyle = s3.path_style;
  if (s3.part_size !== undefined) out.partSize = s3.part_size;
  if (s3.max_parts_in_flight !== undefined) out.maxPartsInFlight = s3.max_parts_in_flight;
  if (s3.max_rename_keys !== undefined) out.maxRenameKeys = s3.max_rename_keys;
  if (s3.list_cache !== undefined) out.listCacheMs = ms(s3.list_cache);
  if (s3.rename_concurrency !== undefined) out.renameConcurrency = s3.rename_concurrency;
  if (s3.timeout !== undefined) out.timeoutMs = ms(s3.timeout);
  if (s3.max_attempts !== undefined) out.maxAttempts = s3.max_attempts;
  const id = s3.access_key_id_env;
  const secret = s3.secret_access_key_env;
  if ((id === undefined) !== (secret === undefined)) {
    checks.add(
      ["s3", id === undefined ? "secret_access_key_env" : "access_key_id_env"],
      "access_key_id_env and secret_access_key_env go together",
    );
  } else if (id !== undefined && secret !== undefined) {
    const accessKeyId = checks.secretFromEnv(id, ["s3", "access_key_id_env"]);
    const secretAccessKey = checks.secretFromEnv(secret, ["s3", "secret_access_key_env"]);
    const sessionToken = s3.session_token_env === undefined
      ? undefined
      : checks.secretFromEnv(s3.session_token_env, ["s3", "session_token_env"]);
    if (accessKeyId !== undefined && secretAccessKey !== undefined) {
      out.credentials = { accessKeyId, secretAccessKey };
      if (sessionToken !== undefined) out.credentials.sessionToken = sessionToken;
    }
  } else if (s3.session_token_env !== undefined) {
    checks.add(["s3", "session_token_env"], "needs access_key_id_env and secret_access_key_env");
  }
  return out;
}

/** Maps `auth.http` onto `HttpIdentityProvider` options (without the root opener). */
export async function mapAuthHttp(config: ConfigFile, checks: Checks): Promise<ConfigAuthHttp> {
  const http = config.auth!.http;
  const at = (key: string) => ["auth", "http", key];
  if (config.users !== undefined || config.anonymous !== undefined) {
    checks.add(
      ["auth", "http"],
      "cannot be combined with users or anonymous: the hook decides every login",
    );
  }
  checks.noUrlCredentials(http.url, at("url"), "token_env or token_file");
  const url = new URL(http.url);
  // The hook receives every password: in clear only where nobody else can listen.
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname) && http.insecure !== true) {
    checks.add(
      at("url"),
      'http:// would send passwords in clear: use https://, a loopback address, or "insecure": true',
    );
  }
  const out: ConfigAuthHttp = {
    url: http.url,
    allowedRoots: http.allowed_roots.map((root, i) =>
      checks.directory(root, ["auth", "http", "allowed_roots", i])
    ),
  };
  if (http.timeout_s !== undefined) out.timeoutMs = ms(http.timeout_s);
  if (http.concurrency !== undefined) out.concurrency = http.concurrency;
  if (http.cache_s !== undefined) out.cacheMs = ms(http.cache_s);
  if (http.token_env !== undefined && http.token_file !== undefined) {
    checks.add(at("token_env"), "give only one of token_file and token_env");
  } else if (http.token_env !== undefined) {
    const token = checks.secretFromEnv(http.token_env, at("token_env"));
    if (token !== undefined) out.token = token;
  } else if (http.token_file !== undefined) {
    const token = await checks.secretFromFile(http.token_file, at("token_file"));
    if (token !== undefined) out.token = token;
  }
  return out;
}
