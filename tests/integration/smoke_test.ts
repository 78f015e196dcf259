import { deepEqual, equal } from "node:assert/strict";
import { Client } from "basic-ftp";
import { RawClient } from "../helpers/raw_client.ts";
import { concat, PASSWORD, randomBytes, startServer, USER } from "../helpers/server.ts";
import { Readable, Writable } from "node:stream";

Deno.test("raw client: login, PWD, RETR", async () => {
  await using t = startServer({ files: { "a.txt": "hello\n" } });
  await using c = await RawClient.connect(t.port);
  equal(c.banner.code, 220);
  await c.login(USER, PASSWORD);
  const pwd = await c.expect("PWD", 257);
  equal(pwd.text, '"/" is the current directory.');
  await c.expect("TYPE I", 200);
  equal(new TextDecoder().decode(await c.download("RETR a.txt")), "hello\n");
  await c.expect("QUIT", 221);
});

Deno.test("basic-ftp: upload and download 1 MiB", async () => {
  await using t = startServer();
  const client = new Client(10_000);
  try {
    await client.access({ host: "127.0.0.1", port: t.port, user: USER, password: PASSWORD });
    const data = randomBytes(1 << 20);
    await client.uploadFrom(Readable.from([data]), "x.bin");
    const chunks: Uint8Array[] = [];
    await client.downloadTo(
      new Writable({
        write(chunk, _e, cb) {
          chunks.push(chunk);
          cb();
        },
      }),
      "x.bin",
    );
    const got = concat(chunks);
    equal(got.length, data.length);
    deepEqual(got, data);
    const list = await client.list();
    deepEqual(list.map((f) => [f.name, f.size]), [["x.bin", 1 << 20]]);
  } finally {
    client.close();
  }
});
