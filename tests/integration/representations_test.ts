/**
 * RFC 959's representations and modes on the wire, checked by an independent client-side
 * implementation in Python (its own block, compressed and record parsing, the stdlib's cp037
 * codec and zlib): TYPE E, TYPE A C (ASA), STRU R, MODE B with restart markers, `110 MARK`
 * replies and a kept data connection, MODE C, MODE Z with OPTS MODE Z LEVEL, and REST in each.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import type { TransferEvent } from "../../src/events.ts";
import { python } from "../helpers/clients.ts";
import { waitFor } from "../helpers/protocol_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

// Only characters code page 037 has (it is Latin-1's repertoire): no SUB in the round trip.
const TEXT = Array.from({ length: 400 }, (_, i) => `Zeile ${i}: café, naïve ¬ ${"=".repeat(i % 9)}`)
  .join("\n") + "\n";
const BINARY = randomBytes(3 * 1024 * 1024 + 123, 7);

/** The Python side: connection helpers and the codecs, written from RFC 959 alone. */
const CLIENT = String.raw`
import zlib
def open_data(ftp):
    resp = ftp.sendcmd("EPSV")
    port = int(resp.split("|||")[1].split("|")[0])
    return socket.create_connection((HOST, port), timeout=10)
def read_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError("data connection closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out
def recv_all(sock):
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk
def read_blocks(sock):
    """MODE B (RFC 959 3.4.2): 3-byte headers; returns data, markers [(text, offset)], records."""
    data, markers, eors = b"", [], []
    while True:
        header = read_exact(sock, 3)
        descriptor, count = header[0], (header[1] << 8) | header[2]
        body = read_exact(sock, count)
        if descriptor & 16:
            markers.append((body.decode(), len(data)))
        else:
            data += body
        if descriptor & 128:
            eors.append(len(data))
        if descriptor & 64:
            return data, markers, eors
def block(descriptor, body):
    return bytes([descriptor, len(body) >> 8, len(body) & 255]) + body
def read_compressed(sock, filler):
    """MODE C (RFC 959 3.4.3): strings, replicated bytes, filler; escape 0 + descriptor."""
    data = b""
    while True:
        header = read_exact(sock, 1)[0]
        if header == 0:
            descriptor = read_exact(sock, 1)[0]
            if descriptor & 16:
                n = read_exact(sock, 1)[0]
                read_exact(sock, n & 127)
            if descriptor & 64:
                return data
        elif header < 128:
            data += read_exact(sock, header)
        elif header < 192:
            data += read_exact(sock, 1) * (header & 63)
        else:
            data += bytes([filler]) * (header & 63)
def compress_mode_c(data):
    out, i = b"", 0
    while i < len(data):
        run = 1
        while i + run < len(data) and data[i + run] == data[i] and run < 63:
            run += 1
        if run >= 4:
            out += bytes([128 | run, data[i]])
            i += run
        else:
            piece = data[i:i + 127]
            out += bytes([len(piece)]) + piece
            i += len(piece)
    return out + b"\x00\x40"
def final(ftp):
    return ftp.getline()
`;

function run<T>(t: Parameters<typeof python>[0], body: string) {
  return python<T>(t, CLIENT + body);
}

Deno.test({
  name: "TYPE E: text goes out as EBCDIC (cp037, NL line ends) and comes back as UTF-8",
  ignore: needs("python3"),
  async fn() {
    await using t = startServer({ files: { "text.txt": TEXT } });
    const { result } = await run<{ same: boolean; listing: boolean }>(
      t,
      `
ftp = connect(debug=0)
ftp.voidcmd("TYPE E")
sock = open_data(ftp)
ftp.sendcmd("RETR text.txt")
wire = recv_all(sock); sock.close(); ftp.voidresp()
text = ${JSON.stringify(TEXT)}
same = wire == text.replace("\\n", "\\x85").encode("cp037").replace(b"\\x25", b"\\x15")
sock = open_data(ftp)
ftp.sendcmd("STOR back.txt")
sock.sendall(text.replace("\\n", "\\x85").encode("cp037").replace(b"\\x25", b"\\x15")); sock.close()
ftp.voidresp()
sock = open_data(ftp)
ftp.sendcmd("NLST")
names = recv_all(sock).decode("cp037"); sock.close(); ftp.voidresp()
ftp.quit()
result({"same": same, "listing": "text.txt\\x85" in names})
`,
    );
    equal(result.same, true, "RETR in TYPE E is cp037 with NL line ends");
    equal(Deno.readTextFileSync(`${t.root}/back.txt`), TEXT, "STOR in TYPE E stores UTF-8 text");
    equal(result.listing, true, "NLST in TYPE E is EBCDIC too (RFC 959 §4.1.3)");
  },
});

Deno.test({
  name: "TYPE A C: ASA carriage control both ways",
  ignore: needs("python3"),
  async fn() {
    await using t = startServer({ files: { "report.txt": "TITLE\n\nline 2\n\fpage 2\n" } });
    const { result } = await run<{ wire: string }>(
      t,
      `
ftp = connect(debug=0)
ftp.voidcmd("TYPE A C")
sock = open_data(ftp)
ftp.sendcmd("RETR report.txt")
wire = recv_all(sock).decode(); sock.close(); ftp.voidresp()
sock = open_data(ftp)
ftp.sendcmd("STOR asa.txt")
sock.sendall(b" one\\r\\n0two\\r\\n1three\\r\\n"); sock.close(); ftp.voidresp()
ftp.quit()
result({"wire": wire})
`,
    );
    // A blank line before "line 2" is ASA "0"; a form feed is "1".
    equal(result.wire, " TITLE\r\n0line 2\r\n1page 2\r\n");
    equal(Deno.readTextFileSync(`${t.root}/asa.txt`), "one\n\ntwo\n\fthree\n");
  },
});

Deno.test({
  name: "STRU R in stream mode: lines are records (0xFF 0x01), the file ends with 0xFF 0x02",
  ignore: needs("python3"),
  async fn() {
    await using t = startServer({ files: { "r.txt": "one\ntwo\n" } });
    const { result } = await run<{ wire: number[] }>(
      t,
      `
ftp = connect(debug=0)
ftp.voidcmd("TYPE A"); ftp.voidcmd("STRU R")
sock = open_data(ftp)
ftp.sendcmd("RETR r.txt")
wire = recv_all(sock); sock.close(); ftp.voidresp()
sock = open_data(ftp)
ftp.sendcmd("STOR back.txt")
sock.sendall(b"alpha\\xff\\x01beta\\xff\\x01\\xff\\x02"); sock.close(); ftp.voidresp()
ftp.quit()
result({"wire": list(wire)})
`,
    );
    // EOR after each record, then EOF (RFC 959 §3.4.1 allows 0xFF 0x03 for both, too).
    const bytes = (text: string) => [...new TextEncoder().encode(text)];
    deepEqual(result.wire, [...bytes("one"), 0xff, 1, ...bytes("two"), 0xff, 1, 0xff, 2]);
    equal(Deno.readTextFileSync(`${t.root}/back.txt`), "alpha\nbeta\n");
  },
});

Deno.test({
  name: "MODE B: restart markers, 250 on a kept connection, two files on it, REST from a marker",
  ignore: needs("python3"),
  async fn() {
    await using t = startServer({
      files: { "big.bin": BINARY, "small.txt": "small\n" },
      restartMarkerIntervalBytes: 1 << 20,
    });
    const { result } = await run<Record<string, unknown>>(
      t,
      `
ftp = connect(debug=0)
ftp.voidcmd("TYPE I"); ftp.voidcmd("MODE B")
sock = open_data(ftp)
opening = ftp.sendcmd("RETR big.bin")
data, markers, _ = read_blocks(sock)
first = final(ftp)
# The same data connection, no new EPSV: the next file.
ftp.sendcmd("RETR small.txt")
small, _, _ = read_blocks(sock)
second = final(ftp)
# Resume from the second marker: its text is the stored offset.
text, at = markers[1]
ftp.sendcmd("REST " + text)
ftp.sendcmd("RETR big.bin")
tail, _, _ = read_blocks(sock)
third = final(ftp)
sock.close()
ftp.quit()
result({"size": len(data),
        "markers": markers, "first": first, "second": second, "small": small.decode(),
        "resumed": len(tail), "at": at, "third": third, "digest": __import__("hashlib").sha256(data).hexdigest(),
        "tail_ok": data[at:] == tail})
`,
    );
    equal(result.size, BINARY.length);
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", BINARY.slice())))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    equal(result.digest, digest, "the blocks carry the file byte-exact");
    const markers = result.markers as [string, number][];
    equal(markers.length, 3, "a marker about every MiB of a 3 MiB file");
    for (const [text, at] of markers) equal(Number(text), at, "a marker's text is its offset");
    match(String(result.first), /^250 /);
    match(String(result.second), /^250 /);
    equal(result.small, "small\n");
    equal(result.tail_ok, true, "REST from a marker resumes byte-exact");
    match(String(result.third), /^250 /);
  },
});

Deno.test({
  name: "MODE B uploads: 110 MARK for each client marker, then REST at the mark resumes",
  ignore: needs("python3"),
  async fn() {
    await using t = startServer();
    const payload = new Uint8Array(200_000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
    const { result } = await run<{ marks: string[]; resumed: string }>(
      t,
      `
payload = bytes(((i * 7 + (i >> 8)) & 255) for i in range(200000))
ftp = connect(debug=0)
ftp.voidcmd("TYPE I"); ftp.voidcmd("MODE B")
sock = open_data(ftp)
ftp.sendcmd("STOR up.bin")
marks = []
sock.sendall(block(0, payload[:60000]) + block(16, b"r1"))
marks.append(ftp.getline())
sock.sendall(block(0, payload[60000:120000]) + block(16, b"r2"))
marks.append(ftp.getline())
# The client stops here (a line went down); the server has what it marked.
sock.close()
ftp.getline()
stored_at = int(marks[-1].split("= ")[1])
sock = open_data(ftp)
ftp.sendcmd("REST %d" % stored_at)
ftp.sendcmd("STOR up.bin")
rest = payload[stored_at:]
pieces = [rest[i:i + 60000] for i in range(0, len(rest), 60000)]
sock.sendall(b"".join(block(64 if i == len(pieces) - 1 else 0, p) for i, p in enumerate(pieces)))
resumed = final(ftp)
sock.close()
ftp.quit()
result({"marks": marks, "resumed": resumed})
`,
    );
    deepEqual(result.marks, ["110 MARK r1 = 60000", "110 MARK r2 = 120000"]);
    match(result.resumed, /^250 /);
    deepEqual(Deno.readFileSync(`${t.root}/up.bin`), payload);
  },
});

Deno.test({
  name: "MODE C: runs are compressed on the way out and expanded on the way in",
  ignore: needs("python3"),
  async fn() {
    const padded = Array.from({ length: 200 }, (_, i) => `record ${i}`.padEnd(80, " ")).join("\n") +
      "\n";
    await using t = startServer({ files: { "padded.txt": padded } });
    const { result } = await run<{ same: boolean }>(
      t,
      `
text = ${JSON.stringify(padded)}.replace("\\n", "\\r\\n").encode()
ftp = connect(debug=0)
ftp.voidcmd("TYPE A"); ftp.voidcmd("MODE C")
sock = open_data(ftp)
ftp.sendcmd("RETR padded.txt")
data = read_compressed(sock, 0x20)
final(ftp)
ftp.sendcmd("STOR back.txt")
sock.sendall(compress_mode_c(text))
final(ftp)
sock.close()
ftp.quit()
result({"same": data == text})
`,
    );
    equal(result.same, true, "MODE C decodes to the CRLF text");
    equal(Deno.readTextFileSync(`${t.root}/back.txt`), padded);
  },
});

Deno.test({
  name: "MODE Z: zlib both ways, OPTS MODE Z LEVEL, REST in file bytes, listings compressed",
  ignore: needs("python3"),
  async fn() {
    const text = "compressible ".repeat(100_000);
    await using t = startServer({ files: { "z.txt": text }, modeZ: true });
    const { result } = await run<Record<string, unknown>>(
      t,
      `
text = b"compressible " * 100000
ftp = connect(debug=0)
feat = ftp.sendcmd("FEAT")
ftp.voidcmd("TYPE I"); ftp.voidcmd("MODE Z")
level = ftp.sendcmd("OPTS MODE Z LEVEL 9")
sock = open_data(ftp)
ftp.sendcmd("RETR z.txt")
wire = recv_all(sock); sock.close(); ftp.voidresp()
sock = open_data(ftp)
ftp.sendcmd("REST 1000")
ftp.sendcmd("RETR z.txt")
tail = zlib.decompress(recv_all(sock)); sock.close(); ftp.voidresp()
sock = open_data(ftp)
ftp.sendcmd("STOR up.txt")
sock.sendall(zlib.compress(b"uploaded " * 1000, 6)); sock.close(); ftp.voidresp()
sock = open_data(ftp)
ftp.sendcmd("NLST")
names = zlib.decompress(recv_all(sock)).decode(); sock.close(); ftp.voidresp()
ftp.quit()
result({"feat": "MODE Z" in feat, "level": level, "same": zlib.decompress(wire) == text,
        "wire": len(wire), "tail": tail == text[1000:], "names": names})
`,
    );
    equal(result.feat, true, "FEAT advertises MODE Z");
    match(String(result.level), /^200 /);
    equal(result.same, true);
    equal((result.wire as number) < text.length / 50, true, `compressed to ${result.wire} bytes`);
    equal(result.tail, true, "REST counts file bytes in MODE Z");
    equal(Deno.readTextFileSync(`${t.root}/up.txt`), "uploaded ".repeat(1000));
    match(String(result.names), /z\.txt/);
  },
});

Deno.test({
  name: "MODE Z is off unless enabled: FEAT does not offer it and lftp transfers uncompressed",
  ignore: needs("lftp"),
  async fn() {
    await using t = startServer({ files: { "a.txt": "x".repeat(5000) } });
    const transfers: number[] = [];
    t.server.events.on((event) => event.type === "transfer" && transfers.push(event.bytes));
    const { lftp, localDir } = await import("../helpers/clients.ts");
    await using local = localDir();
    const output = await lftp(t, ["get a.txt"], { cwd: local.path });
    equal(output.code, 0, output.stderr);
    equal(Deno.readTextFileSync(`${local.path}/a.txt`), "x".repeat(5000));
    deepEqual(transfers, [5000]);
  },
});

Deno.test("TYPE E: characters without an EBCDIC code go as SUB, and the transfer event counts them", async () => {
  await using t = startServer({ files: { "kana.txt": "A日本B\n" } });
  const events: TransferEvent[] = [];
  t.server.events.on((event) => {
    if (event.type === "transfer") events.push(event);
  });
  await using c = await RawClient.connect(t.port);
  await c.login(t.user, t.password);
  await c.expect("TYPE E", 200);
  const bytes = await c.download("RETR kana.txt");
  // cp037: A = 0xC1, SUB = 0x3F, B = 0xC2, NL = 0x15.
  deepEqual([...bytes], [0xc1, 0x3f, 0x3f, 0xc2, 0x15]);
  await waitFor(() => events.length === 1, "the transfer event");
  equal(events[0].substituted, 2);
  await c.expect("TYPE I", 200);
  await c.download("RETR kana.txt");
  await waitFor(() => events.length === 2, "the second transfer event");
  equal(events[1].substituted, undefined, "none in binary");
});
