/**
 * The pure parts of the S3 back end: URL and settings parsing, key mapping, error kinds, part
 * and copy arithmetic, fault specs, bounded parallelism, and reading S3's XML. No gateway needed.
 */
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { StorageError } from "../../src/errors.ts";
import { runBounded } from "../../src/storage/s3/bounded.ts";
import { encodeRfc3986, S3Client } from "../../src/storage/s3/client.ts";
import { copyRanges, prefixRanges } from "../../src/storage/s3/copy.ts";
import { S3Error, storageKind, toStorageError } from "../../src/storage/s3/errors.ts";
import { entryName, KeyMapper } from "../../src/storage/s3/keys.ts";
import {
  isS3Url,
  MIN_PART_SIZE,
  parseS3Faults,
  parseS3Url,
  resolveS3Settings,
  S3_ENV_NAMES,
  S3ConfigError,
  s3NetHost,
} from "../../src/storage/s3/mod.ts";
import { nextPartSize, partSizeFor } from "../../src/storage/s3/upload.ts";
import { parseListPage, parseRoot } from "../../src/storage/s3/xml.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const env = (vars: Record<string, string>) => (name: string) => vars[name];
const KEYS = { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "secret" };

Deno.test("parseS3Url() splits bucket and prefix, normalising slashes", () => {
  deepEqual(parseS3Url("s3://media"), { bucket: "media", prefix: "" });
  deepEqual(parseS3Url("s3://media/"), { bucket: "media", prefix: "" });
  deepEqual(parseS3Url("s3://media/ftp//in/"), { bucket: "media", prefix: "ftp/in/" });
  deepEqual(parseS3Url("S3://my.bucket-1/a"), { bucket: "my.bucket-1", prefix: "a/" });
  ok(isS3Url("s3://x") && !isS3Url("/srv/ftp") && !isS3Url("memory:"));
});

Deno.test("parseS3Url() refuses credentials, bad bucket names and dot segments", () => {
  throws(() => parseS3Url("s3://key:secret@bucket/x"), /credentials do not belong/);
  throws(() => parseS3Url("s3://"), S3ConfigError);
  throws(() => parseS3Url("s3://-bad"), S3ConfigError);
  throws(() => parseS3Url("s3://ok/../up"), S3ConfigError);
  throws(() => parseS3Url("http://bucket"), S3ConfigError);
});

Deno.test("resolveS3Settings() reads AWS_* when nothing explicit is given", () => {
  const resolved = resolveS3Settings({
    env: env({
      ...KEYS,
      AWS_SESSION_TOKEN: "token",
      AWS_REGION: "eu-west-3",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9000",
    }),
  });
  equal(resolved.region, "eu-west-3");
  equal(resolved.endpoint.href, "http://127.0.0.1:9000/");
  equal(resolved.pathStyle, true);
  deepEqual(resolved.credentials, {
    accessKeyId: "id",
    secretAccessKey: "secret",
    sessionToken: "token",
  });
  equal(resolved.partSize, 8 * MiB);
  equal(resolved.maxPartsInFlight, 4);
  equal(resolved.maxRenameKeys, 10_000);
});

Deno.test("resolveS3Settings() prefers explicit values; AWS itself is virtual-hosted", () => {
  const resolved = resolveS3Settings({
    region: "us-west-2",
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
    env: env({ ...KEYS, AWS_REGION: "eu-west-3", AWS_SESSION_TOKEN: "not this one" }),
  });
  equal(resolved.endpoint.href, "https://s3.us-west-2.amazonaws.com/");
  equal(resolved.pathStyle, false);
  deepEqual(resolved.credentials, { accessKeyId: "a", secretAccessKey: "b" });
  equal(
    resolveS3Settings({
      env: env({ ...KEYS, AWS_ENDPOINT_URL_S3: "http://s3:1", AWS_ENDPOINT_URL: "http://x:2" }),
    })
      .endpoint.host,
    "s3:1",
  );
});

Deno.test("resolveS3Settings() refuses missing credentials and out-of-range values", () => {
  throws(() => resolveS3Settings({ env: env({}) }), /no S3 credentials/);
  throws(() => resolveS3Settings({ env: env(KEYS), partSize: MIN_PART_SIZE - 1 }), /part size/);
  throws(() => resolveS3Settings({ env: env(KEYS), partSize: 6 * GiB }), /5 GiB/);
  throws(() => resolveS3Settings({ env: env(KEYS), maxRenameKeys: 0 }), S3ConfigError);
  throws(() => resolveS3Settings({ env: env(KEYS), endpoint: "ftp://x" }), /http/);
  throws(() => resolveS3Settings({ env: env(KEYS), endpoint: "http://u:p@x" }), /credentials/);
});

Deno.test("KeyMapper maps files and directories under the prefix", () => {
  const keys = new KeyMapper("ftp/");
  equal(keys.file("/a/b.txt"), "ftp/a/b.txt");
  equal(keys.dir("/a"), "ftp/a/");
  equal(keys.dir("/"), "ftp/");
  equal(keys.path("ftp/a/"), "/a");
  equal(keys.path("other/a"), null);
  throws(
    () => keys.file("/"),
    (e: unknown) => e instanceof StorageError && e.kind === "is-a-directory",
  );
  throws(
    () => keys.file("/" + "é".repeat(600)),
    (e: unknown) => e instanceof StorageError && e.kind === "invalid-name",
  );
});

Deno.test("KeyMapper refuses paths with empty, '.' or '..' segments: a request URL would resolve them past the prefix", () => {
  const keys = new KeyMapper("tenant/alice/");
  const invalid = (e: unknown) => e instanceof StorageError && e.kind === "invalid-name";
  for (const path of ["/../bob/secret.txt", "/a/../../bob", "/./a", "/a/.", "/a//b", "/a/", "a"]) {
    throws(() => keys.file(path), invalid, path);
    throws(() => keys.dir(path), invalid, path);
  }
  // Dots inside a name are a name.
  equal(keys.file("/..a/b..txt"), "tenant/alice/..a/b..txt");
  equal(keys.dir("/.hidden"), "tenant/alice/.hidden/");
});

Deno.test("entryName() drops the marker and keys no virtual path can name", () => {
  equal(entryName("d/a.txt", "d/"), "a.txt");
  equal(entryName("d/sub/", "d/"), "sub");
  equal(entryName("d/", "d/"), null);
  equal(entryName("d//", "d/"), null);
  equal(entryName("d/./", "d/"), null);
  equal(entryName("d/../", "d/"), null);
  equal(entryName("d/evil\r\n226 done", "d/"), null);
  equal(entryName("d/nul\0", "d/"), null);
  equal(entryName("d/tab\tok", "d/"), "tab\tok");
});

Deno.test("storageKind() maps S3 errors to storage error kinds", () => {
  const cases: [number, string, string][] = [
    [404, "NoSuchKey", "not-found"],
    [404, "NoSuchBucket", "unavailable"],
    [403, "AccessDenied", "permission"],
    [403, "SignatureDoesNotMatch", "unavailable"],
    [403, "InvalidAccessKeyId", "unavailable"],
    [412, "PreconditionFailed", "busy"],
    [409, "ConditionalRequestConflict", "busy"],
    [400, "KeyTooLongError", "invalid-name"],
    [400, "EntityTooLarge", "quota"],
    [403, "QuotaExceeded", "quota"],
    [501, "NotImplemented", "not-supported"],
    [503, "SlowDown", "unavailable"],
    [500, "InternalError", "io"],
    [0, "ConnectionRefused", "unavailable"],
    [502, "", "unavailable"],
    [400, "SomethingNew", "io"],
    [507, "", "no-space"],
  ];
  for (const [status, code, kind] of cases) {
    equal(storageKind(new S3Error(status, code)), kind, `${status} ${code}`);
  }
});

Deno.test("S3Error and toStorageError() never carry S3 text into messages", () => {
  const error = new S3Error(403, "<Message>secret bucket policy</Message>");
  equal(error.code, "");
  equal(error.message, "S3 403");
  const mapped = toStorageError(new S3Error(404, "NoSuchKey"), "/a.txt");
  ok(mapped instanceof StorageError);
  equal(mapped.message, "not-found: /a.txt");
  const other = toStorageError(new TypeError("error sending request for url (http://x/b/k)"), "/k");
  ok(other instanceof StorageError && other.kind === "io");
  ok(!other.message.includes("http"));
});

Deno.test("copyRanges() and prefixRanges() cut within S3's part limits", () => {
  deepEqual(copyRanges(10, 4), [[0, 3], [4, 7], [8, 9]]);
  deepEqual(copyRanges(0), []);
  const huge = copyRanges(6 * 1024 * GiB); // 6 TiB: beyond 10,000 parts of 512 MiB
  ok(huge.length <= 10_000);
  ok(huge.every(([start, end]) => end - start + 1 <= 5 * GiB));
  equal(huge.at(-1)![1], 6 * 1024 * GiB - 1);
  deepEqual(prefixRanges(20 * MiB), [[0, 20 * MiB - 1]]);
  const twoParts = prefixRanges(6 * GiB);
  equal(twoParts.length, 2);
  equal(twoParts[1][1], 6 * GiB - 1);
  throws(() => prefixRanges(MiB), RangeError);
});

Deno.test("partSizeFor() raises the part size so that a hinted size fits 10,000 parts", () => {
  equal(partSizeFor(8 * MiB), 8 * MiB);
  equal(partSizeFor(8 * MiB, GiB), 8 * MiB);
  const big = partSizeFor(8 * MiB, 200 * GiB);
  ok(big * 9_000 >= 200 * GiB && big % MiB === 0);
  equal(partSizeFor(8 * MiB, 100_000 * GiB), 5 * GiB);
});

Deno.test("nextPartSize() grows parts with the bytes received, and a hinted upload still fits", () => {
  // ALLO alone buys no memory: the parts grow only as the client's bytes come in.
  equal(nextPartSize(8 * MiB, 5 * GiB, 0), 8 * MiB);
  equal(nextPartSize(8 * MiB, 5 * GiB, 96 * MiB), 8 * MiB);
  equal(nextPartSize(8 * MiB, 5 * GiB, 16 * GiB), GiB);
  equal(nextPartSize(8 * MiB, 8 * MiB, 16 * GiB), 8 * MiB); // no ALLO: the configured size
  // An honest upload of what ALLO said fits in S3's 10,000 parts, for small and large hints.
  for (const [configured, hint] of [[5 * MiB, 5 * 1024 * GiB], [8 * MiB, 200 * GiB]]) {
    const target = partSizeFor(configured, hint);
    let received = 0;
    let parts = 0;
    while (received < hint) {
      received += nextPartSize(configured, target, received);
      parts++;
    }
    ok(parts <= 10_000, `${parts} parts for ${hint / GiB} GiB`);
  }
});

Deno.test("parseS3Faults() reads the s3-* fault values and ignores the others", () => {
  deepEqual(parseS3Faults(["s3-slowdown=3/50", "delay=10"]), { slowDown: { count: 3, every: 50 } });
  deepEqual(parseS3Faults(["s3-slowdown=2"]), { slowDown: { count: 2, every: 100 } });
  deepEqual(parseS3Faults(["s3-fail-part=2", "s3-slow-get=250"]), {
    failUploadPart: 2,
    slowGetMs: 250,
  });
  throws(() => parseS3Faults(["s3-slowdown=5/5"]), RangeError);
  throws(() => parseS3Faults(["s3-slowdown=x"]), RangeError);
  throws(() => parseS3Faults(["s3-fail-part=0"]), RangeError);
  throws(() => parseS3Faults(["s3-slow-get=-1"]), RangeError);
});

Deno.test("runBounded() keeps to its limit and stops at the first failure", async () => {
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  await runBounded(Array.from({ length: 20 }, (_, i) => i), 3, async (i) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 2));
    running--;
    done.push(i);
  });
  equal(peak, 3);
  equal(done.length, 20);
  let started = 0;
  await rejects(
    runBounded(Array.from({ length: 100 }, (_, i) => i), 4, async (i, signal) => {
      started++;
      if (i === 5) throw new Error("boom");
      await new Promise((resolve) => setTimeout(resolve, 5));
      signal.throwIfAborted();
    }),
    /boom/,
  );
  ok(started < 20, `${started} tasks started after a failure`);
  equal(running, 0);
});

Deno.test("S3Client.url() encodes keys as SigV4 canonicalises them", () => {
  const settings = resolveS3Settings({ endpoint: "http://127.0.0.1:7480/", env: env(KEYS) });
  const unused = () => Promise.reject(new Error("no requests in this test"));
  const client = new S3Client(settings, { bucket: "b", prefix: "" }, unused);
  equal(
    client.url("a b/c+d/(x)!*'~.txt", { uploads: "", prefix: "p/q" }),
    "http://127.0.0.1:7480/b/a%20b/c%2Bd/%28x%29%21%2A%27~.txt?prefix=p%2Fq&uploads",
  );
  equal(encodeRfc3986("ü"), "%C3%BC");
  const hosted = new S3Client(
    resolveS3Settings({ endpoint: "https://s3.example", pathStyle: false, env: env(KEYS) }),
    { bucket: "media", prefix: "" },
    unused,
  );
  equal(hosted.url("k"), "https://media.s3.example/k");
});

Deno.test("parseListPage() reads url-encoded keys, prefixes and the continuation token", async () => {
  const page = await parseListPage(
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `<Name>b</Name><Prefix>d%2F</Prefix><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>` +
      `<NextContinuationToken>tok/1</NextContinuationToken>` +
      `<Contents><Key>d/a+b%2Bc%01.txt</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified>` +
      `<ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents>` +
      `<CommonPrefixes><Prefix>d/sub%20dir/</Prefix></CommonPrefixes></ListBucketResult>`,
  );
  deepEqual(page.objects, [{
    key: "d/a b+c\u0001.txt",
    size: 12,
    lastModified: new Date("2024-01-02T03:04:05Z"),
    etag: '"abc"',
  }]);
  deepEqual(page.prefixes, ["d/sub dir/"]);
  equal(page.continuationToken, "tok/1");
});

Deno.test("parseRoot() throws an <Error> document, even with status 200", async () => {
  await rejects(
    parseRoot(
      "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>",
      200,
    ),
    (error: unknown) => {
      ok(error instanceof S3Error);
      equal(error.code, "InternalError");
      equal(error.status, 500);
      match(error.message, /^S3 500 InternalError$/);
      return true;
    },
  );
  await rejects(
    parseRoot("<html>proxy error", 502),
    (e: unknown) => e instanceof S3Error && e.status === 502,
  );
});

Deno.test("s3NetHost() and S3_ENV_NAMES give what a launcher grants", () => {
  equal(s3NetHost("s3://media/ftp", { endpoint: "http://127.0.0.1:7480" }), "127.0.0.1:7480");
  equal(s3NetHost("s3://media", { endpoint: "https://minio.example" }), "minio.example:443");
  equal(
    s3NetHost("s3://media", { region: "eu-west-3", env: () => undefined }),
    "media.s3.eu-west-3.amazonaws.com:443",
  );
  ok(S3_ENV_NAMES.includes("AWS_SECRET_ACCESS_KEY"));
});
