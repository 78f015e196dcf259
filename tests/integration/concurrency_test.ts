/**
 * Many sessions at once over real sockets: each uploads and downloads its own file, every byte
 * must arrive where it belongs, and the session registry empties when they leave.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { RawClient, writeAllAndClose } from "../helpers/raw_client.ts";
import { PASSWORD, randomBytes, startServer, USER } from "../helpers/server.ts";
import { drain, waitFor } from "../helpers/protocol_helpers.ts";

const SESSIONS = 20;
const SIZE = 256 * 1024;

Deno.test("20 concurrent sessions upload and download their own 256 KiB file", async () => {
  await using t = startServer();
  const files = Array.from({ length: SESSIONS }, (_, i) => randomBytes(SIZE, 1000 + i));
  const clients: RawClient[] = [];
  try {
    // All connected and logged in before any transfer starts, so they truly overlap.
    for (let i = 0; i < SESSIONS; i++) {
      const c = await RawClient.connect(t.port);
      clients.push(c);
      await c.login(USER, PASSWORD);
      await c.expect("TYPE I", 200);
    }
    equal(t.server.sessionCount, SESSIONS);
    const results = await Promise.all(clients.map(async (c, i) => {
      await c.upload(`STOR file-${i}.bin`, files[i]);
      const back = await c.download(`RETR file-${i}.bin`);
      equal((await c.expect(`SIZE file-${i}.bin`, 213)).text, String(SIZE));
      await c.expect("QUIT", 221);
      return back;
    }));
    for (let i = 0; i < SESSIONS; i++) {
      deepEqual(results[i], files[i], `session ${i} downloaded other bytes`);
      deepEqual(Deno.readFileSync(`${t.root}/file-${i}.bin`), files[i], `file-${i}.bin on disk`);
    }
    await waitFor(() => t.server.sessionCount === 0, "every session to end");
    equal(t.server.sessionCount, 0);
  } finally {
    for (const c of clients) c.close();
  }
});

Deno.test("concurrent sessions on one file: interleaved reads all get the same bytes", async () => {
  const data = randomBytes(1024 * 1024, 77);
  await using t = startServer({ files: { "shared.bin": data } });
  const clients = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const c = await RawClient.connect(t.port);
      await c.login(USER, PASSWORD);
      await c.expect("TYPE I", 200);
      return c;
    }),
  );
  try {
    const results = await Promise.all(clients.map((c) => c.download("RETR shared.bin")));
    for (const got of results) deepEqual(got, data);
    await Promise.all(clients.map((c) => c.expect("QUIT", 221)));
    await waitFor(() => t.server.sessionCount === 0, "every session to end");
  } finally {
    for (const c of clients) c.close();
  }
});

Deno.test("sessions that drop without QUIT are removed from the registry too", async () => {
  await using t = startServer();
  const clients = await Promise.all(
    Array.from({ length: 5 }, async () => {
      const c = await RawClient.connect(t.port);
      await c.login(USER, PASSWORD);
      return c;
    }),
  );
  equal(t.server.sessionCount, 5);
  for (const c of clients) c.close();
  await waitFor(() => t.server.sessionCount === 0, "every session to end");
});

Deno.test("two sessions uploading the same file: the second gets 450 busy", async () => {
  await using t = startServer();
  await using a = await RawClient.connect(t.port);
  await using b = await RawClient.connect(t.port);
  for (const c of [a, b]) {
    await c.login(USER, PASSWORD);
    await c.expect("TYPE I", 200);
  }
  const first = randomBytes(100_000, 51);
  const dataA = await a.epsv();
  await a.expect("STOR same.bin", 150);
  await dataA.write(first.subarray(0, 50_000));
  const dataB = await b.epsv();
  await b.expect("STOR same.bin", 450);
  dataB.close();
  await writeAllAndClose(dataA, first.subarray(50_000));
  equal((await a.read()).code, 226);
  deepEqual(Deno.readFileSync(`${t.root}/same.bin`), first);
  // Once the first upload is done the file is free again.
  await b.upload("STOR same.bin", randomBytes(10, 52));
  equal(Deno.statSync(`${t.root}/same.bin`).size, 10);
});

Deno.test("maxSessions: the connection over the limit gets 421 and is closed", async () => {
  await using t = startServer({ maxSessions: 2 });
  await using a = await RawClient.connect(t.port);
  await using b = await RawClient.connect(t.port);
  await using c = await RawClient.connect(t.port);
  equal(a.banner.code, 220);
  equal(b.banner.code, 220);
  equal(c.banner.code, 421);
  ok(await c.closedByServer(5_000));
  equal(t.server.sessionCount, 2);
  await a.expect("QUIT", 221);
  await waitFor(() => t.server.sessionCount === 1, "the first session to end");
  await using d = await RawClient.connect(t.port);
  equal(d.banner.code, 220);
});

Deno.test("a control connection dropped during a transfer ends the session and the transfer", async () => {
  await using t = startServer({ files: { "big.bin": new Uint8Array(50 * 1024 * 1024) } });
  const c = await RawClient.connect(t.port);
  await c.login(USER, PASSWORD);
  await c.expect("TYPE I", 200);
  const data = await c.epsv();
  await c.expect("RETR big.bin", 150);
  c.close();
  await waitFor(() => t.server.sessionCount === 0, "the session to end");
  // The server closed its side of the data connection: reading ends.
  await drain(data, 10_000);
});
