/**
 * MODE B and C through the server, driven by the independent RFC 959 client
 * (`tests/helpers/rfc959_client.py`): a data connection killed mid-transfer and resumed with
 * `REST <marker>` both ways (RFC 959 §3.5), 100 files each way over one kept data connection
 * (§3.4.2: the connection stays open after an EOF block), and hostile framing (a count past
 * the end of the stream, unknown descriptor bits, an endless filler run, an escape cut off at
 * the end), which must fail the one upload with 426 or 451, leave the old file as it was under
 * `--atomic-uploads`, and leave the server serving.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { assertBytes, python } from "../helpers/clients.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

const CLIENT = Deno.readTextFileSync(new URL("../helpers/rfc959_client.py", import.meta.url));
const MARKER_INTERVAL = 256 * 1024;

/** Text whose lines are stored with LF and sent with CRLF (TYPE A): offsets differ. */
function textFile(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `line ${i} ${"x".repeat(i % 50)}`).join("\n") +
    "\n";
}

Deno.test({
  name: "MODE B RETR: a data connection killed past a restart marker resumes with REST <marker>",
  ignore: needs("python3"),
  async fn() {
    const binary = randomBytes(3 * 1024 * 1024 + 77, 11);
    const text = textFile(60_000);
    await using t = startServer({
      files: { "big.bin": binary, "big.txt": text },
      restartMarkerIntervalBytes: MARKER_INTERVAL,
    });
    const { result } = await python<Record<string, unknown>[]>(
      t,
      CLIENT + String.raw`
out = []
for rep, name in (("I", "big.bin"), ("A", "big.txt")):
    ftp = connect(debug=0)
    ftp.voidcmd("TYPE " + rep); ftp.voidcmd("MODE B")
    sock = open_data(ftp); reader = Reader(sock)
    ftp.sendcmd("RETR " + name)
    # Read blocks (RFC 959 §3.4.2) until two markers have passed and 100 kB more came.
    data, markers = bytearray(), []
    while not (len(markers) >= 2 and len(data) > markers[1][1] + 100000):
        descriptor, count = struct.unpack(">BH", reader.read(3))
        body = reader.read(count)
        if descriptor & MARKER:
            markers.append((body.decode(), len(data)))
        else:
            data += body
        assert not descriptor & EOF, "the whole file came before the kill"
    # The line goes down: close with unread data (an RST), no EOF block read.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    killed = ftp.getline()
    text, at = markers[1]
    sock = open_data(ftp); reader = Reader(sock)
    rest = ftp.sendcmd("REST " + text)
    ftp.sendcmd("RETR " + name)
    tail, _ = block_decode(reader, False)
    final = ftp.getline()
    sock.close(); ftp.quit()
    with open(os.path.join(${JSON.stringify(t.root)}, name), "rb") as f:
        stored = f.read()
    out.append({"rep": rep, "killed": killed, "rest": rest, "final": final, "marker": text,
                "at": at, "exact": bytes(data[:at]) + tail == transfer_form(stored, rep, "F"),
                "received": len(data)})
result(out)
`,
    );
    equal(result.length, 2);
    for (const run of result) {
      // RFC 959 §4.2: 426, the data connection closed and the transfer was aborted.
      match(String(run.killed), /^426 /, `${run.rep}: the killed RETR`);
      match(String(run.rest), /^350 /);
      match(String(run.final), /^250 /);
      equal(run.exact, true, `TYPE ${run.rep}: the resumed download is byte-exact`);
    }
    // TYPE I: the marker text is the offset in the data; TYPE A: the stored offset (LF, not CRLF).
    equal(Number(result[0].marker), result[0].at);
    equal(Number(result[1].marker) < (result[1].at as number), true);
  },
});

Deno.test({
  name: "MODE B STOR: killed after 110 MARK, REST <mark> + STOR resumes, the file is byte-exact",
  ignore: needs("python3"),
  async fn() {
    await using t = startServer();
    const binary = randomBytes(900_000, 5);
    const text = textFile(20_000);
    Deno.writeFileSync(`${t.root}/source.bin`, binary);
    Deno.writeTextFileSync(`${t.root}/source.txt`, text);
    const { result } = await python<Record<string, unknown>[]>(
      t,
      CLIENT + String.raw`
out = []
root = ${JSON.stringify(t.root)}
for rep, source, target in (("I", "source.bin", "up.bin"), ("A", "source.txt", "up.txt")):
    with open(os.path.join(root, source), "rb") as f:
        stored = f.read()
    wire = transfer_form(stored, rep, "F")
    # Marker points at line ends for text (a clean cut); the sender keeps its own offsets.
    cuts = [wire.index(b"\n", n) + 1 if rep == "A" else n for n in (150000, 300000, 450000)]
    ftp = connect(debug=0)
    ftp.voidcmd("TYPE " + rep); ftp.voidcmd("MODE B")
    sock = open_data(ftp)
    ftp.sendcmd("STOR " + target)
    marks, sent = [], 0
    for k, cut in enumerate(cuts):
        sock.sendall(block(0, wire[sent:cut][:65535]) + b"".join(
            block(0, wire[i:min(i + 65535, cut)]) for i in range(sent + 65535, cut, 65535)))
        sock.sendall(block(MARKER, ("m%d" % k).encode()))
        marks.append(ftp.getline())
        sent = cut
    # 50 kB past the last marker, then the line goes down without an EOF block.
    sock.sendall(block(0, wire[sent:sent + 50000]))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    killed = ftp.getline()
    # Resume from the second mark: the receiver's marker (RFC 959 §3.5) names where to go on.
    server_at = int(marks[1].split("= ")[1])
    sock = open_data(ftp)
    rest = ftp.sendcmd("REST %d" % server_at)
    ftp.sendcmd("STOR " + target)
    sock.sendall(block_encode(wire[cuts[1]:], random.Random(1)))
    final = ftp.getline()
    sock.close(); ftp.quit()
    with open(os.path.join(root, target), "rb") as f:
        on_disk = f.read()
    out.append({"rep": rep, "marks": marks, "killed": killed, "rest": rest, "final": final,
                "exact": on_disk == stored, "size": len(on_disk), "expected": len(stored),
                "stored_at_mark": len(wire[:cuts[1]].replace(b"\r\n", b"\n")) if rep == "A" else cuts[1]})
result(out)
`,
    );
    for (const run of result) {
      const marks = run.marks as string[];
      equal(marks.length, 3);
      marks.forEach((mark, k) => match(mark, new RegExp(`^110 MARK m${k} = \\d+$`)));
      // The receiver's marker is a stored offset: for TYPE A it counts LF line ends.
      equal(Number(marks[1].split("= ")[1]), run.stored_at_mark, `TYPE ${run.rep}: mark offset`);
      match(String(run.killed), /^426 /, `TYPE ${run.rep}: the killed STOR`);
      match(String(run.rest), /^350 /);
      match(String(run.final), /^250 /);
      equal(run.exact, true, `TYPE ${run.rep}: ${run.size} B on disk, expected ${run.expected}`);
    }
  },
});

Deno.test({
  name: "MODE B: 100 RETR and 100 STOR over one kept data connection (one PASV), each 250",
  ignore: needs("python3"),
  async fn() {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 100; i++) files[`in/f${i}.bin`] = randomBytes((i * 997) % 20_000, i + 1);
    await using t = startServer({ files });
    const { result } = await python<{ replies: string[]; digests: string[]; pasv: number }>(
      t,
      CLIENT + String.raw`
import hashlib
ftp = connect(debug=0)
ftp.voidcmd("TYPE I"); ftp.voidcmd("MODE B")
host, port = ftplib.parse227(ftp.sendcmd("PASV"))
sock = socket.create_connection((host, port), timeout=20); reader = Reader(sock)
replies, digests = [], []
received = []
for i in range(100):
    ftp.sendcmd("RETR in/f%d.bin" % i)
    data, _ = block_decode(reader, False)
    replies.append(ftp.getline())
    received.append(data)
    digests.append(hashlib.sha256(data).hexdigest())
rng = random.Random(3)
for i in range(100):
    ftp.sendcmd("STOR out/f%d.bin" % i) if i else (ftp.mkd("out"), ftp.sendcmd("STOR out/f0.bin"))
    # Send each file back reversed, so that a wrong pairing shows.
    sock.sendall(block_encode(received[i][::-1], rng, 4096))
    replies.append(ftp.getline())
sock.close(); ftp.quit()
result({"replies": replies, "digests": digests, "pasv": 1})
`,
    );
    equal(result.replies.length, 200);
    deepEqual(result.replies.filter((reply) => !reply.startsWith("250 ")), []);
    for (let i = 0; i < 100; i++) {
      const original = files[`in/f${i}.bin`];
      const digest = Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", original.slice())),
      ).map((b) => b.toString(16).padStart(2, "0")).join("");
      equal(result.digests[i], digest, `RETR f${i}`);
      assertBytes(
        Deno.readFileSync(`${t.root}/out/f${i}.bin`),
        original.toReversed(),
        `STOR f${i}`,
      );
    }
  },
});

Deno.test({
  name: "hostile MODE B/C/STRU R framing: 426 or 451 for that upload, old file kept, server serves",
  ignore: needs("python3"),
  async fn() {
    const old = randomBytes(10_000, 9);
    const download = randomBytes(2 * 1024 * 1024, 4);
    await using t = startServer({ atomicUploads: true, files: { "victim.bin": old } });
    Deno.writeFileSync(`${t.root}/download.bin`, download);
    const rssBefore = Deno.memoryUsage().rss;
    const { result } = await python<{
      cases: Record<string, { reply: string; closed: boolean; after: string }>;
      downloads: string[];
    }>(
      t,
      CLIENT + String.raw`
import threading, time
cases = {}
def hostile(label, rep, stru, mode, payload, close):
    ftp = connect(debug=0)
    ftp.voidcmd("TYPE " + rep); ftp.voidcmd("STRU " + stru); ftp.voidcmd("MODE " + mode)
    sock = open_data(ftp)
    ftp.sendcmd("STOR victim.bin")
    try:
        sock.sendall(payload)
    except OSError:
        pass  # the server gave up first
    if close:
        sock.close()
    reply = ftp.getline()
    # The server must not keep a connection whose framing it lost: it closes it.
    closed = True
    if not close:
        sock.settimeout(5)
        try:
            closed = sock.recv(10) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        sock.close()
    # The session goes on: a new data connection, a good upload.
    ftp.voidcmd("TYPE I"); ftp.voidcmd("STRU F"); ftp.voidcmd("MODE S")
    s = open_data(ftp); ftp.sendcmd("STOR ok-%s.bin" % label); s.sendall(b"ok"); s.close()
    after = ftp.voidresp()
    ftp.quit()
    cases[label] = {"reply": reply, "closed": closed, "after": after}

# Other sessions download meanwhile.
downloads = []
def downloader():
    for _ in range(6):
        f = connect(debug=0)
        bio = io.BytesIO()
        f.retrbinary("RETR download.bin", bio.write)
        downloads.append(hashlib.sha256(bio.getvalue()).hexdigest())
        f.quit()
        time.sleep(0.1)
import hashlib
thread = threading.Thread(target=downloader)
thread.start()
# A count larger than the rest of the stream, then the connection closes.
hostile("count-past-end", "I", "F", "B", struct.pack(">BH", 0, 50000) + b"a" * 1000, True)
# Descriptor bits RFC 959 §3.4.2 does not define (only 128, 64, 32, 16 are).
hostile("descriptor-0x01", "I", "F", "B", block(0, b"fine") + block(0x01, b"x" * 10), False)
hostile("descriptor-0x0f", "I", "F", "B", block(0x0F | EOF, b""), False)
# An endless filler run (MODE C: 63 spaces per byte) that never reaches EOF: 1 MiB → 63 MiB.
hostile("endless-filler", "A", "F", "C", b"\xff" * (1 << 20), True)
# An escape cut off at the end: MODE C's 0x00, and STRU R's 0xFF in stream mode.
hostile("mode-c-escape-at-end", "I", "F", "C", b"\x03abc\x00", True)
hostile("stru-r-escape-at-end", "I", "R", "S", b"abc\xff\x01de\xff", True)
thread.join()
result({"cases": cases, "downloads": downloads})
`,
    );
    const rssGrowth = Deno.memoryUsage().rss - rssBefore;
    const digest = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", download.slice())),
    )
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    deepEqual(result.downloads, Array(6).fill(digest), "other sessions were served meanwhile");
    const { cases } = result;
    // A stream that ends before its end of file is a closed connection: 426 (RFC 959 §4.2,
    // "Connection closed; transfer aborted"). Framing the RFC does not define is data the
    // server cannot process: 451 ("local error in processing"); both are STOR replies of
    // RFC 959 §5.4.
    match(cases["count-past-end"].reply, /^426 /);
    match(cases["descriptor-0x01"].reply, /^451 /);
    match(cases["descriptor-0x0f"].reply, /^451 /);
    match(cases["endless-filler"].reply, /^426 /);
    match(cases["mode-c-escape-at-end"].reply, /^426 /);
    match(cases["stru-r-escape-at-end"].reply, /^426 /);
    for (const [label, run] of Object.entries(cases)) {
      equal(run.closed, true, `${label}: the data connection is closed`);
      match(run.after, /^226 /, `${label}: the session goes on`);
      equal(Deno.readTextFileSync(`${t.root}/ok-${label}.bin`), "ok");
    }
    // --atomic-uploads: every failed upload left the old file and no temporary file.
    assertBytes(Deno.readFileSync(`${t.root}/victim.bin`), old, "victim.bin");
    const names = [...Deno.readDirSync(t.root)].map((entry) => entry.name).sort();
    deepEqual(
      names,
      ["download.bin", ...Object.keys(cases).map((l) => `ok-${l}.bin`).sort(), "victim.bin"].sort(),
    );
    // 63 MiB of filler went through without being held in memory.
    equal(rssGrowth < 48 * 1024 * 1024, true, `RSS grew by ${rssGrowth} bytes`);
  },
});
