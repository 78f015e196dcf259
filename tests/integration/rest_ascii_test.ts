/**
 * REST in TYPE A (RFC 3659 §5): the restart marker counts bytes as transmitted (CRLF), not as
 * stored (LF). Resumed downloads and uploads of a 3,000-line text file, by curl and ftplib,
 * cut at every kind of place (mid-line, between CR and LF, right after a line end), come out
 * byte-exact.
 */
import { equal } from "node:assert/strict";
import { assertExit, curl, ftpUrl, localDir, python } from "../helpers/clients.ts";
import { startServer } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

const LINES = Array.from({ length: 3000 }, (_, i) => `line ${i} ${"x".repeat(i % 37)}`);
const STORED = LINES.join("\n") + "\n";
const WIRE = LINES.join("\r\n") + "\r\n";
/** Offsets on the wire: mid-line, just after a CR (before its LF), just after a line end. */
const CUTS = [5, WIRE.indexOf("\r\n", 20_000) + 1, WIRE.indexOf("\r\n", 50_000) + 2, WIRE.length];

Deno.test({
  name: "REST in TYPE A: ftplib resumes downloads and uploads at converted offsets",
  ignore: needs("python3"),
  async fn() {
    await using t = startServer({ files: { "text.txt": STORED } });
    const { result } = await python<{ downloads: string[]; uploads: string[] }>(
      t,
      `
WIRE = ${JSON.stringify(WIRE)}.encode()
CUTS = ${JSON.stringify(CUTS)}
ftp = connect(debug=0)
ftp.voidcmd("TYPE A")
def fetch(rest):
    conn = ftp.transfercmd("RETR text.txt", rest=rest)
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    ftp.voidresp()
    return data
downloads = []
for cut in CUTS:
    tail = fetch(cut)
    downloads.append("ok" if WIRE[:cut] + tail == WIRE else "got %d bytes after %d" % (len(tail), cut))
uploads = []
for i, cut in enumerate(CUTS):
    name = "up%d.txt" % i
    conn = ftp.transfercmd("STOR " + name)
    conn.sendall(WIRE[:cut])
    conn.close()
    ftp.voidresp()
    if cut < len(WIRE):
        conn = ftp.transfercmd("STOR " + name, rest=cut)
        conn.sendall(WIRE[cut:])
        conn.close()
        ftp.voidresp()
    uploads.append(name)
ftp.quit()
result({"downloads": downloads, "uploads": uploads})
`,
    );
    equal(result.downloads.join(","), CUTS.map(() => "ok").join(","));
    for (const name of result.uploads) {
      equal(Deno.readTextFileSync(`${t.root}/${name}`), STORED, name);
    }
  },
});

Deno.test({
  // curl 7.88 sends no REST for an ASCII download (-B -C -: it appends the whole file, its own
  // choice); for an upload it asks SIZE, which TYPE A refuses (the stored size would be the
  // wrong marker), and then sends the whole file again: the result is exact either way.
  name: "REST in TYPE A: curl -B -C - -T re-sends an upload whole after SIZE is refused",
  ignore: needs("curl"),
  async fn() {
    await using t = startServer({ files: { "up.txt": STORED.slice(0, 10_000) } });
    await using local = localDir();
    Deno.writeTextFileSync(`${local.path}/up.txt`, STORED);
    const output = await curl(t, ["-B", "-C", "-", "-T", "up.txt", ftpUrl(t, "up.txt")], {
      cwd: local.path,
    });
    assertExit(output, "curl -B -C - -T");
    equal(Deno.readTextFileSync(`${t.root}/up.txt`), STORED);
  },
});
