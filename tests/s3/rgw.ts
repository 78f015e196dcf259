/**
 * The real S3 server for tests: a Ceph RADOS Gateway on loopback, started (or found running)
 * with `scripts/s3_test_server.sh`. Every test gets its own key prefix in the shared bucket and
 * leaves it empty, with no multipart upload pending, when it ends.
 *
 * When the gateway cannot start (packages missing, not root), the tests that need it are
 * skipped, and the skip is said out loud once: a CI log never hides an untested back end.
 *
 * @module
 */

import { equal } from "node:assert/strict";
import { type FtpServer, serve, type ServeOptions } from "../../src/mod.ts";
import { openS3Storage, type S3Storage, type S3StorageOptions } from "../../src/storage/s3/mod.ts";
import { listTree } from "../../src/storage/s3/rename.ts";
import type { TestServer } from "../helpers/server.ts";
import { PASSWORD, USER } from "../helpers/server.ts";
import { runCommand } from "../helpers/tools.ts";

/** Where the gateway is and how to sign for it. */
export interface Rgw {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const SCRIPT = new URL("../../scripts/s3_test_server.sh", import.meta.url).pathname;

/**
 * Starts (or finds running) a test store: `rgw` (Ceph RADOS Gateway) or `swift` (OpenStack
 * Swift with s3api). Null, after a loud warning, when it cannot run here.
 */
export async function startS3Target(flavour: "rgw" | "swift"): Promise<Rgw | null> {
  // Never install packages from a test run: .ci/run (or a person) does that.
  const output = await runCommand("bash", [SCRIPT, "start", flavour], {
    timeoutMs: 120_000,
    env: { FTPGATE_S3_INSTALL: "0" },
  });
  if (output.code !== 0) {
    // deno-lint-ignore no-console
    console.warn(
      `SKIPPING the S3 back-end tests on ${flavour}: its test server did not start (scripts/s3_test_server.sh start ${flavour}):\n${
        output.stderr.trim().split("\n").slice(-5).join("\n")
      }`,
    );
    return null;
  }
  const env: Record<string, string> = {};
  for (const match of output.stdout.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) {
    env[match[1]] = match[2];
  }
  return {
    endpoint: env.AWS_ENDPOINT_URL_S3,
    bucket: env.FTPGATE_S3_BUCKET,
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    region: env.AWS_REGION,
  };
}

/** The gateway, or null (after a loud warning) when it cannot run here. */
export const rgw: Rgw | null = await startS3Target("rgw");

/** `ignore` for tests that need the gateway. */
export const noRgw: boolean = rgw === null;

let sequence = 0;

/** A fresh, unique key prefix for one test: `t-NAME-RANDOM/`. */
export function uniquePrefix(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 40);
  return `t-${slug}-${Date.now().toString(36)}${(sequence++).toString(36)}${
    Math.random().toString(36).slice(2, 6)
  }/`;
}

/** The settings that reach the test gateway (explicit: tests never read AWS_* themselves). */
export function rgwSettings(extra: S3StorageOptions = {}, target = rgw): S3StorageOptions {
  if (target === null) throw new Error("the S3 test server is not running");
  return {
    endpoint: target.endpoint,
    region: target.region,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    ...extra,
  };
}

/**
 * An S3Storage on a fresh prefix; disposing it closes every storage it opened, then checks that
 * no multipart upload is pending and empties the prefix.
 */
export interface TestBucket extends AsyncDisposable {
  storage: S3Storage;
  /** The key prefix (ends in `/`). */
  prefix: string;
  /** Opens another S3Storage on the same prefix (a second ftpgate instance, other settings). */
  open(extra?: S3StorageOptions): Promise<S3Storage>;
  /** A key's URL on the gateway, for direct checks with curl. */
  url(relativeKey: string): string;
}

/** Opens a fresh prefix. `await using` it. */
export async function testBucket(
  name: string,
  extra: S3StorageOptions = {},
  target: Rgw | null = rgw,
): Promise<TestBucket> {
  const prefix = uniquePrefix(name);
  const opened: S3Storage[] = [];
  const open = async (more: S3StorageOptions = {}) => {
    const storage = await openS3Storage(
      `s3://${target!.bucket}/${prefix}`,
      rgwSettings({ ...extra, ...more }, target),
    );
    opened.push(storage);
    return storage;
  };
  const storage = await open();
  return {
    storage,
    prefix,
    open,
    url: (key) =>
      `${target!.endpoint}/${target!.bucket}/${
        (prefix + key).split("/").map(encodeURIComponent).join("/")
      }`,
    async [Symbol.asyncDispose]() {
      for (const one of opened) await one.close();
      // Cleanup uses a plain storage: the test's one may carry injected faults.
      await using clean = await openS3Storage(
        `s3://${target!.bucket}/${prefix}`,
        rgwSettings({}, target),
      );
      const pending = await clean.pendingUploads();
      for (const upload of pending) {
        await clean.objects.abortUpload(upload.key, upload.uploadId);
      }
      await emptyPrefix(clean, prefix);
      equal(pending.length, 0, `multipart uploads left pending: ${JSON.stringify(pending)}`);
    },
  };
}

/** Deletes every key under `prefix`. */
export async function emptyPrefix(storage: S3Storage, prefix: string): Promise<void> {
  let batch: string[] = [];
  for await (const object of listTree(storage.objects, prefix)) {
    batch.push(object.key);
    if (batch.length === 1000) {
      await storage.objects.deleteMany(batch);
      batch = [];
    }
  }
  await storage.objects.deleteMany(batch);
}

/** Runs curl with SigV4 against the gateway (an S3 client independent of ftpgate). */
export function s3Curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand("curl", [
    "--silent",
    "--show-error",
    "--fail",
    "--aws-sigv4",
    `aws:amz:${rgw!.region}:s3`,
    "--user",
    `${rgw!.accessKeyId}:${rgw!.secretAccessKey}`,
    // curl does not send the payload hash S3's SigV4 requires.
    "-H",
    "x-amz-content-sha256: UNSIGNED-PAYLOAD",
    ...args,
  ], { timeoutMs: 60_000 });
}

/** The bytes of an object, fetched with curl straight from the gateway. */
export async function s3Get(url: string): Promise<Uint8Array> {
  const file = await Deno.makeTempFile({ prefix: "ftpgate-s3get-" });
  try {
    const output = await s3Curl(["-o", file, url]);
    if (output.code !== 0) throw new Error(`curl GET failed: ${output.stderr}`);
    return await Deno.readFile(file);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** An ftpgate server on an S3 storage, shaped like the other tests' {@linkcode TestServer}. */
export function serveS3(storage: S3Storage, options: ServeOptions = {}): TestServer {
  const server: FtpServer = serve({
    root: storage,
    users: [{ name: USER, password: PASSWORD }],
    ...options,
  });
  return {
    server,
    root: "",
    port: server.addr.port,
    host: server.addr.hostname,
    user: USER,
    password: PASSWORD,
    async [Symbol.asyncDispose]() {
      await server.shutdown({ graceMs: 0 });
    },
  };
}
