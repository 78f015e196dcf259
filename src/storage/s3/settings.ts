/**
 * Where an S3 back end points and how it behaves: the `s3://BUCKET[/PREFIX]` root, the endpoint
 * and the tuning knobs, resolved from explicit settings first and the standard `AWS_*`
 * variables second. Pure: no I/O, and the environment is read through a function the caller
 * passes, so that a launcher granting `--allow-env=AWS_...` stays in charge of what is read.
 *
 * Credentials never come from a URL or a command line (they would show in `ps` and in logs):
 * only from the environment or an explicit object.
 *
 * @module
 */

/** S3 credentials: an access key pair, with a session token for temporary credentials. */
export interface S3Credentials {
  /** `AWS_ACCESS_KEY_ID`. */
  accessKeyId: string;
  /** `AWS_SECRET_ACCESS_KEY`. */
  secretAccessKey: string;
  /** `AWS_SESSION_TOKEN`, for temporary credentials. */
  sessionToken?: string;
}

/** What a `s3://` root names. */
export interface S3Location {
  /** The bucket's name. */
  bucket: string;
  /** Key prefix that is the served root: `""` or ending in `/` (e.g. `"team/ftp/"`). */
  prefix: string;
}

/**
 * Settings for {@linkcode openS3Storage}; everything is optional and falls back to the
 * `AWS_*` environment and then the defaults named here.
 */
export interface S3Settings {
  /**
   * Endpoint URL, e.g. `http://127.0.0.1:7480`. Default: `AWS_ENDPOINT_URL_S3`, then
   * `AWS_ENDPOINT_URL`, then AWS itself (`https://s3.REGION.amazonaws.com`).
   */
  endpoint?: string;
  /** Region for signing. Default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `us-east-1`. */
  region?: string;
  /**
   * Address the bucket in the path (`http://host/bucket/key`) instead of the host name
   * (`http://bucket.host/key`). Default: true when an endpoint is set (most S3-compatible
   * stores), false for AWS.
   */
  pathStyle?: boolean;
  /** Credentials. Default: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`. */
  credentials?: S3Credentials;
  /**
   * Bytes per multipart-upload part; at least 5 MiB (S3's smallest part). An upload smaller
   * than one part is a single PutObject.
   * @default 8388608 (8 MiB)
   */
  partSize?: number;
  /**
   * Parts of one upload sent at once. Memory per upload is at most
   * `partSize × (maxPartsInFlight + 1)`.
   * @default 4
   */
  maxPartsInFlight?: number;
  /**
   * Most keys a directory rename copies; a larger directory is refused (550) before anything
   * is copied.
   * @default 10000
   */
  maxRenameKeys?: number;
  /**
   * Keep directory listings this long (storage/ttl_listing.ts; applied by the app around the
   * storage): another instance's changes show after at most this. 0 (the default): off.
   */
  listCacheMs?: number;
  /**
   * Copies (and deletes) a directory rename runs at once.
   * @default 16
   */
  renameConcurrency?: number;
  /**
   * Time allowed for one request until its response headers arrive, and between two chunks of
   * a response body.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Attempts for an idempotent request that failed in a way worth retrying (503 SlowDown, 500,
   * a reset connection, a timeout), with jittered exponential back-off between them.
   * @default 5
   */
  maxAttempts?: number;
  /** First back-off step in ms; each retry waits a random time up to `base × 2^attempt`. */
  retryBaseMs?: number;
  /** Longest back-off step in ms. */
  retryMaxMs?: number;
  /** Reads one environment variable (default: `Deno.env.get`, `undefined` where not allowed). */
  env?: (name: string) => string | undefined;
}

/** Settings with every default applied (see {@linkcode S3Settings} for each). */
export interface ResolvedS3Settings {
  /** The endpoint, with the bucket not yet in it. */
  endpoint: URL;
  /** Signing region. */
  region: string;
  /** Bucket in the path (true) or in the host name (false). */
  pathStyle: boolean;
  /** The key pair (and token) requests are signed with. */
  credentials: S3Credentials;
  /** Bytes per multipart part. */
  partSize: number;
  /** Parts of one upload on their way at once. */
  maxPartsInFlight: number;
  /** Most keys a directory rename copies. */
  maxRenameKeys: number;
  /** Copies a directory rename runs at once. */
  renameConcurrency: number;
  /** Per-request answer time, and longest stall of a download. */
  timeoutMs: number;
  /** Attempts of a retryable request. */
  maxAttempts: number;
  /** First back-off step. */
  retryBaseMs: number;
  /** Longest back-off step. */
  retryMaxMs: number;
}

/**
 * S3's smallest part (all but the last part of a multipart upload).
 *
 * @example
 * ```ts
 * import { MIN_PART_SIZE } from "./settings.ts";
 * MIN_PART_SIZE; // 5242880
 * ```
 */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part, and the largest single CopyObject/PutObject. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** S3's most parts in one multipart upload. */
export const MAX_PARTS = 10_000;

/**
 * The defaults of {@linkcode S3Settings}.
 *
 * @example
 * ```ts
 * import { S3_DEFAULTS } from "./settings.ts";
 * S3_DEFAULTS.partSize * (S3_DEFAULTS.maxPartsInFlight + 1); // 41943040: memory per upload
 * ```
 */
export const S3_DEFAULTS: Readonly<{
  partSize: number;
  maxPartsInFlight: number;
  maxRenameKeys: number;
  renameConcurrency: number;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}> = Object.freeze({
  partSize: 8 * 1024 * 1024,
  maxPartsInFlight: 4,
  maxRenameKeys: 10_000,
  renameConcurrency: 16,
  timeoutMs: 30_000,
  maxAttempts: 5,
  retryBaseMs: 100,
  retryMaxMs: 5_000,
});

/**
 * A configuration mistake in an S3 root or its settings (for the operator, never a client).
 *
 * @example
 * ```ts
 * import { parseS3Url, S3ConfigError } from "./settings.ts";
 * try {
 *   parseS3Url("s3://key:secret@bucket");
 * } catch (error) {
 *   error instanceof S3ConfigError; // true
 * }
 * ```
 */
export class S3ConfigError extends Error {
  /** An error with a message for the operator. */
  constructor(message: string) {
    super(message);
    this.name = "S3ConfigError";
  }
}

/**
 * True for a root string that names an S3 bucket.
 *
 * @example
 * ```ts
 * import { isS3Url } from "./settings.ts";
 * isS3Url("s3://media/ftp"); // true
 * isS3Url("/srv/ftp"); // false
 * ```
 */
export function isS3Url(root: string): boolean {
  return /^s3:\/\//i.test(root);
}

/**
 * Parses `s3://BUCKET[/PREFIX]`. The prefix is normalised to end in `/` (or be empty); empty
 * segments are dropped. Credentials in the URL (`s3://key:secret@bucket`) are refused.
 *
 * @example
 * ```ts
 * import { parseS3Url } from "./settings.ts";
 * parseS3Url("s3://media/ftp/incoming"); // { bucket: "media", prefix: "ftp/incoming/" }
 * ```
 */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([^/]*)(\/.*)?$/i.exec(url);
  if (match === null) throw new S3ConfigError(`not an s3:// URL: expected s3://BUCKET[/PREFIX]`);
  const bucket = match[1];
  if (bucket.includes("@") || bucket.includes(":")) {
    throw new S3ConfigError(
      "credentials do not belong in an s3:// URL: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    );
  }
  // S3 bucket naming rules (3-63 characters of lower-case letters, digits, dots and hyphens);
  // older buckets may have upper case and underscores, which path-style addressing still reaches.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/.test(bucket)) {
    throw new S3ConfigError(`invalid bucket name in s3:// URL`);
  }
  const segments = (match[2] ?? "").split("/").filter((segment) => segment !== "");
  for (const segment of segments) {
    if (segment === "." || segment === "..") {
      throw new S3ConfigError("an s3:// prefix may not contain . or .. segments");
    }
  }
  return { bucket, prefix: segments.length === 0 ? "" : segments.join("/") + "/" };
}

function defaultEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // not granted: as if unset
  }
}

function positiveInteger(name: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new S3ConfigError(`${name} must be an integer of at least ${min}, got ${value}`);
  }
  return value;
}

/**
 * Applies the environment and the defaults to `settings`; throws {@linkcode S3ConfigError}
 * for a missing credential or a value out of range.
 *
 * @example
 * ```ts
 * import { resolveS3Settings } from "./settings.ts";
 * const env: Record<string, string> = { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "secret" };
 * const resolved = resolveS3Settings({ endpoint: "http://127.0.0.1:7480", env: (n) => env[n] });
 * resolved.pathStyle; // true
 * ```
 */
export function resolveS3Settings(settings: S3Settings = {}): ResolvedS3Settings {
  const env = settings.env ?? defaultEnv;
  const region = settings.region ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
  const endpointText = settings.endpoint ?? env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL");
  let endpoint: URL;
  try {
    endpoint = new URL(endpointText ?? `https://s3.${region}.amazonaws.com`);
  } catch {
    throw new S3ConfigError("the S3 endpoint is not a URL");
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new S3ConfigError("the S3 endpoint must be an http: or https: URL");
  }
  if (endpoint.username !== "" || endpoint.password !== "") {
    throw new S3ConfigError("credentials do not belong in the S3 endpoint URL");
  }
  const accessKeyId = settings.credentials?.accessKeyId ?? env("AWS_ACCESS_KEY_ID");
  const secretAccessKey = settings.credentials?.secretAccessKey ?? env("AWS_SECRET_ACCESS_KEY");
  if (!accessKeyId || !secretAccessKey) {
    throw new S3ConfigError(
      "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)",
    );
  }
  const sessionToken = settings.credentials
    ? settings.credentials.sessionToken
    : env("AWS_SESSION_TOKEN");
  const partSize = positiveInteger(
    "the S3 part size",
    settings.partSize ?? S3_DEFAULTS.partSize,
    MIN_PART_SIZE,
  );
  if (partSize > MAX_PART_SIZE) {
    throw new S3ConfigError(`the S3 part size may be at most 5 GiB`);
  }
  return {
    endpoint,
    region,
    pathStyle: settings.pathStyle ?? endpointText !== undefined,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    partSize,
    maxPartsInFlight: positiveInteger(
      "maxPartsInFlight",
      settings.maxPartsInFlight ?? S3_DEFAULTS.maxPartsInFlight,
    ),
    maxRenameKeys: positiveInteger(
      "the S3 rename key limit",
      settings.maxRenameKeys ?? S3_DEFAULTS.maxRenameKeys,
    ),
    renameConcurrency: positiveInteger(
      "renameConcurrency",
      settings.renameConcurrency ?? S3_DEFAULTS.renameConcurrency,
    ),
    timeoutMs: positiveInteger("timeoutMs", settings.timeoutMs ?? S3_DEFAULTS.timeoutMs),
    maxAttempts: positiveInteger("maxAttempts", settings.maxAttempts ?? S3_DEFAULTS.maxAttempts),
    retryBaseMs: positiveInteger("retryBaseMs", settings.retryBaseMs ?? S3_DEFAULTS.retryBaseMs),
    retryMaxMs: positiveInteger("retryMaxMs", settings.retryMaxMs ?? S3_DEFAULTS.retryMaxMs),
  };
}

/**
 * The environment variables the S3 back end reads: what a launcher passes to `--allow-env`.
 *
 * @example
 * ```ts
 * import { S3_ENV_NAMES } from "./settings.ts";
 * `--allow-env=${S3_ENV_NAMES.join(",")}`;
 * ```
 */
export const S3_ENV_NAMES: readonly string[] = Object.freeze([
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL",
]);

/**
 * The `host:port` an S3 root connects to: what a launcher passes to `--allow-net` (with
 * virtual-hosted addressing the bucket is part of the host name).
 *
 * @example
 * ```ts
 * import { s3NetHost } from "./settings.ts";
 * s3NetHost("s3://media/ftp", { endpoint: "http://127.0.0.1:7480" }); // "127.0.0.1:7480"
 * s3NetHost("s3://media", { region: "eu-west-3" }); // "media.s3.eu-west-3.amazonaws.com:443"
 * ```
 */
export function s3NetHost(url: string, settings: Omit<S3Settings, "credentials"> = {}): string {
  const { bucket } = parseS3Url(url);
  const resolved = resolveS3Settings({
    ...settings,
    credentials: { accessKeyId: "-", secretAccessKey: "-" },
  });
  const { endpoint } = resolved;
  const port = endpoint.port || (endpoint.protocol === "https:" ? "443" : "80");
  const host = resolved.pathStyle ? endpoint.hostname : `${bucket}.${endpoint.hostname}`;
  return `${host}:${port}`;
}
