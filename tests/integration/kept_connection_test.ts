/**
 * A data connection kept open by MODE B (RFC 959 §3.4.2) must not carry a later transfer under
 * terms it was not made for: PROT, MODE, AUTH or USER changes close it.
 */
import { equal, ok } from "node:assert/strict";
import type { FtpEvent } from "../../src/mod.ts";
import { parseEpsv } from "../helpers/protocol_helpers.ts";
import { FtpsClient, testPems } from "../helpers/tls_helpers.ts";
import { startServer } from "../helpers/server.ts";
import { loginAs } from "../helpers/raw_client.ts";

const decoder = new TextDecoder();

/** Reads MODE B blocks up to and including the EOF block; returns the data. */
async function readBlocks(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: number[] = [];
  let pending = new Uint8Array(0);
  const buffer = new Uint8Array(65536);
  const deadline = setTimeout(() => conn.close(), 5_000);
  try {
    for (;;) {
      // Parse what we have.
      while (pending.length >= 3) {
        const count = (pending[1] << 8) | pending[2];
        if (pending.length < 3 + count) break;
        const descriptor = pending[0];
        for (const byte of pending.subarray(3, 3 + count)) chunks.push(byte);
        pending = pending.slice(3 + count);
        if (descriptor & 64) return new Uint8Array(chunks);
      }
      const n = await conn.read(buffer);
      if (n === null) return new Uint8Array(chunks);
      const next = new Uint8Array(pending.length + n);
      next.set(pending);
      next.set(buffer.subarray(0, n), pending.length);
      pending = next;
    }
  } finally {
    clearTimeout(deadline);
  }
}

/** TYPE I and MODE B, then EPSV: the data connection that MODE B keeps open between files. */
async function modeBConnection(c: FtpsClient): Promise<Deno.TcpConn> {
  await c.expect("TYPE I", 200);
  await c.expect("MODE B", 200);
  const port = parseEpsv(await c.expect("EPSV", 229));
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

Deno.test("MODE B: after PROT P, a file is not sent in clear text over a connection kept from PROT C", async () => {
  const pems = await testPems();
  await using t = startServer({
    tls: { cert: pems.cert, key: pems.key },
    tlsSniffMs: 0,
    files: { "public.txt": "nothing to hide", "secret.txt": "the launch codes" },
  });
  await using c = await FtpsClient.connect(t.port, pems.caCert);
  await c.authTls();
  await c.login(t.user, t.password);
  await c.expect("PBSZ 0", 200);
  await c.expect("PROT C", 200);
  const data = await modeBConnection(c);
  try {
    await c.expect("RETR public.txt", 150);
    equal(decoder.decode(await readBlocks(data)), "nothing to hide");
    equal((await c.read()).code, 250); // the connection stays open
    // The client now asks for protected data connections.
    await c.expect("PROT P", 200);
    const opening = await c.command("RETR secret.txt");
    let clear = "";
    if (opening.code === 150) {
      // A server that honours PROT P starts TLS (it would wait for our ClientHello here); one
      // that does not sends the blocks as they are.
      const read = await Promise.race([
        readBlocks(data),
        new Promise<Uint8Array>((resolve) => setTimeout(() => resolve(new Uint8Array()), 1500)),
      ]);
      clear = decoder.decode(read);
      await c.read().catch(() => {});
    }
    ok(!clear.includes("launch codes"), `sent in clear text after PROT P: "${clear}"`);
    equal(opening.code, 425, "the kept clear-text connection is gone: a new one is needed");
  } finally {
    data.close();
  }
});

for (const change of ["MODE S", "USER"] as const) {
  Deno.test(`MODE B: ${change} closes the kept connection`, async () => {
    await using t = startServer({ files: { "a.txt": "first" } });
    await using c = await FtpsClient.connect(t.port, "");
    await c.login(t.user, t.password);
    const data = await modeBConnection(c);
    try {
      await c.expect("RETR a.txt", 150);
      equal(decoder.decode(await readBlocks(data)), "first");
      equal((await c.read()).code, 250);
      if (change === "USER") {
        await c.login(t.user, t.password);
        await c.expect("MODE B", 200);
      } else await c.expect("MODE S", 200);
      // The server closed its end: our next read sees the end of the stream.
      equal(await data.read(new Uint8Array(16)), null);
      equal((await c.command("RETR a.txt")).code, 425);
    } finally {
      data.close();
    }
  });
}

Deno.test("MODE B: the transfer event of a clear-text kept connection is not reported as secure", async () => {
  await using t = startServer({ files: { "a.txt": "first", "b.txt": "second" } });
  const events: FtpEvent[] = [];
  const off = t.server.events.on((event) => void events.push(event));
  try {
    await using c = await FtpsClient.connect(t.port, "");
    await c.login(t.user, t.password);
    const data = await modeBConnection(c);
    try {
      for (const name of ["a.txt", "b.txt"]) {
        await c.expect(`RETR ${name}`, 150);
        await readBlocks(data);
        equal((await c.read()).code, 250);
      }
    } finally {
      data.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const secure = events.filter((event) => event.type === "transfer").map((event) =>
      (event as { secure: boolean }).secure
    );
    equal(secure.join(","), "false,false", "a plain TCP transfer was logged as TLS");
  } finally {
    off();
  }
});

Deno.test("MODE B: ABOR with no transfer running closes the kept data connection (RFC 959 §4.1.3)", async () => {
  // RFC 959 §4.1.3 ABOR: "In the first case [the service command was already completed], the
  // server closes the data connection (if it is open) and responds with a 226 reply". A MODE B
  // connection kept after a RETR is an open data connection: ABOR closes it, and the next RETR
  // without PASV/EPSV has no connection (425).
  await using t = startServer({ files: { "a.txt": "first" } });
  await using c = await loginAs(t.port, t.user, t.password);
  await c.expect("MODE B", 200);
  const data = await c.epsv();
  try {
    await c.expect("RETR a.txt", 150);
    const buffer = new Uint8Array(64);
    ok((await data.read(buffer)) !== null);
    equal((await c.read()).code, 250, "MODE B keeps the connection");
    equal((await c.command("ABOR")).code, 226);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      data.read(buffer).then((n) => n === null, () => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 2_000)),
    ]);
    clearTimeout(timer);
    ok(closed, "the kept data connection is still open after ABOR");
    equal((await c.command("RETR a.txt")).code, 425);
  } finally {
    data.close();
  }
});
