/**
 * Data connections over real sockets: PASV and EPSV (RFC 959 §4.1.2, RFC 2428 §3), PORT and
 * EPRT (active mode, RFC 2428 §2) with the bounce-attack refusals of RFC 2577, EPSV ALL, the
 * one-connection-per-arm rule, the data-connection timeout, and ABOR/STAT during a transfer
 * (RFC 959 §4.1.3).
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import { readAll, writeAllAndClose } from "../helpers/raw_client.ts";
import { PASSWORD, randomBytes, startServer, USER } from "../helpers/server.ts";
import { loginBinary } from "../helpers/hardening_helpers.ts";
import {
  ActiveListener,
  closeQuietly,
  drain,
  parseEpsv,
  parsePasv,
  text,
  utf8,
  waitFor,
} from "../helpers/protocol_helpers.ts";

const MiB = 1024 * 1024;

/** A file big enough that the server is still sending while the test does not read. */
function bigFile(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) out[i] = (i >> 12) & 0xff;
  return out;
}

function ipv6Available(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Passive
// ---------------------------------------------------------------------------------------------

Deno.test("PASV: 227 (h1,h2,h3,h4,p1,p2) names the control address and a working port", async () => {
  await using t = startServer({ files: { "a.txt": "via pasv" } });
  await using c = await loginBinary(t.port);
  const reply = await c.expect("PASV", 227);
  match(reply.text, /^Entering Passive Mode \(\d+,\d+,\d+,\d+,\d+,\d+\)\.$/);
  const { host, port } = parsePasv(reply);
  equal(host, "127.0.0.1");
  ok(port > 0 && port < 65536);
  const data = await Deno.connect({ hostname: host, port });
  await c.expect("RETR a.txt", 150);
  equal(text(await drain(data)), "via pasv");
  equal((await c.read()).code, 226);
});

Deno.test("EPSV: 229 (|||port|); EPSV 1 on IPv4 works too", async () => {
  await using t = startServer({ files: { "a.txt": "via epsv" } });
  await using c = await loginBinary(t.port);
  for (const line of ["EPSV", "EPSV 1"]) {
    const reply = await c.expect(line, 229);
    match(reply.text, /^Entering Extended Passive Mode \(\|\|\|\d+\|\)\.$/);
    const data = await Deno.connect({ hostname: "127.0.0.1", port: parseEpsv(reply) });
    await c.expect("RETR a.txt", 150);
    equal(text(await drain(data)), "via epsv");
    equal((await c.read()).code, 226);
  }
});

Deno.test("EPSV 2 on an IPv4 connection: 522 naming protocol 1", async () => {
  await using t = startServer();
  await using c = await loginBinary(t.port);
  const reply = await c.expect("EPSV 2", 522);
  ok(reply.text.includes("(1)"), reply.text);
  await c.expect("EPSV 3", 522);
  await c.expect("NOOP", 200);
});

Deno.test("a transfer command without PASV/EPSV/PORT/EPRT gets 425 and no 150", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  for (
    const line of [
      "RETR a.txt",
      "STOR new.txt",
      "APPE new.txt",
      "STOU",
      "LIST",
      "NLST",
      "MLSD",
    ]
  ) {
    const reply = await c.command(line);
    equal(reply.code, 425, `${line} → ${reply.lines.join(" | ")}`);
  }
  await c.expect("NOOP", 200);
  deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name), ["a.txt"]);
});

Deno.test("each PASV/EPSV serves one transfer: the next one needs a new one (425)", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  equal(text(await c.download("RETR a.txt")), "a");
  await c.expect("RETR a.txt", 425);
  equal(text(await c.download("RETR a.txt")), "a");
});

Deno.test("a second PASV makes the first arm unusable", async () => {
  await using t = startServer({ files: { "a.txt": "second arm" } });
  await using c = await loginBinary(t.port);
  const first = await c.pasv();
  // Let the server accept the first connection before it is re-armed.
  await c.expect("NOOP", 200);
  await c.expect("NOOP", 200);
  const reply = await c.expect("PASV", 227);
  // The first connection is closed by the server without a byte.
  equal((await drain(first, 5_000)).length, 0);
  const second = await Deno.connect(parsePasv(reply));
  await c.expect("RETR a.txt", 150);
  equal(text(await drain(second)), "second arm");
  equal((await c.read()).code, 226);
});

Deno.test("EPSV after EPSV re-arms: only the newest connection carries data", async () => {
  await using t = startServer({ files: { "a.txt": "newest" } });
  await using c = await loginBinary(t.port);
  const first = await c.epsv();
  await c.expect("NOOP", 200);
  await c.expect("NOOP", 200);
  const second = await c.epsv();
  equal((await drain(first, 5_000)).length, 0);
  await c.expect("RETR a.txt", 150);
  equal(text(await drain(second)), "newest");
  equal((await c.read()).code, 226);
});

Deno.test("PASV without a connection within dataTimeoutMs: the next RETR gets 425", async () => {
  await using t = startServer({ dataTimeoutMs: 300, files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  await c.expect("PASV", 227);
  // The server's own status shows when the arm has expired (bounded wait, no timing assertion).
  await waitFor(async () => {
    const stat = await c.expect("STAT", 211);
    return stat.lines.some((line) => line.includes("Data connection: none"));
  }, "the passive arm to expire");
  const reply = await c.command("RETR a.txt");
  equal(reply.code, 425, reply.lines.join(" | "));
  await c.expect("NOOP", 200);
  // A fresh PASV works.
  equal(text(await c.download("RETR a.txt")), "a");
});

Deno.test("RETR after PASV when the client never connects: 425 and no 150", async () => {
  await using t = startServer({ dataTimeoutMs: 300, files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  await c.expect("PASV", 227);
  // Like vsftpd: the data connection comes before the 150, so a client that reads only the data
  // socket after a 150 (curl, ftplib) never waits on a transfer that cannot start.
  await c.expect("RETR a.txt", 425);
  await c.expect("NOOP", 200);
});

// ---------------------------------------------------------------------------------------------
// Active
// ---------------------------------------------------------------------------------------------

Deno.test("PORT: the server connects to the client's listener for RETR and LIST", async () => {
  const data = randomBytes(300_000, 21);
  await using t = startServer({ files: { "f.bin": data } });
  await using c = await loginBinary(t.port);
  await using active = new ActiveListener();
  await c.expect(`PORT ${active.portArgument}`, 200);
  await c.expect("RETR f.bin", 150);
  const conn = await active.accept();
  equal(conn.remoteAddr.hostname, "127.0.0.1");
  deepEqual(await readAll(conn), data);
  equal((await c.read()).code, 226);

  await c.expect(`PORT ${active.portArgument}`, 200);
  await c.expect("LIST", 150);
  match(
    text(await readAll(await active.accept())),
    /^-[-rwx]{9} +1 ftp +ftp +300000 .* f\.bin\r\n$/,
  );
  equal((await c.read()).code, 226);
});

Deno.test("EPRT |1|: the server connects for STOR", async () => {
  const data = randomBytes(200_000, 22);
  await using t = startServer();
  await using c = await loginBinary(t.port);
  await using active = new ActiveListener();
  await c.expect(`EPRT ${active.eprtArgument}`, 200);
  await c.expect("STOR up.bin", 150);
  await writeAllAndClose(await active.accept(), data);
  equal((await c.read()).code, 226);
  deepEqual(Deno.readFileSync(`${t.root}/up.bin`), data);
});

Deno.test("PORT/EPRT to a port nobody listens on: 425 and no 150", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  const closed = new ActiveListener();
  const argument = closed.portArgument;
  closed.close();
  await c.expect(`PORT ${argument}`, 200);
  await c.expect("RETR a.txt", 425);
  await c.expect("NOOP", 200);
});

Deno.test("EPRT |2|::1|port| on an IPv6 server", async () => {
  if (!ipv6Available()) {
    // deno-lint-ignore no-console
    console.warn(
      "\n!!! SKIPPED: ::1 is not available here; the IPv6 EPRT/EPSV test did not run !!!\n",
    );
    return;
  }
  const data = randomBytes(100_000, 23);
  await using t = startServer({ hostname: "::1", files: { "f.bin": data } });
  await using c = await loginBinary(t.port, "::1");
  await using active = new ActiveListener("::1");
  await c.expect(`EPRT |2|::1|${active.port}|`, 200);
  await c.expect("RETR f.bin", 150);
  deepEqual(await readAll(await active.accept()), data);
  equal((await c.read()).code, 226);
  // EPSV on IPv6 announces a port on ::1; EPSV 1 is the wrong family here.
  deepEqual(await c.download("RETR f.bin"), data);
  const wrong = await c.expect("EPSV 1", 522);
  ok(wrong.text.includes("(2)"), wrong.text);
  // EPRT to another IPv6 address is a bounce attempt.
  await c.expect(`EPRT |2|2001:db8::1|${active.port}|`, 504);
});

Deno.test("EPRT with an unknown protocol number: 522", async () => {
  await using t = startServer();
  await using c = await loginBinary(t.port);
  await c.expect("EPRT |3|127.0.0.1|5000|", 522);
  await c.expect("EPRT |9|x|5000|", 522);
  await c.expect("NOOP", 200);
});

Deno.test("malformed PORT and EPRT arguments: 501", async () => {
  await using t = startServer();
  await using c = await loginBinary(t.port);
  for (
    const argument of [
      "PORT abc",
      "PORT 127,0,0,1,200",
      "PORT 127,0,0,1,200,1,5",
      "PORT 127,0,0,1,256,1",
      "PORT 127,0,0,1,-1,1",
      "PORT 127,0,0,1,,1",
      "PORT 1270,0,0,1,200,1",
      "EPRT 127.0.0.1:5000",
      "EPRT |1|127.0.0.1|",
      "EPRT |1|127.0.0.1|70000|",
      "EPRT |1|127.0.0.1|0|",
      "EPRT |1|999.0.0.1|5000|",
      "EPRT |1|::1|5000|",
      "EPRT 1127.0.0.115000",
    ]
  ) {
    const reply = await c.command(argument);
    equal(reply.code, 501, `${argument} → ${reply.lines.join(" | ")}`);
  }
  await c.expect("NOOP", 200);
});

Deno.test("PORT/EPRT to another host or a privileged port: 504 (RFC 2577)", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  await c.expect("PORT 10,0,0,1,200,1", 504);
  await c.expect("PORT 127,0,0,2,200,1", 504);
  await c.expect("EPRT |1|10.0.0.1|51201|", 504);
  await c.expect("PORT 127,0,0,1,0,21", 504);
  await c.expect("PORT 127,0,0,1,3,255", 504); // 1023
  await c.expect("EPRT |1|127.0.0.1|80|", 504);
  // None of them set up a data connection.
  await c.expect("RETR a.txt", 425);
});

Deno.test("EPSV ALL: PASV, PORT and EPRT are refused (503), EPSV still works", async () => {
  await using t = startServer({ files: { "a.txt": "still works" } });
  await using c = await loginBinary(t.port);
  await c.expect("EPSV ALL", 200);
  await c.expect("PASV", 503);
  await c.expect("PORT 127,0,0,1,200,1", 503);
  await c.expect("EPRT |1|127.0.0.1|51201|", 503);
  equal(text(await c.download("RETR a.txt")), "still works");
  await c.expect("PASV", 503);
  // REIN ends EPSV ALL.
  await c.expect("REIN", 220);
  await c.login(USER, PASSWORD);
  await c.expect("PASV", 227);
});

Deno.test("PORT after PASV: the active endpoint is used, the passive one is closed", async () => {
  await using t = startServer({ files: { "a.txt": "active wins" } });
  await using c = await loginBinary(t.port);
  const reply = await c.expect("PASV", 227);
  await using active = new ActiveListener();
  await c.expect(`PORT ${active.portArgument}`, 200);
  // Nothing accepts on the old passive port any more.
  let refused = false;
  try {
    const conn = await Deno.connect(parsePasv(reply));
    refused = (await drain(conn, 5_000)).length === 0;
  } catch (error) {
    refused = error instanceof Deno.errors.ConnectionRefused;
  }
  ok(refused);
  await c.expect("RETR a.txt", 150);
  equal(text(await readAll(await active.accept())), "active wins");
  equal((await c.read()).code, 226);
});

// ---------------------------------------------------------------------------------------------
// ABOR and STAT during transfers
// ---------------------------------------------------------------------------------------------

Deno.test("ABOR during a large RETR: 426 then 226, and the session goes on", async () => {
  await using t = startServer({ files: { "big.bin": bigFile(50 * MiB), "small.txt": "small" } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  try {
    await c.expect("RETR big.bin", 150);
    // The test never reads `data`: the server is stuck on a full socket buffer.
    const abort = await c.command("ABOR");
    equal(abort.code, 426, abort.lines.join(" | "));
    equal((await c.read()).code, 226);
  } finally {
    closeQuietly(data);
  }
  await c.expect("NOOP", 200);
  equal(text(await c.download("RETR small.txt")), "small");
});

Deno.test("ABOR during an upload: 426 then 226; the session goes on", async () => {
  await using t = startServer();
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  try {
    await c.expect("STOR partial.bin", 150);
    let written = 0;
    const chunk = randomBytes(64 * 1024, 4);
    while (written < 256 * 1024) written += await data.write(chunk);
    const abort = await c.command("ABOR");
    equal(abort.code, 426, abort.lines.join(" | "));
    equal((await c.read()).code, 226);
  } finally {
    closeQuietly(data);
  }
  await c.expect("NOOP", 200);
  await c.upload("STOR whole.txt", utf8("whole"));
  equal(Deno.readTextFileSync(`${t.root}/whole.txt`), "whole");
});

Deno.test("ABOR while the server waits for the data connection: 426 then 226", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  await c.expect("EPSV", 229);
  await c.send("RETR a.txt"); // no 150 yet: the server waits for the data connection first
  equal((await c.command("ABOR")).code, 426);
  equal((await c.read()).code, 226);
  await c.expect("NOOP", 200);
  equal(text(await c.download("RETR a.txt")), "a");
});

Deno.test("ABOR with no transfer: 226", async () => {
  await using t = startServer();
  await using c = await loginBinary(t.port);
  deepEqual((await c.expect("ABOR", 226)).lines.length, 1);
  await c.expect("NOOP", 200);
});

Deno.test("ABOR after PASV cancels the arm", async () => {
  await using t = startServer({ files: { "a.txt": "a" } });
  await using c = await loginBinary(t.port);
  await c.expect("PASV", 227);
  await c.expect("ABOR", 226);
  await c.expect("RETR a.txt", 425);
});

Deno.test("STAT during a transfer: 213 with progress; the transfer completes", async () => {
  const big = bigFile(50 * MiB);
  await using t = startServer({ files: { "big.bin": big } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("RETR big.bin", 150);
  const stat = await c.command("STAT");
  equal(stat.code, 213, stat.lines.join(" | "));
  equal(stat.lines.length, 1);
  match(stat.text, /RETR \/big\.bin, \d+ bytes transferred/);
  const got = await drain(data, 30_000);
  equal(got.length, big.length);
  deepEqual(got, big);
  equal((await c.read()).code, 226);
});

Deno.test("a command other than ABOR/STAT during a transfer waits for it to finish", async () => {
  const payload = randomBytes(8 * MiB, 31);
  await using t = startServer({ files: { "f.bin": payload } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("RETR f.bin", 150);
  await c.send("NOOP");
  const got = await drain(data, 30_000);
  // The 226 comes first, then NOOP's 200: replies stay in order.
  equal((await c.read()).code, 226);
  equal((await c.read()).code, 200);
  deepEqual(got, payload);
});

Deno.test("ABOR preceded by Telnet IP and Synch (RFC 959 §4.1.3): 426 then 226", async () => {
  await using t = startServer({ files: { "big.bin": bigFile(50 * MiB) } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  try {
    await c.expect("RETR big.bin", 150);
    await c.sendRaw(new Uint8Array([0xff, 0xf4, 0xff, 0xf2, ...utf8("ABOR\r\n")]));
    equal((await c.read()).code, 426);
    equal((await c.read()).code, 226);
  } finally {
    closeQuietly(data);
  }
  await c.expect("NOOP", 200);
});

Deno.test("a client that closes the data connection early gets 426", async () => {
  await using t = startServer({ files: { "big.bin": bigFile(50 * MiB) } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("RETR big.bin", 150);
  const buffer = new Uint8Array(64 * 1024);
  ok((await data.read(buffer)) !== null);
  data.close();
  equal((await c.read()).code, 426);
  await c.expect("NOOP", 200);
});

Deno.test("QUIT during a transfer: the transfer finishes (226), then 221", async () => {
  const payload = randomBytes(4 * MiB, 41);
  await using t = startServer({ files: { "f.bin": payload } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  await c.expect("RETR f.bin", 150);
  await c.send("QUIT");
  deepEqual(await drain(data, 30_000), payload);
  equal((await c.read()).code, 226);
  equal((await c.read()).code, 221);
  ok(await c.closedByServer(5_000));
});

Deno.test("passiveAddress: 227 advertises it; the listener is on the control address", async () => {
  await using t = startServer({ passiveAddress: "10.1.2.3", files: { "a.txt": "nat" } });
  await using c = await loginBinary(t.port);
  const reply = await c.expect("PASV", 227);
  const { host, port } = parsePasv(reply);
  equal(host, "10.1.2.3");
  const data = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.expect("RETR a.txt", 150);
  equal(text(await drain(data)), "nat");
  equal((await c.read()).code, 226);
});

Deno.test("passivePorts: PASV uses the range; when it is exhausted, 425", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const free = probe.addr.port;
  probe.close();
  await using t = startServer({ passivePorts: [free, free], files: { "a.txt": "a" } });
  await using c1 = await loginBinary(t.port);
  await using c2 = await loginBinary(t.port);
  equal(parsePasv(await c1.expect("PASV", 227)).port, free);
  await c2.expect("PASV", 425);
  await c2.expect("EPSV", 425);
  equal(parseEpsv(await c1.expect("EPSV", 229)), free);
});

Deno.test("allowActive: false refuses PORT and EPRT with 502", async () => {
  await using t = startServer({ allowActive: false });
  await using c = await loginBinary(t.port);
  await c.expect("PORT 127,0,0,1,200,1", 502);
  await c.expect("EPRT |1|127.0.0.1|51201|", 502);
  await c.expect("EPSV", 229);
});

Deno.test("EPRT accepts any printable delimiter (RFC 2428 §2)", async () => {
  await using t = startServer({ files: { "a.txt": "delimited" } });
  await using c = await loginBinary(t.port);
  await using active = new ActiveListener();
  await c.expect(`EPRT !1!127.0.0.1!${active.port}!`, 200);
  await c.expect("RETR a.txt", 150);
  equal(text(await readAll(await active.accept())), "delimited");
  equal((await c.read()).code, 226);
  await c.expect(`EPRT 1127.0.0.11${active.port}1`, 501); // a digit cannot delimit
});

Deno.test("a transfer that stalls past stallTimeoutMs is aborted with 426", async () => {
  await using t = startServer({ stallTimeoutMs: 300, files: { "big.bin": bigFile(50 * MiB) } });
  await using c = await loginBinary(t.port);
  const data = await c.epsv();
  try {
    await c.expect("RETR big.bin", 150);
    // Never read: the server's writes stop moving bytes.
    equal((await c.read(10_000)).code, 426);
  } finally {
    closeQuietly(data);
  }
  await c.expect("NOOP", 200);
});
