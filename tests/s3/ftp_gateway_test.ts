/**
 * ftpgate as a gateway to S3 (a real Ceph RGW): resume both ways, APPE proven server-side by
 * counting the bytes S3 sent, large listings that stream, directory rename, clients killed
 * mid-upload, two instances on one bucket, an S3 outage mid-session, and the FTP commands whose
 * meaning changes on an object store (MKD markers, RMD, DELE, MFMT/MDTM, STOU, SITE CHMOD).
 *
 * Tests that need core work still in progress say so in their `ignore` reason (CORE_PENDING).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Client, FileType } from "basic-ftp";
import { collectList } from "../../src/storage/storage.ts";
import type { S3Storage } from "../../src/storage/s3/mod.ts";
import { assertBytes, assertExit, curl, ftpUrl, localDir, python } from "../helpers/clients.ts";
import { loginAs, RawClient, readAll } from "../helpers/raw_client.ts";
import { concat, randomBytes, type TestServer } from "../helpers/server.ts";
import { needs, runCommand } from "../helpers/tools.ts";
import { writeAll } from "../../src/io.ts";
import { startCli } from "../helpers/cli_helpers.ts";
import { processRss, report } from "../helpers/hardening_helpers.ts";
import { startRelay } from "./proxy.ts";
import { noRgw, rgw, rgwSettings, s3Get, serveS3, testBucket } from "./rgw.ts";
import { openS3Storage } from "../../src/storage/s3/mod.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Core work these tests wait for (the lead's refactor). Each is true while the core lacks it;
 * the tests that need it are ignored with that reason.
 */
const CORE_PENDING = {
  /** LIST/NLST/MLSD send entries as storage.list() yields them (today: collected, then sorted). */
  streamingListings: false,
  /**
   * An upload whose control connection is gone when its data connection ends is aborted, not
   * committed: a killed client's FIN looks like the end of the file on the data connection.
   */
  abortUploadOnLostControl: false,
};

function s3Test(
  name: string,
  fn: () => Promise<void>,
  options: { needs?: string; pending?: keyof typeof CORE_PENDING } = {},
): void {
  const pending = options.pending !== undefined && CORE_PENDING[options.pending];
  Deno.test({
    name: pending ? `${name} [waits for core: ${options.pending}]` : name,
    ignore: noRgw || pending || (options.needs !== undefined && needs(options.needs)),
    fn,
  });
}

/** The server's user, logged in, in TYPE I. */
function login(t: TestServer): Promise<RawClient> {
  return loginAs(t.port, t.user, t.password, t.host);
}

/** Uploads through the storage directly (seeding a test). */
async function seedFile(storage: S3Storage, path: string, bytes: Uint8Array): Promise<void> {
  const writer = (await storage.write(path)).getWriter();
  for (let i = 0; i < bytes.length; i += MiB) await writer.write(bytes.subarray(i, i + MiB));
  await writer.close();
}

s3Test("REST resume both ways: curl -C - downloads, APPE and REST+STOR upload", async () => {
  await using bucket = await testBucket("resume");
  await using t = serveS3(bucket.storage);
  await using dir = localDir();
  const data = randomBytes(20 * MiB, 31);
  await seedFile(bucket.storage, "/big.bin", data);

  // Download resume: the local file has the first 7 MiB; curl sends SIZE, REST 7340032, RETR.
  await Deno.writeFile(`${dir.path}/big.bin`, data.subarray(0, 7 * MiB));
  const down = await curl(t, ["-v", "-C", "-", "-o", `${dir.path}/big.bin`, ftpUrl(t, "big.bin")]);
  assertExit(down, "curl -C - download");
  match(down.stderr, /> REST 7340032/);
  assertBytes(await Deno.readFile(`${dir.path}/big.bin`), data, "resumed download");

  // Upload resume with APPE: the server has 9 MiB of the file.
  await seedFile(bucket.storage, "/up.bin", data.subarray(0, 9 * MiB));
  await Deno.writeFile(`${dir.path}/up.bin`, data);
  const up = await curl(t, ["-v", "-C", "-", "-T", `${dir.path}/up.bin`, ftpUrl(t, "up.bin")]);
  assertExit(up, "curl -C - -T upload");
  match(up.stderr, /> APPE up\.bin/);
  assertBytes(await s3Get(bucket.url("up.bin")), data, "APPE-resumed object in S3");

  // Upload resume with REST n + STOR (ftplib's storbinary(rest=n)): the server has 3 MiB, below
  // S3's smallest part, which ftpgate fetches and sends back as the first part.
  if (!needs("python3")) {
    await seedFile(bucket.storage, "/rest.bin", data.subarray(0, 3 * MiB));
    await python(
      t,
      `ftp = connect(debug=0)
with open(${JSON.stringify(`${dir.path}/up.bin`)}, "rb") as f:
    f.seek(${3 * MiB})
    ftp.storbinary("STOR rest.bin", f, rest=${3 * MiB})
ftp.quit()
result("ok")`,
    );
    assertBytes(await s3Get(bucket.url("rest.bin")), data, "REST+STOR-resumed object in S3");
  }
});

s3Test("APPE of 1 KiB to a 20 MiB object: S3 sends ftpgate almost nothing", async () => {
  await using relay = startRelay(rgw!.endpoint);
  await using bucket = await testBucket("appe-ftp");
  const base = randomBytes(20 * MiB, 41);
  await seedFile(bucket.storage, "/log.bin", base);
  await using t = serveS3(await bucket.open({ endpoint: relay.endpoint }));
  await using dir = localDir();
  const tail = randomBytes(1024, 42);
  await Deno.writeFile(`${dir.path}/tail`, tail);
  relay.resetCounters();
  const run = await curl(t, ["-v", "--append", "-T", `${dir.path}/tail`, ftpUrl(t, "log.bin")]);
  assertExit(run, "curl --append");
  match(run.stderr, /> APPE log\.bin/);
  // A re-download of the object would be 20 MiB; the answers to HEAD, LIST, the multipart
  // calls and UploadPartCopy are a few KiB.
  ok(relay.bytesDown < 64 * 1024, `ftpgate fetched ${relay.bytesDown} bytes from S3 for APPE`);
  assertBytes(await s3Get(bucket.url("log.bin")), concat([base, tail]), "appended object");
});

/** 20,000 zero-byte keys under one prefix, kept between runs of the same gateway. */
async function listFixture(): Promise<{ prefix: string; path: string }> {
  const prefix = "fixture-list20k/";
  await using storage = await openS3Storage(`s3://${rgw!.bucket}/${prefix}`, rgwSettings());
  let count = 0;
  let token: string | undefined;
  do {
    const page = await storage.objects.list({ prefix: prefix + "many/", maxKeys: 1000, token });
    count += page.objects.length;
    token = page.continuationToken;
  } while (token !== undefined);
  if (count < 20_000) {
    let next = 0;
    await Promise.all(Array.from({ length: 48 }, async () => {
      while (next < 20_000) {
        const i = next++;
        await storage.objects.put(
          `${prefix}many/file-${String(i).padStart(6, "0")}.dat`,
          new Uint8Array(0),
        );
      }
    }));
  }
  return { prefix, path: "/many" };
}

s3Test(
  "S3Storage.list() of a 20,000-key prefix yields its first entry after fetching ≤ 2 pages of 20",
  async () => {
    const fixture = await listFixture();
    let listRequests = 0;
    await using counting = await openS3Storage(
      `s3://${rgw!.bucket}/${fixture.prefix}`,
      rgwSettings({
        onRequest: (request) => {
          if (new URL(request.url).searchParams.has("list-type")) listRequests++;
        },
      }),
    );
    const started = performance.now();
    const iterator = counting.list(fixture.path)[Symbol.asyncIterator]();
    const first = await iterator.next();
    const elapsed = performance.now() - started;
    equal(first.value?.name, "file-000000.dat");
    // Pages, not milliseconds, are the claim (a loaded CI machine stretches any time bound):
    // a listing that waited for every key would have fetched all 20 pages by now.
    ok(listRequests <= 2, `${listRequests} pages requested for the first entry`);
    report(`first entry of 20,000 keys after ${elapsed.toFixed(0)} ms`);
    let n = 1;
    while (!(await iterator.next()).done) n++;
    equal(n, 20_000);
    equal(listRequests, 20);
  },
);

/** Bytes of the last LIST, from the server's transfer events (recorded by serveS3's caller). */
function lastListing(t: TestServer): Promise<number> {
  return Promise.resolve(listingBytes.get(t.server) ?? 0);
}
const listingBytes = new WeakMap<object, number>();

/**
 * A data-connection client with a small receive buffer (SO_RCVBUF set before connecting, which
 * Deno cannot do): the kernel then holds a few KiB of a listing, not megabytes, so what the
 * server has fetched from S3 shows its own backpressure. It reads the first bytes, says when,
 * waits for a line on stdin, then reads the rest and prints how many lines it got.
 */
const SLOW_READER = `
import socket, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
sock.connect(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
first = sock.recv(4096)
print("first", len(first), flush=True)
sys.stdin.readline()
data = first
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    data += chunk
print("lines", len([line for line in data.split(b"\\r\\n") if line]), flush=True)
`;

s3Test(
  "LIST of a 20,000-key prefix starts sending before its last page is fetched and reads S3 only as the client reads",
  async () => {
    const fixture = await listFixture();
    let listRequests = 0;
    await using counting = await openS3Storage(
      `s3://${rgw!.bucket}/${fixture.prefix}`,
      rgwSettings({
        onRequest: (request) => {
          if (new URL(request.url).searchParams.has("list-type")) listRequests++;
        },
      }),
    );
    await using t = serveS3(counting);
    t.server.events.on((event) => {
      if (event.type === "transfer" && event.command === "LIST") {
        listingBytes.set(t.server, event.bytes);
      }
    });
    await using c = await login(t);
    const epsv = await c.expect("EPSV", 229);
    const port = Number(/\|\|\|(\d+)\|/.exec(epsv.text)![1]);
    const reader = new Deno.Command("python3", {
      args: ["-c", SLOW_READER, String(port)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = reader.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    const nextLine = async () => {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`the reader ended: ${buffered}`);
        buffered += value;
      }
      const line = buffered.slice(0, buffered.indexOf("\n"));
      buffered = buffered.slice(line.length + 1);
      return line;
    };
    try {
      equal(await nextLine(), "connected");
      const started = performance.now();
      await c.expect("LIST many", 150);
      match(await nextLine(), /^first [1-9]/);
      const elapsed = performance.now() - started;
      const pagesAtFirstByte = listRequests;
      // The client saw bytes while the listing was still being fetched (by the time its line
      // arrives here the server has written on, into the socket buffers, a few pages further).
      ok(pagesAtFirstByte < 20, `${pagesAtFirstByte} pages fetched when the first byte was read`);
      report(`first LIST byte of 20,000 keys after ${elapsed.toFixed(0)} ms`);
      // The client stops reading. The kernel's socket buffers take what they can (on loopback,
      // up to megabytes: the whole listing, maybe); beyond that a streaming server has fetched
      // at most a page or two more than it has written.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const whileStopped = listRequests;
      const written = t.server.status().transfers[0]?.bytes ?? Infinity;
      const writer = reader.stdin.getWriter();
      await writer.write(encoder.encode("go\n"));
      await writer.close();
      equal(await nextLine(), "lines 20000");
      equal((await c.read()).code, 226);
      // Twenty pages, each once, and the stat of the directory (a one-key listing).
      ok(listRequests >= 20 && listRequests <= 21, `${listRequests} list requests`);
      const record = t.server.status().transfers.length === 0 ? await lastListing(t) : 0;
      const bytesPerEntry = record / 20_000;
      const held = whileStopped * 1000 - written / bytesPerEntry;
      ok(
        held <= 3000,
        `${whileStopped} pages fetched, ${Math.round(written / bytesPerEntry)} entries written: ` +
          `${Math.round(held)} held in the server`,
      );
    } finally {
      await lines.cancel().catch(() => {});
      try {
        reader.kill();
      } catch { /* exited */ }
      await reader.status;
    }
  },
  { needs: "python3" },
);

s3Test("RNFR/RNTO of a directory of 500 keys moves them all", async () => {
  await using bucket = await testBucket("rename-ftp");
  await using t = serveS3(bucket.storage);
  const s = bucket.storage;
  await s.mkdir("/photos");
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < 500) {
      const i = next++;
      await s.objects.put(`${bucket.prefix}photos/${i % 5}/img-${i}.jpg`, encoder.encode(`${i}`));
    }
  }));
  await using c = await login(t);
  await c.expect("RNFR photos", 350);
  await c.expect("RNTO archive", 250);
  await c.expect("CWD photos", 550);
  const names = decoder.decode(await c.download("NLST archive/3")).split("\r\n").filter(Boolean);
  equal(names.length, 100);
  equal(decoder.decode(await c.download("RETR archive/3/img-8.jpg")), "8");
  let total = 0;
  for (const sub of await collectList(s, "/archive")) {
    total += (await collectList(s, `/archive/${sub.name}`)).length;
  }
  equal(total, 500);
});

/** A Python client that uploads part of a file, then dies; `reset` makes the kernel send RST. */
async function killedUpload(t: TestServer, path: string, bytes: number, reset: boolean) {
  const output = await runCommand("python3", [
    "-c",
    `
import ftplib, os, signal, socket, struct
ftp = ftplib.FTP(timeout=10)
ftp.connect(${JSON.stringify(t.host)}, ${t.port})
ftp.login(${JSON.stringify(t.user)}, ${JSON.stringify(t.password)})
ftp.voidcmd("TYPE I")
data = ftp.transfercmd(${JSON.stringify(`STOR ${path}`)})
if ${reset ? "True" : "False"}:
    for s in (data, ftp.sock):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
chunk = os.urandom(1 << 20)
for _ in range(${Math.floor(bytes / MiB)}):
    data.sendall(chunk)
os.kill(os.getpid(), signal.SIGKILL)
`,
  ], { timeoutMs: 20_000 });
  ok(
    output.code !== 0 && !output.stderr.includes("Error"),
    `python: ${output.code} ${output.stderr}`,
  );
}

async function assertOldObjectKept(
  bucket: Awaited<ReturnType<typeof testBucket>>,
  old: Uint8Array,
) {
  // The server notices the lost connections and aborts the multipart upload.
  let pending = await bucket.storage.pendingUploads();
  for (let i = 0; i < 100 && pending.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    pending = await bucket.storage.pendingUploads();
  }
  deepEqual(pending, [], "no multipart upload left");
  assertBytes(await s3Get(bucket.url("precious.bin")), old, "old object after the client died");
}

s3Test(
  "a client killed mid-upload (connection reset) leaves the old object and no multipart upload",
  async () => {
    await using bucket = await testBucket("killed-rst", { partSize: 5 * MiB });
    await using t = serveS3(bucket.storage);
    const old = randomBytes(3 * MiB, 51);
    await seedFile(bucket.storage, "/precious.bin", old);
    await killedUpload(t, "precious.bin", 16 * MiB, true);
    await assertOldObjectKept(bucket, old);
  },
  { needs: "python3" },
);

s3Test(
  "a client killed mid-upload (FIN on both connections) leaves the old object",
  async () => {
    await using bucket = await testBucket("killed-fin", { partSize: 5 * MiB });
    await using t = serveS3(bucket.storage);
    const old = randomBytes(3 * MiB, 52);
    await seedFile(bucket.storage, "/precious.bin", old);
    await killedUpload(t, "precious.bin", 16 * MiB, false);
    await assertOldObjectKept(bucket, old);
  },
  { needs: "python3", pending: "abortUploadOnLostControl" },
);

s3Test("two ftpgate instances on one bucket see each other's changes at once", async () => {
  await using bucket = await testBucket("two");
  await using a = serveS3(bucket.storage);
  await using b = serveS3(await bucket.open());
  await using ca = await login(a);
  await using cb = await login(b);
  const bytes = randomBytes(6 * MiB, 61);
  await ca.upload("STOR shared.bin", bytes);
  equal((await cb.expect("SIZE shared.bin", 213)).text, String(bytes.length));
  assertBytes(await cb.download("RETR shared.bin"), bytes, "B reads A's upload");
  await cb.expect("MKD inbox", 257);
  await cb.expect("RNFR shared.bin", 350);
  await cb.expect("RNTO inbox/moved.bin", 250);
  deepEqual(decoder.decode(await ca.download("NLST inbox")).split("\r\n").filter(Boolean), [
    "inbox/moved.bin",
  ]);
  await ca.expect("SIZE shared.bin", 550);
  await ca.expect("DELE inbox/moved.bin", 250);
  await cb.expect("SIZE inbox/moved.bin", 550);
  await cb.expect("RMD inbox", 250);
  await ca.expect("CWD inbox", 550);
});

s3Test("an S3 outage mid-session answers 451 and the session recovers", async () => {
  await using relay = startRelay(rgw!.endpoint);
  await using bucket = await testBucket("outage-ftp");
  const storage = await bucket.open({ endpoint: relay.endpoint, maxAttempts: 2, retryBaseMs: 1 });
  await using t = serveS3(storage);
  await using c = await login(t);
  const big = randomBytes(24 * MiB, 71);
  await seedFile(bucket.storage, "/big.bin", big);
  await c.upload("STOR a.txt", encoder.encode("before the outage"));

  relay.cut();
  const size = await c.command("SIZE a.txt");
  ok(size.code === 451, `SIZE during the outage: ${size.lines.join(" | ")}`);
  ok(!/xml|<|amz|rgw|ceph|127\.0\.0\.1/i.test(size.text), `reply leaks S3 details: ${size.text}`);
  const data = await c.epsv();
  const retr = await c.command("RETR a.txt");
  ok(retr.code === 451, `RETR during the outage: ${retr.lines.join(" | ")}`);
  data.close();
  relay.restore();
  equal((await c.expect("SIZE a.txt", 213)).text, "17");
  equal(decoder.decode(await c.download("RETR a.txt")), "before the outage");

  // An outage in the middle of a download ends that transfer with an error reply.
  const slow = await c.epsv();
  await c.expect("RETR big.bin", 150);
  const first = new Uint8Array(64 * 1024);
  ok((await slow.read(first)) !== null);
  relay.pause(); // S3 stalls, then goes away: ftpgate cannot have had the whole object
  relay.cut();
  const received = await readAll(slow, 20_000);
  const end = await c.read(20_000);
  ok([426, 451].includes(end.code), `after a mid-transfer outage: ${end.lines.join(" | ")}`);
  ok(received.length < big.length);
  relay.restore();
  assertBytes(await c.download("RETR big.bin"), big, "download after the outage");
});

s3Test(
  "MKD writes a marker, RMD needs an empty directory, DELE of a missing key is 550",
  async () => {
    await using bucket = await testBucket("dirs");
    await using t = serveS3(bucket.storage);
    await using c = await login(t);
    await c.expect("MKD d", 257);
    ok((await bucket.storage.objects.head(`${bucket.prefix}d/`)) !== null, "marker d/ exists");
    await c.expect("MKD d", 550);
    await c.upload("STOR d/f.txt", encoder.encode("x"));
    await c.expect("RMD d", 550);
    await c.expect("DELE d/f.txt", 250);
    await c.expect("DELE d/f.txt", 550);
    await c.expect("DELE d", 550);
    await c.expect("RMD d", 250);
    await c.expect("CWD d", 550);
    await c.expect("MKD missing/child", 550);
  },
);

s3Test("MFMT sets the time MDTM and MLST report; SIZE comes from HEAD", async () => {
  await using bucket = await testBucket("mfmt");
  await using t = serveS3(bucket.storage);
  await using c = await login(t);
  await c.upload("STOR a.txt", encoder.encode("hello"));
  await c.expect("MFMT 20200102030405 a.txt", 213);
  equal((await c.expect("MDTM a.txt", 213)).text, "20200102030405");
  equal((await c.expect("SIZE a.txt", 213)).text, "5");
  match((await c.expect("MLST a.txt", 250)).lines.join("\n"), /modify=20200102030405/i);
  equal(decoder.decode(await c.download("RETR a.txt")), "hello");
});

s3Test("STOU creates a new object and never overwrites one", async () => {
  await using bucket = await testBucket("stou-ftp");
  await using t = serveS3(bucket.storage);
  await using c = await login(t);
  await c.upload("STOR report.txt", encoder.encode("first"));
  const done = await c.upload("STOU report.txt", encoder.encode("second"));
  const name = /unique file name: (.+)\)/.exec(done.text)?.[1];
  ok(name !== undefined && name !== "report.txt", done.text);
  equal(decoder.decode(await s3Get(bucket.url(name))), "second");
  equal(decoder.decode(await s3Get(bucket.url("report.txt"))), "first");
});

s3Test("basic-ftp sees S3 directories in MLSD and walks them", async () => {
  await using bucket = await testBucket("basic-mlsd");
  await using t = serveS3(bucket.storage);
  await bucket.storage.mkdir("/docs");
  await seedFile(bucket.storage, "/docs/a.txt", encoder.encode("a"));
  await bucket.storage.objects.put(`${bucket.prefix}implied/x.txt`, encoder.encode("x"));
  const client = new Client(10_000);
  try {
    await client.access({ host: t.host, port: t.port, user: t.user, password: t.password });
    const top = (await client.list()).map((e) =>
      `${e.name}:${e.type === FileType.Directory ? "d" : "f"}`
    );
    deepEqual(top.sort(), ["docs:d", "implied:d"]);
    const docs = await client.list("docs");
    deepEqual(docs.map((e) => [e.name, e.size]), [["a.txt", 1]]);
  } finally {
    client.close();
  }
});

// 502 comes from the back end's not-supported today; the core's capability check will answer
// the same before calling it.
s3Test("SITE CHMOD answers 502 on S3 (no permission bits)", async () => {
  await using bucket = await testBucket("chmod");
  await using t = serveS3(bucket.storage);
  await using c = await login(t);
  await c.upload("STOR a.txt", encoder.encode("x"));
  await c.expect("SITE CHMOD 600 a.txt", 502);
});

s3Test(
  "ALLO's size goes with the next STOR: S3 grows its parts with the bytes, to fit 10,000 parts",
  async () => {
    await using bucket = await testBucket("allo", { partSize: 5 * MiB });
    const parts: number[] = [];
    const storage = await bucket.open({
      partSize: 5 * MiB,
      onRequest: (request) => {
        const part = new URL(request.url).searchParams.get("partNumber");
        if (request.method === "PUT" && part !== null) parts.push(Number(part));
      },
    });
    await using t = serveS3(storage);
    await using c = await RawClient.connect(t.port);
    await c.login(t.user, t.password);
    await c.expect("TYPE I", 200);
    const file = randomBytes(128 * MiB, 5);
    // Without ALLO: 5 MiB parts, so 26 of them.
    await c.upload("STOR plain.bin", file);
    equal(Math.max(...parts), 26);
    // 60 GiB announced: the parts stay at 5 MiB until 16 times that came in (ALLO alone buys
    // no memory), then grow with the bytes received (6, 7, 8 MiB here): 24 parts.
    parts.length = 0;
    await c.expect(`ALLO ${60 * 1024 * MiB}`, 202);
    await c.upload("STOR big.bin", file);
    equal(Math.max(...parts), 24);
    // It applied once: the next upload is back to 5 MiB parts; and a LIST between drops it.
    parts.length = 0;
    await c.upload("STOR again.bin", file);
    equal(Math.max(...parts), 26);
    parts.length = 0;
    await c.expect(`ALLO ${60 * 1024 * MiB}`, 202);
    await c.download("LIST");
    await c.upload("STOR after-list.bin", file);
    equal(Math.max(...parts), 26);
    assertBytes(await c.download("RETR big.bin"), file, "read back");
  },
);

Deno.test({
  name: "ALLO of a huge size does not make the S3 gateway hold the upload in memory",
  ignore: noRgw || Deno.build.os !== "linux",
  async fn() {
    // ALLO's size raises the S3 part size so that the upload fits in 10,000 parts, and a part
    // is buffered whole before it is sent. When the hint set the part size at once, any user
    // who may upload could send "ALLO 50000000000000" and have the server hold everything
    // received, up to 5 GiB per part (× 5), instead of part_size × (max_parts_in_flight + 1)
    // = 40 MiB: 96 MiB sent grew the server by ~170 MiB. Parts now grow with the bytes received
    // (nextPartSize), so ALLO alone buys no memory.
    await using bucket = await testBucket("review2-allo-memory");
    await using cli = startCli([
      "--root",
      `s3://${rgw!.bucket}/${bucket.prefix}`,
      "--port",
      "0",
      "--user",
      "up:pw",
      "--log-level",
      "error",
      "--ready-file",
      "-",
    ], {
      env: {
        AWS_ACCESS_KEY_ID: rgw!.accessKeyId,
        AWS_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
        AWS_ENDPOINT_URL_S3: rgw!.endpoint,
        AWS_REGION: rgw!.region,
      },
    });
    const line = await cli.ready(30_000);
    const chunk = new Uint8Array(MiB).fill(0x5a);
    const upload = async (name: string, allo: string | null, mib: number) => {
      await using c = await loginAs(line.port, "up", "pw");
      if (allo !== null) await c.expect(`ALLO ${allo}`, 202);
      const data = await c.epsv();
      await c.expect(`STOR ${name}`, 150);
      const before = processRss(line.pid);
      for (let i = 0; i < mib; i++) await writeAll(data, chunk);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const grown = processRss(line.pid) - before;
      data.close();
      equal((await c.read(60_000)).code, 226);
      await c.expect(`DELE ${name}`, 250);
      return grown / MiB;
    };
    // A plain upload first: buffers and part uploads at the configured size are in the baseline.
    await upload("warm.bin", null, 64);
    const grown = await upload("huge.bin", "50000000000000", 96);
    ok(grown < 48, `after ALLO the server grew by ${Math.round(grown)} MiB for a 96 MiB upload`);
    cli.kill("SIGTERM");
    await cli.wait(15_000);
  },
});
