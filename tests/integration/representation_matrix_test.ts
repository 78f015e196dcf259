/**
 * Every TYPE × STRU × MODE that ftpgate accepts round-trips over real sockets: for each one an
 * independent client (`tests/helpers/rfc959_client.py`, written from RFC 959 §3.1 and §3.4 and
 * sharing nothing with the server's codecs) STORs a 0 B, a 1 B, a ~1 MiB random and a
 * 3,000-line text file in that combination, checks that the file on disk is the canonical form
 * the README documents (UTF-8 or bytes with LF line ends, the printed layout of ASA text, binary
 * records behind an RDW), RETRs it and checks that it comes back as it was sent.
 *
 * The accepted set (src/commands/parameters.ts, src/data/mode/pipeline.ts): TYPE A N, A T, A C,
 * E N, E T, E C, I and L 8; STRU F and R; MODE S, B, C and Z (with `--mode-z`). STRU P, TYPE L
 * with another byte size, and a format control on TYPE I are refused before any transfer.
 *
 * One Python process per MODE × STRU (eight TYPEs, 36 files each), one server per test.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { assertBytes, python } from "../helpers/clients.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

const CLIENT = Deno.readTextFileSync(new URL("../helpers/rfc959_client.py", import.meta.url));

const TYPES = ["A N", "A T", "A C", "E N", "E T", "E C", "I", "L 8"];

/** The test files of one TYPE × STRU, in their stored (canonical) form. */
const FILES = String.raw`
def text_lines():
    """3,000 lines of Latin-1 text (EBCDIC has all of it): blank runs, form feeds, an overprint."""
    lines = []
    for i in range(3000):
        if i % 37 == 5:
            lines.append("")
        elif i % 500 == 7:
            lines.append("\f%05d new page" % i)
        elif i == 1000:
            lines.append("bold\rbold")
        elif i % 211 == 3:
            lines.extend(["", "", ""])
        elif i % 2:
            # A card image: padded with spaces (MODE C sends them as filler).
            lines.append(("%05d café naïve ¬ ½" % i).ljust(80))
        else:
            lines.append("%05d café naïve ¬ ½ %s" % (i, "=" * (i % 70)))
    return [line.encode("utf-8") for line in lines]

def random_text(rng, code):
    """About 1 MiB of random text lines (10 % blank); ASCII lines are any bytes but CR and LF,
    EBCDIC lines any code but NL (CR and form feed included), stored as UTF-8."""
    out, size = [], 0
    cr_lf = bytes.maketrans(b"\r\n", b"ab")
    while size < (1 << 20):
        n = 0 if rng.random() < 0.1 else rng.randint(1, 300)
        line = rng.randbytes(n)
        if code == "E":
            line = from_ebcdic(line.replace(b"\x15", b"\x16"))
        else:
            line = line.translate(cr_lf)
        out.append(line)
        size += n + 1
    return b"\n".join(out) + b"\n"

def random_records(rng):
    records, size = [], 0
    while size < (1 << 20):
        n = 0 if rng.random() < 0.05 else rng.randint(1, 3000)
        record = rng.randbytes(n)
        if n > 10:
            record = record[:5] + b"\xff\xff" + record[7:]  # escapes in every record
        records.append(record)
        size += n + 4
    return records

def files_for(rep, stru, rng):
    code = rep[0]
    if code in "IL":
        if stru == "R":
            return [("empty", b""), ("one", rdw([b"\xff"])), ("random", rdw(random_records(rng))),
                    ("text", rdw(text_lines()))]
        # Runs of zeros (MODE C filler for binary) and of another byte (replicated) amid noise.
        noise = rng.randbytes((1 << 20) + 17)
        noise = noise[:1000] + bytes(300) + noise[1300:5000] + b"\xff" * 200 + noise[5200:]
        return [("empty", b""), ("one", b"\xff"), ("random", noise),
                ("text", b"\n".join(text_lines()) + b"\n")]
    return [("empty", b""), ("one", b"\n"), ("one-unterminated", b"x"),
            ("random", random_text(rng, code)), ("text", b"\n".join(text_lines()) + b"\n")]
`;

/** Runs every TYPE in one MODE × STRU, both ways, on one session. */
const MATRIX = String.raw`
def run_matrix(mode, stru, types, root, seed):
    rng = random.Random(seed)
    ftp = connect(debug=0)
    ftp.voidcmd("MODE " + mode)
    ftp.voidcmd("STRU " + stru)
    kept = mode in "BC"
    sock = reader = None
    if kept:
        sock = open_data(ftp)
        reader = Reader(sock)
    failures, cases, markers_seen = [], 0, 0

    def data():
        if kept:
            return sock, reader
        s = open_data(ftp)
        return s, Reader(s)

    for rep in types:
        ftp.voidcmd("TYPE " + rep)
        filler = filler_of(rep)
        for label, stored in files_for(rep, stru, rng):
            name = "%s-%s-%s-%s" % (rep.replace(" ", ""), stru, mode, label)
            what = "TYPE %s STRU %s MODE %s %s (%d B)" % (rep, stru, mode, label, len(stored))
            form = transfer_form(stored, rep, stru)
            wire = frame(form, mode, filler, rng)
            s, r = data()
            opening = ftp.sendcmd("STOR " + name)
            s.sendall(wire)
            if not kept:
                s.close()
            reply = ftp.getresp() if kept else ftp.voidresp()
            if not reply.startswith("250" if kept else "226"):
                failures.append("%s: STOR answered %r" % (what, reply))
                continue
            with open(os.path.join(root, name), "rb") as f:
                on_disk = f.read()
            if on_disk != stored:
                at = next((i for i, (a, b) in enumerate(zip(on_disk, stored)) if a != b),
                          min(len(on_disk), len(stored)))
                failures.append("%s: stored %d B, expected %d B, first difference at %d: %r vs %r"
                                % (what, len(on_disk), len(stored), at, on_disk[at:at + 12],
                                   stored[at:at + 12]))
            s, r = data()
            ftp.sendcmd("RETR " + name)
            markers = []
            try:
                if mode == "S":
                    back = stream_decode(r.read_all(), stru == "R")
                elif mode == "Z":
                    back = stream_decode(zlib.decompress(r.read_all()), stru == "R")
                elif mode == "B":
                    back, markers = block_decode(r, stru == "R")
                else:
                    back, markers = compressed_decode(r, stru == "R", filler)
            except Exception as error:
                failures.append("%s: RETR could not be decoded: %r" % (what, error))
                break
            if not kept:
                s.close()
            reply = ftp.getresp() if kept else ftp.voidresp()
            markers_seen += len(markers)
            if not reply.startswith("250" if kept else "226"):
                failures.append("%s: RETR answered %r" % (what, reply))
            if back != form:
                failures.append("%s: RETR gave %r, sent %r" % (what, back if isinstance(back, Records)
                                else back[:40], form if isinstance(form, Records) else form[:40]))
            cases += 1
    if sock:
        sock.close()
    ftp.quit()
    return {"cases": cases, "failures": failures, "markers": markers_seen}
`;

/** Files per TYPE × STRU: text types have a 1 B file without a line end too. */
const CASES = TYPES.reduce((sum, type) => sum + (type === "I" || type === "L 8" ? 4 : 5), 0);

for (const mode of ["S", "B", "C", "Z"] as const) {
  for (const stru of ["F", "R"] as const) {
    Deno.test({
      name: `MODE ${mode} STRU ${stru}: every TYPE round-trips 0 B, 1 B, 1 MiB random and 3,000 ` +
        `lines byte-exact, stored in canonical form`,
      ignore: needs("python3"),
      async fn() {
        await using t = startServer({ modeZ: true, restartMarkerIntervalBytes: 256 * 1024 });
        const { result } = await python<{ cases: number; failures: string[]; markers: number }>(
          t,
          CLIENT + FILES + MATRIX + `
result(run_matrix(${JSON.stringify(mode)}, ${JSON.stringify(stru)}, ${JSON.stringify(TYPES)},
                  ${JSON.stringify(t.root)}, ${mode.charCodeAt(0) * 2 + stru.charCodeAt(0)}))
`,
        );
        deepEqual(result.failures, []);
        equal(result.cases, CASES);
        // Block and compressed downloads carry restart markers (the client skips them).
        if (mode === "B" || mode === "C") equal(result.markers > 0, true, "restart markers sent");
      },
    });
  }
}

Deno.test("what is refused is refused with a reason: STRU P, TYPE L 7, TYPE I N, MODE Z off; a binary file that is not records", async () => {
  await using t = startServer({ files: { "plain.bin": randomBytes(1000, 3) } });
  await using c = await RawClient.connect(t.port);
  await c.login(t.user, t.password);
  // RFC 959 §5.4: 504 "Command not implemented for that parameter"; 501 for a syntax error
  // (a format control belongs to TYPE A and E only, §3.1.1.5).
  match((await c.expect("STRU P", 504)).lines.join(""), /STRU P not supported/);
  match((await c.expect("TYPE L 7", 504)).lines.join(""), /only L 8/);
  await c.expect("TYPE I N", 501);
  match((await c.expect("MODE Z", 504)).lines.join(""), /not enabled/);
  // Every combination of what is accepted has a meaning (RFC 959 §3.4: block mode allows record
  // structure with any type, compressed mode has a filler for image data and EOR escapes), so
  // TYPE I + STRU R + MODE C is accepted; only a stored file that holds no records cannot be
  // sent that way, which RETR answers (451, a RETR reply of §5.4; 504 is not one).
  await c.expect("TYPE I", 200);
  await c.expect("STRU R", 200);
  await c.expect("MODE C", 200);
  const data = await c.epsv();
  const opening = await c.command("RETR plain.bin");
  const final = opening.code === 150 ? await c.read() : opening;
  data.close();
  equal(final.code, 451);
  match(final.lines.join(""), /not stored in record format/);
  // The session goes on.
  await c.expect("STRU F", 200);
  await c.expect("MODE S", 200);
  assertBytes(await c.download("RETR plain.bin"), randomBytes(1000, 3), "plain.bin");
});
