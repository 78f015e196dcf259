/**
 * Real FTP clients through ftpgate into a real S3 store (Ceph RGW): curl, lftp, Python's ftplib
 * and basic-ftp each upload 0 B, 1 B, 5 MiB and 100 MiB files; every object is then read back
 * through the S3 API with curl's SigV4 (not through ftpgate) and compared byte for byte, and
 * downloaded again through the same client.
 */
import { Readable, Writable } from "node:stream";
import { Client } from "basic-ftp";
import {
  assertBytes,
  assertExit,
  curl,
  ftpUrl,
  lftp,
  localDir,
  python,
} from "../helpers/clients.ts";
import { concat, randomBytes, type TestServer } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";
import { noRgw, s3Get, serveS3, testBucket } from "./rgw.ts";

const MiB = 1024 * 1024;
const SIZES: [string, number][] = [["0B", 0], ["1B", 1], ["5MiB", 5 * MiB], ["100MiB", 100 * MiB]];

/** The test files, made once per run (the 100 MiB one takes half a second). */
const FILES = new Map(SIZES.map(([name, size], i) => [name, randomBytes(size, 100 + i)]));

interface Transfers {
  upload(t: TestServer, local: string, remote: string): Promise<void>;
  download(t: TestServer, remote: string, local: string): Promise<void>;
}

function roundTrip(client: string, ignore: boolean, transfers: Transfers): void {
  Deno.test({
    name: `${client} → ftpgate → S3: 0 B, 1 B, 5 MiB and 100 MiB round-trip byte-exact`,
    ignore: noRgw || ignore,
    async fn() {
      await using bucket = await testBucket(`clients-${client}`);
      await using t = serveS3(bucket.storage);
      await using dir = localDir();
      for (const [name, bytes] of FILES) {
        const local = `${dir.path}/${name}.up`;
        await Deno.writeFile(local, bytes);
        await transfers.upload(t, local, `${name}.bin`);
        assertBytes(await s3Get(bucket.url(`${name}.bin`)), bytes, `${client}: S3 object ${name}`);
        const back = `${dir.path}/${name}.down`;
        await transfers.download(t, `${name}.bin`, back);
        assertBytes(await Deno.readFile(back), bytes, `${client}: downloaded ${name}`);
        await Deno.remove(local);
        await Deno.remove(back);
      }
    },
  });
}

roundTrip("curl", needs("curl"), {
  async upload(t, local, remote) {
    assertExit(await curl(t, ["-T", local, ftpUrl(t, remote)]), `curl -T ${remote}`);
  },
  async download(t, remote, local) {
    assertExit(await curl(t, ["-o", local, ftpUrl(t, remote)]), `curl ${remote}`);
  },
});

roundTrip("lftp", needs("lftp"), {
  async upload(t, local, remote) {
    const dir = local.slice(0, local.lastIndexOf("/"));
    assertExit(await lftp(t, [`put ${local} -o ${remote}`], { cwd: dir }), `lftp put ${remote}`);
  },
  async download(t, remote, local) {
    const dir = local.slice(0, local.lastIndexOf("/"));
    assertExit(await lftp(t, [`get ${remote} -o ${local}`], { cwd: dir }), `lftp get ${remote}`);
  },
});

roundTrip("python3 ftplib", needs("python3"), {
  async upload(t, local, remote) {
    await python(
      t,
      `ftp = connect(debug=0)
with open(${JSON.stringify(local)}, "rb") as f:
    ftp.storbinary(${JSON.stringify(`STOR ${remote}`)}, f)
ftp.quit()
result("ok")`,
    );
  },
  async download(t, remote, local) {
    await python(
      t,
      `ftp = connect(debug=0)
with open(${JSON.stringify(local)}, "wb") as f:
    ftp.retrbinary(${JSON.stringify(`RETR ${remote}`)}, f.write)
ftp.quit()
result("ok")`,
    );
  },
});

async function basicFtp<T>(t: TestServer, run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(20_000);
  try {
    await client.access({ host: t.host, port: t.port, user: t.user, password: t.password });
    return await run(client);
  } finally {
    client.close();
  }
}

roundTrip("basic-ftp", false, {
  async upload(t, local, remote) {
    const bytes = await Deno.readFile(local);
    await basicFtp(
      t,
      (client) => client.uploadFrom(Readable.from(bytes.length === 0 ? [] : [bytes]), remote),
    );
  },
  async download(t, remote, local) {
    const chunks: Uint8Array[] = [];
    await basicFtp(t, (client) =>
      client.downloadTo(
        new Writable({
          write(chunk, _encoding, callback) {
            chunks.push(new Uint8Array(chunk));
            callback();
          },
        }),
        remote,
      ));
    await Deno.writeFile(local, concat(chunks));
  },
});
