/**
 * S3Storage against a real Ceph RADOS Gateway: what the storage contract does not cover because
 * only an object store has it — multipart boundaries, server-side APPE/REST (proven by counting
 * the bytes that came from S3), ETag-pinned resumable reads, aborted uploads leaving nothing
 * behind, STOU races, paged listings, directory renames and their limit, MFMT metadata, faults,
 * outages and configuration errors.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { FtpError, StorageError } from "../../src/errors.ts";
import { collectList } from "../../src/storage/storage.ts";
import { openS3Storage, S3ConfigError, type S3Storage } from "../../src/storage/s3/mod.ts";
import { assertBytes } from "../helpers/clients.ts";
import { concat, randomBytes } from "../helpers/server.ts";
import { get, put, rejectsWith } from "../contract/storage_contract.ts";
import { startRelay } from "./proxy.ts";
import { noRgw, rgw, rgwSettings, s3Curl, s3Get, testBucket } from "./rgw.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

function s3Test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: noRgw, fn });
}

async function readAll(storage: S3Storage, path: string, offset = 0): Promise<Uint8Array> {
  const { readable } = await storage.read(path, { offset });
  const chunks: Uint8Array[] = [];
  for await (const chunk of readable) chunks.push(chunk);
  return concat(chunks);
}

/** Writes `data` in chunks of `chunk` bytes, like a data connection would. */
async function upload(
  storage: S3Storage,
  path: string,
  data: Uint8Array,
  options: { append?: boolean; offset?: number; exclusive?: boolean } = {},
  chunk = 256 * 1024,
): Promise<void> {
  const writer = (await storage.write(path, options)).getWriter();
  for (let i = 0; i < data.length; i += chunk) await writer.write(data.subarray(i, i + chunk));
  await writer.close();
}

/** The ETag S3 stores: a multipart object's ends in `-PARTS`. */
async function etagOf(storage: S3Storage, path: string): Promise<string> {
  const info = await storage.objects.head(storage.location.prefix + path.slice(1));
  ok(info !== null, `${path} exists`);
  return info.etag;
}

s3Test("S3Storage: one part is a PutObject, one byte more is a multipart upload", async () => {
  await using bucket = await testBucket("parts", { partSize: 5 * MiB, maxPartsInFlight: 1 });
  const s = bucket.storage;
  const exact = randomBytes(5 * MiB, 3);
  await upload(s, "/exact.bin", exact);
  ok(!(await etagOf(s, "/exact.bin")).includes("-"), "a single PutObject");
  const over = randomBytes(5 * MiB + 1, 4);
  await upload(s, "/over.bin", over);
  match(await etagOf(s, "/over.bin"), /-2"?$/);
  const three = randomBytes(12 * MiB + 7, 5);
  await upload(s, "/three.bin", three, {}, 1000 * 1000);
  match(await etagOf(s, "/three.bin"), /-3"?$/);
  assertBytes(await s3Get(bucket.url("exact.bin")), exact, "exact");
  assertBytes(await s3Get(bucket.url("over.bin")), over, "over");
  assertBytes(await s3Get(bucket.url("three.bin")), three, "three");
  await upload(s, "/empty", new Uint8Array(0));
  equal((await s.stat("/empty")).size, 0);
});

s3Test("S3Storage: REST at the end of a file reads nothing (RGW answers 416 there)", async () => {
  await using bucket = await testBucket("rest-eof");
  const s = bucket.storage;
  await put(s, "/a.txt", "0123456789");
  for (const offset of [10, 11, 1000]) {
    const handle = await s.read("/a.txt", { offset });
    equal(handle.size, 10);
    equal((await new Response(handle.readable).arrayBuffer()).byteLength, 0);
  }
  equal(await get(s, "/a.txt", 9), "9");
  await put(s, "/empty", "");
  equal(await get(s, "/empty"), "");
});

s3Test("S3Storage: APPE copies the old bytes server-side (S3 sent ftpgate ~nothing)", async () => {
  await using relay = startRelay(rgw!.endpoint);
  await using bucket = await testBucket("appe");
  const viaRelay = await bucket.open({ endpoint: relay.endpoint });
  const base = randomBytes(20 * MiB, 7);
  await upload(bucket.storage, "/big.bin", base, {}, MiB);
  const tail = randomBytes(1024, 8);
  relay.resetCounters();
  await upload(viaRelay, "/big.bin", tail, { append: true });
  ok(relay.bytesDown < 64 * 1024, `APPE fetched ${relay.bytesDown} bytes from S3`);
  ok(relay.bytesUp < 64 * 1024, `APPE sent ${relay.bytesUp} bytes to S3`);
  assertBytes(await s3Get(bucket.url("big.bin")), concat([base, tail]), "appended object");

  // REST n + STOR keeps bytes 0..n-1 the same way.
  relay.resetCounters();
  await upload(viaRelay, "/big.bin", encoder.encode("XYZ"), { offset: 6 * MiB });
  ok(relay.bytesDown < 64 * 1024, `REST+STOR fetched ${relay.bytesDown} bytes from S3`);
  assertBytes(
    await s3Get(bucket.url("big.bin")),
    concat([base.subarray(0, 6 * MiB), encoder.encode("XYZ")]),
    "restarted object",
  );

  // Below S3's 5 MiB minimum part, the kept bytes are fetched once (and only them).
  const small = randomBytes(MiB, 9);
  await upload(bucket.storage, "/small.bin", small);
  relay.resetCounters();
  await upload(viaRelay, "/small.bin", encoder.encode("!"), { append: true });
  ok(relay.bytesDown >= MiB && relay.bytesDown < MiB + 64 * 1024, `fetched ${relay.bytesDown}`);
  assertBytes(await s3Get(bucket.url("small.bin")), concat([small, encoder.encode("!")]), "small");
});

s3Test(
  "S3Storage: an aborted or failed multipart upload leaves the old object and no parts",
  async () => {
    await using bucket = await testBucket("abort", { partSize: 5 * MiB });
    const s = bucket.storage;
    const old = randomBytes(64 * 1024, 11);
    await upload(s, "/f.bin", old);
    const writer = (await s.write("/f.bin")).getWriter();
    await writer.write(randomBytes(12 * MiB, 12)); // two parts sent, the multipart upload exists
    equal((await s.pendingUploads()).length, 1);
    assertBytes(await readAll(s, "/f.bin"), old, "old object while uploading");
    await writer.abort(new Error("client vanished"));
    deepEqual(await s.pendingUploads(), []);
    assertBytes(await readAll(s, "/f.bin"), old, "old object after abort");

    // The second part fails on every attempt: the upload fails and is aborted.
    const failing = await bucket.open({
      faults: { failUploadPart: 2 },
      maxAttempts: 2,
      retryBaseMs: 1,
    });
    await rejects(upload(failing, "/f.bin", randomBytes(16 * MiB, 13)), (error: unknown) => {
      ok(error instanceof StorageError, `got ${error}`);
      equal(error.kind, "io");
      return true;
    });
    deepEqual(await s.pendingUploads(), []);
    assertBytes(await readAll(s, "/f.bin"), old, "old object after a failed upload");
    // The path is free again.
    await put(s, "/f.bin", "new");
    equal(await get(s, "/f.bin"), "new");
  },
);

s3Test("S3Storage: aborting the signal mid-upload aborts the multipart upload", async () => {
  await using bucket = await testBucket("signal", { partSize: 5 * MiB });
  const s = bucket.storage;
  const controller = new AbortController();
  const writer = (await s.write("/g.bin", { signal: controller.signal })).getWriter();
  await writer.write(randomBytes(11 * MiB, 14));
  controller.abort();
  await rejects(writer.write(new Uint8Array(10)));
  for (let i = 0; i < 50 && (await s.pendingUploads()).length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  deepEqual(await s.pendingUploads(), []);
  await rejectsWith(s.stat("/g.bin"), "not-found");
});

s3Test("S3Storage: STOU between two instances — exactly one exclusive create wins", async () => {
  await using bucket = await testBucket("stou");
  const other = await bucket.open();
  const writers = await Promise.all([
    bucket.storage.write("/u.txt", { exclusive: true }),
    other.write("/u.txt", { exclusive: true }),
  ]);
  const results = await Promise.allSettled(writers.map(async (sink, i) => {
    const writer = sink.getWriter();
    await writer.write(encoder.encode(`writer ${i}`));
    await writer.close();
  }));
  const won = results.filter((r) => r.status === "fulfilled").length;
  const lost = results.filter((r) =>
    r.status === "rejected" && r.reason instanceof StorageError && r.reason.kind === "exists"
  ).length;
  deepEqual([won, lost], [1, 1], JSON.stringify(results));
  match(await get(bucket.storage, "/u.txt"), /^writer [01]$/);
  await rejectsWith(bucket.storage.write("/u.txt", { exclusive: true }), "exists");
});

s3Test("S3Storage: a download resumes after a broken connection, pinned to its ETag", async () => {
  await using relay = startRelay(rgw!.endpoint);
  await using bucket = await testBucket("resume", { partSize: 5 * MiB });
  const viaRelay = await bucket.open({ endpoint: relay.endpoint, retryBaseMs: 1 });
  const data = randomBytes(24 * MiB, 21);
  await upload(bucket.storage, "/r.bin", data, {}, MiB);

  // Unchanged object: the download survives a cut and is byte-exact.
  let gets = 0;
  const counted = await bucket.open({
    endpoint: relay.endpoint,
    retryBaseMs: 1,
    onRequest: (request) => {
      if (request.method === "GET") gets++;
    },
  });
  let reader = (await counted.read("/r.bin")).readable.getReader();
  const chunks: Uint8Array[] = [];
  let first = await reader.read();
  chunks.push(first.value!);
  relay.pause();
  relay.cut();
  relay.restore();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  assertBytes(concat(chunks), data, "resumed download");
  ok(gets >= 2, `the download was resumed (${gets} GETs)`);

  // Replaced object: resuming must not splice the new version onto the old one. The relay
  // stalls after the first chunk, so the reader cannot have had the whole body before the cut.
  reader = (await viaRelay.read("/r.bin")).readable.getReader();
  first = await reader.read();
  relay.pause();
  ok(first.value!.length < data.length);
  await upload(bucket.storage, "/r.bin", randomBytes(24 * MiB, 22), {}, MiB);
  relay.cut();
  relay.restore();
  await rejects(
    (async () => {
      for (;;) if ((await reader.read()).done) break;
    })(),
    (error: unknown) => error instanceof StorageError && error.kind === "busy",
  );
});

s3Test(
  "S3Storage: listings page through 2,000 keys, skip markers and unnameable keys",
  async () => {
    await using bucket = await testBucket("paging");
    const s = bucket.storage;
    const keys: string[] = [];
    for (let i = 0; i < 1950; i++) keys.push(`d/f${String(i).padStart(5, "0")}`);
    for (let i = 0; i < 60; i++) keys.push(`d/sub${String(i).padStart(3, "0")}/x`);
    // "d//hidden" and "d/line\r\nbreak" are keys other tools can make and no FTP path can name. (A key with a "."
    // segment cannot even be sent: URL parsers remove dot segments, %2E included.)
    keys.push("d/", "d/odd name +%ü.txt", "d//hidden", "d/line\r\nbreak");
    await seed(s, bucket.prefix, keys);
    const entries = await collectList(s, "/d");
    const files = entries.filter((e) => e.type === "file").map((e) => e.name);
    const dirs = entries.filter((e) => e.type === "dir").map((e) => e.name);
    equal(files.length, 1951);
    ok(files.includes("odd name +%ü.txt"));
    equal(dirs.length, 60);
    ok(!entries.some((e) => e.name === "" || e.name === "." || e.name === "d"));
    // Stopping early releases the listing (the sanitizers check no request is left running).
    let seen = 0;
    for await (const _ of s.list("/d")) if (++seen === 1500) break;
    equal(seen, 1500);
  },
);

s3Test("S3Storage: directory rename moves 500 keys; above the limit nothing moves", async () => {
  await using bucket = await testBucket("rename", { maxRenameKeys: 600 });
  const s = bucket.storage;
  const keys = ["src/"];
  for (let i = 0; i < 499; i++) keys.push(`src/${i % 10}/k${i}`);
  await seed(s, bucket.prefix, keys);
  await s.rename("/src", "/dst");
  await rejectsWith(s.stat("/src"), "not-found");
  let count = 0;
  for (const top of await collectList(s, "/dst")) {
    ok(top.type === "dir", top.name);
    count += (await collectList(s, `/dst/${top.name}`)).length;
  }
  equal(count, 499);
  equal(await get(s, "/dst/3/k3"), "src/3/k3");

  const limited = await bucket.open({ maxRenameKeys: 100 });
  await rejects(limited.rename("/dst", "/again"), (error: unknown) => {
    ok(error instanceof FtpError, `got ${error}`);
    equal(error.code, 550);
    match(error.message, /more than 100 objects/);
    return true;
  });
  await rejectsWith(s.stat("/again"), "not-found");
  equal((await collectList(s, "/dst")).length, 10);
  await rejectsWith(s.rename("/dst", "/dst/inside"), "invalid-name");
});

s3Test(
  "S3Storage: MFMT writes x-amz-meta-mtime as rclone does, kept across renames",
  async () => {
    await using bucket = await testBucket("mtime");
    const s = bucket.storage;
    await put(s, "/a.txt", "content");
    const when = new Date("2021-06-07T08:09:10.123Z");
    await s.setMtime("/a.txt", when);
    equal((await s.stat("/a.txt")).mtime.getTime(), when.getTime());
    equal(await get(s, "/a.txt"), "content");
    const head = await s3Curl(["-I", bucket.url("a.txt")]);
    match(head.stdout, /x-amz-meta-mtime: 1623053350\.123/i);
    await s.mkdir("/d");
    await s.setMtime("/d", when);
    equal((await s.stat("/d")).mtime.getTime(), when.getTime());
    await rejectsWith(s.setMtime("/missing", when), "not-found");

    // Names that need encoding, in the URL and in x-amz-copy-source alike.
    const odd = "/spaced name+plus%25 ü (1).txt";
    await put(s, odd, "odd");
    await s.setMtime(odd, when);
    await s.rename(odd, "/d/moved ü+.txt");
    equal(await get(s, "/d/moved ü+.txt"), "odd");
    equal((await s.stat("/d/moved ü+.txt")).mtime.getTime(), when.getTime());
    await rejectsWith(s.stat(odd), "not-found");
  },
);

s3Test(
  "S3Storage: SlowDown bursts are retried away; a longer outage is 'unavailable'",
  async () => {
    await using bucket = await testBucket("slowdown");
    await put(bucket.storage, "/a.txt", "x");
    const throttled = await bucket.open({
      faults: { slowDown: { count: 2, every: 3 } }, // the GET is refused twice, then goes through
      retryBaseMs: 1,
    });
    equal(await get(throttled, "/a.txt"), "x");
    const down = await bucket.open({
      faults: { slowDown: { count: 50, every: 51 } },
      maxAttempts: 3,
      retryBaseMs: 1,
    });
    await rejectsWith(down.stat("/a.txt"), "unavailable");

    const slow = await bucket.open({ faults: { slowGetMs: 200 } });
    const started = performance.now();
    equal(await get(slow, "/a.txt"), "x");
    ok(performance.now() - started >= 190);
  },
);

s3Test("S3Storage: an S3 outage is 'unavailable', and the next call after it works", async () => {
  await using relay = startRelay(rgw!.endpoint);
  await using bucket = await testBucket("outage");
  const s = await bucket.open({ endpoint: relay.endpoint, maxAttempts: 2, retryBaseMs: 1 });
  await put(s, "/a.txt", "before");
  relay.cut();
  await rejectsWith(s.stat("/a.txt"), "unavailable");
  await rejectsWith(collectList(s, "/"), "unavailable");
  await rejectsWith(s.probe(), "unavailable");
  relay.restore();
  await s.probe();
  equal(await get(s, "/a.txt"), "before");
});

s3Test(
  "openS3Storage() explains a missing bucket, bad credentials and a dead endpoint",
  async () => {
    await rejects(
      openS3Storage("s3://no-such-bucket-ftpgate/", rgwSettings()),
      (error: unknown) => error instanceof S3ConfigError && /does not exist/.test(error.message),
    );
    await rejects(
      openS3Storage(
        `s3://${rgw!.bucket}/`,
        rgwSettings({ credentials: { accessKeyId: "nobody", secretAccessKey: "wrong" } }),
      ),
      (error: unknown) => error instanceof S3ConfigError && /denied/.test(error.message),
    );
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    await rejects(
      openS3Storage(
        `s3://${rgw!.bucket}/`,
        rgwSettings({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 }),
      ),
      (error: unknown) => error instanceof S3ConfigError && /cannot reach/.test(error.message),
    );
  },
);

s3Test("S3Storage: keys beyond S3's 1,024 bytes are 'invalid-name'", async () => {
  await using bucket = await testBucket("long");
  await rejectsWith(bucket.storage.write("/" + "x".repeat(1100)), "invalid-name");
});

/** Creates keys (relative to `prefix`) directly, 32 at a time; each holds its own name. */
async function seed(storage: S3Storage, prefix: string, keys: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      await storage.objects.put(
        prefix + key,
        key.endsWith("/") ? new Uint8Array(0) : encoder.encode(key),
      );
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}
