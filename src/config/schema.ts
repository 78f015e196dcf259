/**
 * The config file's schema, in zod: what every key means, its type and range. The committed
 * `ftpgate.schema.json` (editor completion via `$schema`) is generated from it by
 * `scripts/gen_schema.ts`, and the HTTP identity hook's answers are checked with the same
 * pieces as the users of the file ({@linkcode UserTreeShape}).
 *
 * This module costs about 15 ms to load (zod): it is imported only when a config file is given
 * or an HTTP identity hook answers, never on the plain start path.
 *
 * Checks that need I/O or the whole file (directories exist, environment variables are set,
 * hash formats, duplicate names) are in `load.ts`; this file holds only what a JSON Schema can
 * also say, plus a few cross-field rules on one object.
 *
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { PERMISSIONS } from "../identity/rules.ts";
import { ACTIVITY_TYPES } from "../ops/activity.ts";
import { cidrProblem, parseAddress } from "../net/cidr.ts";
import { MAX_WORKERS } from "./types.ts";

const MAX_MS = 2 ** 31 - 1;

/** A duration in seconds (fractions allowed), at most what a timer can hold. */
function seconds(description: string) {
  return z.number({ error: "expected a number of seconds" }).min(0, {
    error: "must not be negative",
  }).max(MAX_MS / 1000, { error: "is too long" }).meta({ description });
}

/** A whole number from `min` up. */
function count(min: number, description: string, max = Number.MAX_SAFE_INTEGER) {
  return z.number({ error: "expected a whole number" })
    .int({ error: "expected a whole number" })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` })
    .meta({ description });
}

function flag(description: string) {
  return z.boolean({ error: "expected true or false" }).meta({ description });
}

function text(description: string) {
  return z.string({ error: "expected a string" }).min(1, { error: "must not be empty" }).meta({
    description,
  });
}

/** A file or directory path; relative ones are resolved against the config file's directory. */
function path(description: string) {
  return text(`${description} Relative to the config file's directory.`);
}

/** The name of an environment variable holding a secret. */
function envName(description: string) {
  return z.string({ error: "expected the name of an environment variable" })
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected the name of an environment variable" })
    .meta({ description });
}

const port = count(0, "TCP port; 0 picks a free one.", 65535);

/**
 * A path in a user's tree. No `.` or `..` segment: a home of `/pub/..` would be a current
 * directory that no rule path matches, one of `/../bob` an S3 key beside the user's prefix, and
 * a rule for `/inbox/..` a rule for `/`. Refused, so that what the file says is what applies.
 */
const virtualPath = z.string({ error: "expected a path" })
  .startsWith("/", { error: 'must be a path starting with "/"' })
  .max(4096, { error: "is too long" })
  .refine((value) => !value.split("/").some((segment) => segment === "." || segment === ".."), {
    error: 'must not have "." or ".." segments',
  });

function httpUrl(description: string) {
  return z.string({ error: "expected a URL" }).refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:";
    } catch {
      return false;
    }
  }, { error: "expected an http:// or https:// URL" }).meta({ description });
}

/** Host names (RFC 1123) or IP addresses; `::` and `0.0.0.0` listen everywhere. */
const HOSTNAME =
  /^(?=.{1,253}\.?$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

const host = z.string({ error: "expected a host name or an IP address" }).refine(
  (value) => parseAddress(value) !== null || HOSTNAME.test(value),
  { error: "expected a host name or an IP address" },
);

/** PASV replies carry an IPv4 address (RFC 959 §4.1.2), so a host name must resolve to one. */
const pasvAddress = z.string({ error: "expected an IPv4 address or a host name" }).refine(
  (value) => parseAddress(value)?.family === 4 || (HOSTNAME.test(value) && !/^[\d.]+$/.test(value)),
  { error: "expected an IPv4 address or a host name (PASV replies carry IPv4 only)" },
);

const cidr = z.string({ error: "expected a network like 10.0.0.0/8" }).superRefine(
  (value, ctx) => {
    const problem = cidrProblem(value);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  },
).meta({ description: "An IP network in CIDR notation: 10.0.0.0/8, 2001:db8::/32." });

const networks = z.array(cidr, { error: "expected a list of networks" });

const permission = z.enum([...PERMISSIONS, "*"], {
  error: `expected one of ${[...PERMISSIONS, "*"].map((p) => `"${p}"`).join(", ")}`,
});

/** One rule: the permissions granted at a path and below (the longest matching path wins). */
export const RuleSchema = z.strictObject({
  path: virtualPath.meta({
    description: "A path in the user's tree; the rule covers it and below.",
  }),
  allow: z.array(permission, { error: "expected a list of permissions" }).meta({
    description: 'Permissions granted there; "*" grants all. An empty list denies everything.',
  }),
}, { error: "expected { path, allow }" });

/** One mount: a directory shown at a path of the user's tree. */
export const MountSchema = z.strictObject({
  path: virtualPath.meta({ description: "Where the directory appears in the user's tree." }),
  root: path('A directory, "memory:" or an s3:// URL.'),
  read_only: flag("Nothing below the mount may be changed.").optional(),
}, { error: "expected { path, root, read_only }" });

const rules = z.array(RuleSchema, { error: "expected a list of rules" }).meta({
  description: "Rules by path. Default: every permission everywhere.",
});

/**
 * What a user gets after login: tree, rights and limits. Shared by the users of the file and
 * the answers of the HTTP identity hook, so both speak one language.
 */
export const UserTreeShape = {
  root: path(
    "The user's own tree: a directory, \"memory:\" or an s3:// URL. Default: the server's root.",
  )
    .optional(),
  mounts: z.array(MountSchema, { error: "expected a list of mounts" }).min(1, {
    error: "must not be empty",
  }).meta({ description: "The user's tree assembled from several roots (instead of root)." })
    .optional(),
  rules: rules.optional(),
  home: virtualPath.meta({ description: "Where the session starts. Default /." }).optional(),
  quota: z.strictObject({
    bytes: count(0, "Most bytes the user's files may hold together (552 beyond).").optional(),
    files: count(0, "Most files the user may have.").optional(),
  }, { error: "expected { bytes, files }" }).optional(),
  bandwidth: z.strictObject({
    upload: count(1, "Upload rate in bytes per second, shared by the user's sessions.").optional(),
    download: count(1, "Download rate in bytes per second, shared by the user's sessions.")
      .optional(),
    session_upload: count(1, "Upload rate in bytes per second of each of the user's sessions.")
      .optional(),
    session_download: count(
      1,
      "Download rate in bytes per second of each of the user's sessions.",
    ).optional(),
  }, { error: "expected { upload, download, session_upload, session_download }" }).optional(),
  max_sessions: count(1, "Most sessions the user may have at once.").optional(),
  allowed_networks: networks.meta({
    description: "Networks (CIDR) the user may log in from. Default: anywhere.",
  }).optional(),
  require_tls: flag("The user may log in only over TLS (AUTH TLS or implicit TLS).").optional(),
} as const;

/** Adds the cross-field rules of a user tree: root and mounts exclude each other. */
function checkTree(tree: { root?: unknown; mounts?: unknown }, ctx: z.RefinementCtx): void {
  if (tree.root !== undefined && tree.mounts !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["mounts"],
      message: "root and mounts exclude each other",
    });
  }
}

/** A user of the config file. */
export const UserSchema = z.strictObject({
  name: z.string({ error: "expected a string" })
    .regex(/^[^\s:]{1,256}$/, {
      error: "must be 1 to 256 characters without white space or colons",
    })
    .meta({ description: "Login name (case-sensitive)." }),
  password_hash: text(
    "Password hash: argon2id (ftpgate hash-password), bcrypt, SHA-512/SHA-256 crypt, PBKDF2 or scrypt (PHC).",
  ).optional(),
  password_env: envName("Environment variable holding the password.").optional(),
  password_file: path("File holding the password (trailing white space removed).").optional(),
  password: text('The password in clear; only with "allow_plaintext": true.').optional(),
  ...UserTreeShape,
}, { error: "expected a user object" }).superRefine(checkTree);

/**
 * The JSON answer of the HTTP identity hook for accepted credentials: the same fields as a
 * user of the file (minus name and password), `root` or `mounts` required.
 */
export const HookAnswerSchema = z.strictObject({
  ok: z.literal(true, { error: "expected true (false means wrong credentials)" }).optional(),
  ...UserTreeShape,
}, { error: "expected a JSON object" }).superRefine((answer, ctx) => {
  checkTree(answer, ctx);
  if (answer.root === undefined && answer.mounts === undefined) {
    ctx.addIssue({ code: "custom", path: ["root"], message: "root or mounts is required" });
  }
});

/** What a hook answer holds once checked. */
export type HookAnswer = z.infer<typeof HookAnswerSchema>;

const anonymous = z.union([
  z.boolean(),
  z.enum(["read", "write"]),
  z.strictObject({
    root: path('Directory, "memory:" or s3:// URL. Default: the server\'s root.').optional(),
    rules: rules.optional(),
  }),
], { error: 'expected true, false, "read", "write" or { root, rules }' }).meta({
  description:
    'Anonymous login (anonymous/ftp): false, true or "read" (read-only), "write" (upload-only), or { root, rules }. Default: read-only when no user is configured.',
});

/** The whole config file. Unknown keys are errors everywhere. */
export const ConfigSchema = z.strictObject({
  $schema: z.string().meta({ description: "The JSON Schema for editor completion; ignored." })
    .optional(),
  root: path('Directory to serve, "memory:" or an s3:// URL. Default: the current directory.')
    .optional(),
  listen: z.strictObject({
    host: host.meta({ description: "Address to listen on; :: for IPv6 and IPv4." }).optional(),
    port: port.optional(),
  }, { error: "expected { host, port }" }).optional(),
  banner: z.string({ error: "expected a string" }).regex(/^[^\r\n]*$/, {
    error: "must be one line",
  }).meta({ description: "Text of the 220 greeting." }).optional(),
  passive: z.strictObject({
    ports: z.union([
      z.string().regex(/^\d{1,5}-\d{1,5}$/, {
        error: 'expected a port range: "50000-50100" or [50000, 50100]',
      }),
      z.tuple([count(1024, "First port.", 65535), count(1024, "Last port.", 65535)]),
    ], { error: 'expected a port range: "50000-50100" or [50000, 50100]' }).meta({
      description: "Ports for passive data connections, inclusive.",
    }).optional(),
    address: pasvAddress.meta({
      description:
        "Address advertised in PASV replies (NAT): an IPv4 address or a host name resolved at start and on SIGHUP.",
    }).optional(),
    addresses: z.array(
      z.strictObject({
        networks: networks.min(1, { error: "must not be empty" }),
        address: pasvAddress,
      }, { error: "expected { networks, address }" }),
      { error: "expected a list of { networks, address }" },
    ).meta({
      description:
        "Per client network: clients in networks get address (first match wins); others get passive.address.",
    }).optional(),
  }, { error: "expected { ports, address, addresses }" }).optional(),
  allow_plaintext: flag('Allow "password" in clear in this file.').optional(),
  users: z.array(UserSchema, { error: "expected a list of users" }).optional(),
  anonymous: anonymous.optional(),
  allow_fxp: flag("Allow PORT/EPRT to hosts other than the client.").optional(),
  allow_active: flag("Allow active mode (PORT/EPRT). Default true.").optional(),
  list_cache: flag(
    "Cache listings of large directories, kept true by inotify (needs FFI to glibc). Default true.",
  ).optional(),
  atomic_uploads: flag("Upload to a hidden temporary file, rename into place on success.")
    .optional(),
  transfers: z.strictObject({
    mode_z: flag("Offer MODE Z (deflate). Default false.").optional(),
    restart_marker_interval: count(0, "MODE B/C: a restart marker every this many bytes (0: none).")
      .optional(),
    ebcdic_code_page: z.enum(["037", "1047"], { error: 'expected "037" or "1047"' }).meta({
      description: "TYPE E's EBCDIC code page. Default 037.",
    }).optional(),
  }, { error: "expected { mode_z, restart_marker_interval, ebcdic_code_page }" }).optional(),
  tls: z.strictObject({
    cert: path("TLS certificate (PEM); SIGHUP reloads it.").optional(),
    key: path("TLS private key (PEM); SIGHUP reloads it.").optional(),
    self_signed: flag("Generate a throwaway certificate at start (tests, CI).").optional(),
    implicit_port: port.meta({ description: "Also listen for implicit TLS on this port." })
      .optional(),
    sniff: seconds("Main port: wait this long for a TLS ClientHello (0: off).").optional(),
    require: flag("Refuse login and data without TLS.").optional(),
    require_data: flag("Refuse data connections without PROT P.").optional(),
    require_session_reuse: flag("Data TLS must resume the control TLS session.").optional(),
    allow_truncation: flag("Accept TLS uploads that end without close_notify.").optional(),
  }, { error: "expected a TLS object" }).optional(),
  limits: z.strictObject({
    max_sessions: count(1, "Most sessions at once.").optional(),
    max_sessions_per_ip: count(1, "Most sessions at once from one IP.").optional(),
    idle_timeout: seconds("Close a session idle this long.").optional(),
    data_timeout: seconds("Wait this long for a data connection.").optional(),
    stall_timeout: seconds("Abort a transfer that moves no byte this long.").optional(),
    max_line_length: count(64, "Longest command line in bytes.", 1 << 20).optional(),
    max_pipelined: count(16, "Command bytes read ahead of the one being answered.", 1 << 20)
      .optional(),
    max_login_attempts: count(1, "Failed logins per session before it is closed.").optional(),
    login_failure_delay: seconds("Delay before answering a failed login.").optional(),
    ban_after: count(1, "Failed logins from one IP before it is banned.").optional(),
    ban_duration: seconds("How long a ban lasts.").optional(),
    shutdown_grace: seconds("On SIGTERM/SIGINT, let transfers finish this long.").optional(),
  }, { error: "expected a limits object" }).meta({ description: "Durations are in seconds." })
    .optional(),
  logging: z.strictObject({
    format: z.enum(["text", "json"], { error: 'expected "text" or "json"' }).optional(),
    level: z.enum(["debug", "info", "warning", "error"], {
      error: 'expected "debug", "info", "warning" or "error"',
    }).optional(),
    transcript: path("Append every command and reply here (JSON lines).").optional(),
  }, { error: "expected { format, level, transcript }" }).optional(),
  run: z.strictObject({
    ready_file: path("When listening, write a JSON ready line here.").optional(),
    exit_after: seconds("Shut down after this long.").optional(),
    exit_when_idle: seconds("Exit 0 after this long with no session.").optional(),
    stdin_lifeline: flag("Shut down when stdin closes (parent died).").optional(),
    parent_lifeline: flag("Shut down when the parent process exits.").optional(),
    workers: z.union([z.literal("auto"), z.int().min(1).max(MAX_WORKERS)], {
      error: `expected a whole number from 1 to ${MAX_WORKERS} or "auto"`,
    }).meta({
      description:
        "Run sessions in this many isolates sharing the port (Linux; auto: one per core).",
    }).optional(),
  }, { error: "expected a run object" }).optional(),
  faults: z.array(z.string({ error: "expected a fault spec" }), {
    error: "expected a list of fault specs",
  }).meta({
    description:
      "Misbehave on purpose (as --fault): delay=MS, drop-after=VERB, dead-pasv, stall-retr=BYTES, fail-stor=BYTES[:CODE], reject-login=N, split-replies; with an s3:// root s3-slowdown=COUNT[/EVERY], s3-fail-part=N, s3-slow-get=MS.",
  }).optional(),
  http: z.strictObject({
    port: port.meta({ description: "Port of the HTTP side port (health, metrics, status)." }),
    host: host.meta({ description: "Address to bind. Default 127.0.0.1." }).optional(),
    token_file: path("File holding the bearer token.").optional(),
    token_env: envName("Environment variable holding the bearer token.").optional(),
    insecure: flag("Allow a non-loopback address without a token.").optional(),
    metrics: flag("Serve /metrics. Default true.").optional(),
    status_page: flag("Serve the status page. Default true.").optional(),
    ready_timeout: seconds("How long a readiness probe may take.").optional(),
  }, { error: "expected an http object" }).optional(),
  transfer_log: z.strictObject({
    path: path("File to append a line per transfer to."),
    format: z.enum(["xferlog", "json"], { error: 'expected "xferlog" or "json"' }).optional(),
    utc: flag("xferlog times in UTC.").optional(),
  }, { error: "expected { path, format, utc }" }).optional(),
  on_upload: z.strictObject({
    command: z.union([
      z.string().min(1),
      z.array(z.string()).min(1),
    ], { error: "expected a command line or a list of words" }).meta({
      description: "Program run after each upload: a command line or its words.",
    }),
    timeout: seconds("Longest run.").optional(),
    concurrency: count(1, "Programs running at once.").optional(),
    max_queue: count(0, "Uploads waiting for a free slot.").optional(),
    cwd: path("Working directory.").optional(),
  }, { error: "expected an on_upload object" }).optional(),
  webhook: z.strictObject({
    url: httpUrl("URL to POST events to."),
    secret_file: path("File holding the HMAC key.").optional(),
    secret_env: envName("Environment variable holding the HMAC key.").optional(),
    types: z.array(z.enum(ACTIVITY_TYPES as [string, ...string[]]), {
      error: `expected a list of ${ACTIVITY_TYPES.join(", ")}`,
    }).optional(),
    max_queue: count(1, "Events waiting at most.").optional(),
    timeout: seconds("Time-out of one request.").optional(),
    max_attempts: count(1, "Attempts per event.").optional(),
    backoff: seconds("First retry delay, doubled each time.").optional(),
    max_backoff: seconds("Longest retry delay.").optional(),
  }, { error: "expected a webhook object" }).optional(),
  auth: z.strictObject({
    http: z.strictObject({
      url: httpUrl("The identity hook: POSTed { user, password, remote_address, tls } as JSON."),
      allowed_roots: z.array(path("A directory."), { error: "expected a list of directories" })
        .min(1, { error: "must name at least one directory" }).meta({
          description: "Roots the hook may hand out: these directories and below, nothing else.",
        }),
      timeout_s: seconds("Time-out of one request (421 beyond). Default 5.").optional(),
      concurrency: count(1, "Requests at once; beyond, logins get 421. Default 16.").optional(),
      cache_s: seconds("Remember accepted logins this long (0: off). Default 0.").optional(),
      token_env: envName("Environment variable holding a bearer token sent to the hook.")
        .optional(),
      token_file: path("File holding a bearer token sent to the hook.").optional(),
      insecure: flag("Allow http:// to a host other than loopback (passwords in clear).")
        .optional(),
    }, { error: "expected an auth.http object" }),
  }, { error: "expected { http }" }).optional(),
  s3: z.strictObject({
    endpoint: httpUrl("S3 endpoint URL. Default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS.")
      .optional(),
    region: text("Region for signing. Default: AWS_REGION, then us-east-1.").optional(),
    path_style: flag("Bucket in the path instead of the host name.").optional(),
    part_size: count(5 * 1024 * 1024, "Bytes per multipart-upload part.", 5 * 1024 ** 3)
      .optional(),
    max_parts_in_flight: count(1, "Parts of one upload sent at once.").optional(),
    max_rename_keys: count(1, "Most keys a directory rename copies.").optional(),
    list_cache: seconds(
      "Serve a directory's listing from memory this long; 0: off (the default).",
    ).optional(),
    rename_concurrency: count(1, "Copies a directory rename runs at once.").optional(),
    timeout: seconds("Time allowed for one request.").optional(),
    max_attempts: count(1, "Attempts for a retryable request.").optional(),
    access_key_id_env: envName("Environment variable holding the access key id.").optional(),
    secret_access_key_env: envName("Environment variable holding the secret access key.")
      .optional(),
    session_token_env: envName("Environment variable holding the session token.").optional(),
  }, { error: "expected an s3 object" }).optional(),
}, { error: "expected a JSON object" }).meta({
  title: "ftpgate configuration",
  description:
    "ftpgate's config file (JSONC). Precedence: this file < FTPGATE_* environment < flags.",
});

/** The config file as written, after the schema. */
export type ConfigFile = z.infer<typeof ConfigSchema>;

/** Keys that would hold a secret inline, and what to write instead. */
export const INLINE_SECRETS: Readonly<Record<string, string>> = {
  token: "token_env or token_file",
  secret: "secret_env or secret_file",
  access_key_id: "access_key_id_env",
  secret_access_key: "secret_access_key_env",
  session_token: "session_token_env",
};

/**
 * The JSON Schema of the config file, as committed in `ftpgate.schema.json`. Draft-07, the
 * draft VS Code's JSON language service supports best; `allowComments`/`allowTrailingCommas`
 * tell VS Code the file is JSONC.
 *
 * @example
 * ```ts
 * import { configJsonSchema } from "./schema.ts";
 * const schema = configJsonSchema();
 * schema.title; // "ftpgate configuration"
 * ```
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConfigSchema, { target: "draft-7", io: "input" });
  return { ...schema, allowComments: true, allowTrailingCommas: true };
}
