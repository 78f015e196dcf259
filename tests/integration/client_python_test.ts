/**
 * Interoperability with Python's ftplib (python3 subprocess): the standard library client many
 * scripts use. Each test runs a short script (see `python()` in the client helpers: `connect()`
 * logs in with `set_debuglevel(2)`, `result(value)` hands JSON back) and asserts on what it
 * returned and on the bytes on disk.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import {
  assertBytes,
  localDir,
  lsDate,
  needsIPv6,
  parseLsListing,
  python,
} from "../helpers/clients.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

const ignore = needs("python3");
const FIVE_MIB = randomBytes(5 << 20, 77);
/** Python source; raw so that `\n` reaches Python as written. */
const py = String.raw;

Deno.test({
  name: "ftplib: login, pwd/cwd, mkd/rmd, rename and delete",
  ignore,
  async fn() {
    await using t = startServer({ files: { "a.txt": "a", "old/x": "x" } });
    const { result } = await python<Record<string, string>>(
      t,
      py`
ftp = connect()
out = {"welcome": ftp.getwelcome(), "pwd0": ftp.pwd()}
out["mkd"] = ftp.mkd("new dir")
out["cwd"] = ftp.cwd("new dir")
out["pwd1"] = ftp.pwd()
out["mkd_rel"] = ftp.mkd("sub")
ftp.cwd("..")
out["pwd2"] = ftp.pwd()
out["rename"] = ftp.rename("a.txt", "new dir/b.txt")
out["delete"] = ftp.delete("old/x")
out["rmd"] = ftp.rmd("old")
try:
    ftp.rmd("new dir")
    out["rmd_nonempty"] = "no error"
except ftplib.error_perm as e:
    out["rmd_nonempty"] = str(e)[:3]
try:
    ftp.cwd("/missing")
except ftplib.error_perm as e:
    out["cwd_missing"] = str(e)[:3]
out["quit"] = ftp.quit()
result(out)
`,
    );
    deepEqual(result, {
      welcome: "220 ftpgate ready.",
      pwd0: "/",
      mkd: "/new dir",
      cwd: "250 Directory successfully changed.",
      pwd1: "/new dir",
      mkd_rel: "/new dir/sub",
      pwd2: "/",
      rename: "250 Rename successful.",
      delete: "250 File deleted.",
      rmd: "250 Directory removed.",
      rmd_nonempty: "550",
      cwd_missing: "550",
      quit: "221 Goodbye.",
    });
    equal(Deno.readTextFileSync(`${t.root}/new dir/b.txt`), "a");
    ok(Deno.statSync(`${t.root}/new dir/sub`).isDirectory);
    deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name), ["new dir"]);
  },
});

Deno.test({
  name: "ftplib: storbinary/retrbinary are byte-exact for 0 B, 1 B and 5 MiB",
  ignore,
  async fn() {
    await using t = startServer();
    await using local = localDir();
    const files = {
      "zero.bin": new Uint8Array(0),
      "one.bin": new Uint8Array([0]),
      "five.bin": FIVE_MIB,
    };
    for (const [name, data] of Object.entries(files)) {
      Deno.writeFileSync(`${local.path}/${name}`, data);
    }
    const { result } = await python<string[]>(
      t,
      py`
ftp = connect()
replies = []
for name in ["zero.bin", "one.bin", "five.bin"]:
    with open(name, "rb") as f:
        replies.append(ftp.storbinary("STOR " + name, f))
    with open("back-" + name, "wb") as f:
        replies.append(ftp.retrbinary("RETR " + name, f.write))
ftp.quit()
result(replies)
`,
      { cwd: local.path },
    );
    deepEqual(result, Array(6).fill("226 Transfer complete."));
    for (const [name, data] of Object.entries(files)) {
      assertBytes(await Deno.readFile(`${t.root}/${name}`), data, `stored ${name}`);
      assertBytes(await Deno.readFile(`${local.path}/back-${name}`), data, `retrieved ${name}`);
    }
  },
});

Deno.test({
  name: "ftplib: retrlines('LIST') and nlst() list names and sizes",
  ignore,
  async fn() {
    await using t = startServer({
      files: { "a.txt": "hello\n", "b c.bin": randomBytes(70_000), "sub/inner": "1" },
    });
    const old = new Date("2020-01-02T03:04:05Z");
    Deno.utimeSync(`${t.root}/a.txt`, old, old);
    const { result } = await python<{ list: string[]; nlst: string[]; nlstSub: string[] }>(
      t,
      py`
ftp = connect()
lines = []
ftp.retrlines("LIST", lines.append)
result({"list": lines, "nlst": ftp.nlst(), "nlstSub": ftp.nlst("sub")})
ftp.quit()
`,
    );
    const entries = parseLsListing(result.list.join("\n"));
    deepEqual(entries.map((e) => [e.type, e.name, e.size]), [
      ["file", "a.txt", 6],
      ["file", "b c.bin", 70_000],
      ["dir", "sub", Deno.statSync(`${t.root}/sub`).size],
    ]);
    equal(entries[0].date, lsDate(old));
    deepEqual(result.nlst, ["a.txt", "b c.bin", "sub"]);
    deepEqual(result.nlstSub, ["sub/inner"]);
  },
});

Deno.test({
  name: "ftplib: mlsd() yields entries with every fact, or the facts asked for",
  ignore,
  async fn() {
    await using t = startServer({ files: { "a.txt": "hello\n", "sub/inner": "1" } });
    const mtime = new Date("2023-03-04T05:06:07Z");
    Deno.utimeSync(`${t.root}/a.txt`, mtime, mtime);
    Deno.chmodSync(`${t.root}/a.txt`, 0o640);
    type Facts = Record<string, string>;
    const { result } = await python<{ all: [string, Facts][]; some: [string, Facts][] }>(
      t,
      py`
ftp = connect()
result({
    "all": list(ftp.mlsd()),
    "some": list(ftp.mlsd("sub", facts=["type", "size"])),
})
ftp.quit()
`,
    );
    const all = new Map(result.all);
    deepEqual([...all.keys()], [".", "..", "a.txt", "sub"]);
    equal(all.get(".")!.type, "cdir");
    equal(all.get("..")!.type, "pdir");
    const file = all.get("a.txt")!;
    deepEqual(
      { ...file, unique: typeof file.unique },
      {
        type: "file",
        size: "6",
        modify: "20230304050607",
        perm: "adfrw",
        "unix.mode": "0640",
        unique: "string",
      },
    );
    equal(all.get("sub")!.type, "dir");
    equal(all.get("sub")!.perm, "cdeflmp");
    // OPTS MLST type;size; narrows the facts; ftplib lower-cases the names.
    deepEqual(result.some, [
      [".", { type: "cdir", size: String(Deno.statSync(`${t.root}/sub`).size) }],
      ["..", { type: "pdir", size: String(Deno.statSync(t.root).size) }],
      ["inner", { type: "file", size: "1" }],
    ]);
  },
});

Deno.test({
  name: "ftplib: rest= resumes retrbinary and storbinary from an offset",
  ignore,
  async fn() {
    await using t = startServer({
      files: { "down.bin": FIVE_MIB, "up.bin": FIVE_MIB.subarray(0, 2_500_000) },
    });
    await using local = localDir();
    Deno.writeFileSync(`${local.path}/down.bin`, FIVE_MIB.subarray(0, 1_048_577));
    Deno.writeFileSync(`${local.path}/up.bin`, FIVE_MIB);
    const { result } = await python<string[]>(
      t,
      py`
ftp = connect()
ftp.voidcmd("TYPE I")
have = os.path.getsize("down.bin")
with open("down.bin", "ab") as f:
    down = ftp.retrbinary("RETR down.bin", f.write, rest=have)
remote = ftp.size("up.bin")
with open("up.bin", "rb") as f:
    f.seek(remote)
    up = ftp.storbinary("STOR up.bin", f, rest=remote)
result([down, str(remote), up, ftp.sendcmd("SIZE up.bin")])
ftp.quit()
`,
      { cwd: local.path },
    );
    deepEqual(result, [
      "226 Transfer complete.",
      "2500000",
      "226 Transfer complete.",
      `213 ${FIVE_MIB.length}`,
    ]);
    assertBytes(await Deno.readFile(`${local.path}/down.bin`), FIVE_MIB, "resumed download");
    assertBytes(await Deno.readFile(`${t.root}/up.bin`), FIVE_MIB, "resumed upload");
  },
});

Deno.test({
  name: "ftplib: storlines/retrlines use TYPE A: CRLF on the wire, LF on disk",
  ignore,
  async fn() {
    await using t = startServer({ files: { "unix.txt": "l1\nl2\n\nlast" } });
    const { result } = await python<{ lines: string[]; wire: string; stor: string }>(
      t,
      py`
ftp = connect()
lines = []
ftp.retrlines("RETR unix.txt", lines.append)
# The raw bytes the server sends in TYPE A.
ftp.voidcmd("TYPE A")
with ftp.transfercmd("RETR unix.txt") as conn:
    wire = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        wire += chunk
ftp.voidresp()
stor = ftp.storlines("STOR up.txt", io.BytesIO(b"u1\nu2\r\n\nend"))
result({"lines": lines, "wire": wire.decode(), "stor": stor})
ftp.quit()
`,
    );
    deepEqual(result.lines, ["l1", "l2", "", "last"]);
    equal(result.wire, "l1\r\nl2\r\n\r\nlast");
    equal(result.stor, "226 Transfer complete.");
    // storlines sends every line with CRLF (adding one to the last); the server stores LF.
    equal(Deno.readTextFileSync(`${t.root}/up.txt`), "u1\nu2\n\nend\n");
  },
});

Deno.test({
  name: "ftplib: set_pasv(False) transfers and lists in active mode (PORT)",
  ignore,
  async fn() {
    await using t = startServer({ files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    const { result, stdout } = await python<{ nlst: string[]; retr: string; stor: string }>(
      t,
      py`
ftp = connect()
ftp.set_pasv(False)
with open("d.bin", "wb") as f:
    retr = ftp.retrbinary("RETR d.bin", f.write)
with open("d.bin", "rb") as f:
    stor = ftp.storbinary("STOR up.bin", f)
result({"retr": retr, "stor": stor, "nlst": ftp.nlst()})
ftp.quit()
`,
      { cwd: local.path },
    );
    deepEqual(result, {
      retr: "226 Transfer complete.",
      stor: "226 Transfer complete.",
      nlst: ["d.bin", "up.bin"],
    });
    ok(/\*cmd\* 'PORT 127,0,0,1,\d+,\d+'/.test(stdout), "ftplib sent PORT");
    ok(!/\*cmd\* '(PASV|EPSV)'/.test(stdout), "and no passive command");
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "active download");
    assertBytes(await Deno.readFile(`${t.root}/up.bin`), FIVE_MIB, "active upload");
  },
});

Deno.test({
  name: "ftplib: abort() during a large retrbinary gets 426 then 226, and the session goes on",
  ignore,
  async fn() {
    // Far more than the socket buffers hold, so the transfer is still running at ABOR.
    await using t = startServer({
      files: { "huge.bin": new Uint8Array(32 << 20), "small.txt": "still here\n" },
    });
    const { result } = await python<{ replies: string[]; received: number; after: string[] }>(
      t,
      py`
ftp = connect()
ftp.voidcmd("TYPE I")
class Stop(Exception):
    pass
received = 0
replies = []
def on_data(chunk):
    global received
    received += len(chunk)
    if received >= 1 << 20:
        replies.append(ftp.abort())  # ABOR sent with MSG_OOB; returns the first reply
        raise Stop()
try:
    ftp.retrbinary("RETR huge.bin", on_data)
except Stop:
    pass
if replies[0].startswith("426"):
    replies.append(ftp.getmultiline())  # RFC 959: 426 for the transfer, then 226 for ABOR
small = io.BytesIO()
after = [ftp.pwd(), ftp.retrbinary("RETR small.txt", small.write), small.getvalue().decode()]
after.append(ftp.sendcmd("NOOP"))
result({"replies": replies, "received": received, "after": after})
ftp.quit()
`,
    );
    ok(result.received < 32 << 20, `aborted early (${result.received} bytes)`);
    deepEqual(result.replies.map((reply) => reply.slice(0, 3)), ["426", "226"]);
    deepEqual(result.after, ["/", "226 Transfer complete.", "still here\n", "200 NOOP ok."]);
  },
});

Deno.test({
  name: "ftplib: ABOR after Telnet IP and Synch (DM as urgent data) is answered during a RETR",
  async fn() {
    await using t = startServer({ files: { "huge.bin": new Uint8Array(32 << 20) } });
    const { result } = await python<{ replies: string[]; pwd: string }>(
      t,
      py`
ftp = connect()
ftp.voidcmd("TYPE I")
conn = ftp.transfercmd("RETR huge.bin")
conn.recv(65536)
# What BSD ftp and lftp send: IAC IP IAC, then DM as urgent data, then the command.
ftp.sock.sendall(b"\xff\xf4\xff")
ftp.sock.send(b"\xf2", socket.MSG_OOB)
ftp.sock.sendall(b"ABOR\r\n")
replies = []
try:
    replies.append(ftp.getline())
    replies.append(ftp.getline())
except socket.timeout:
    replies.append("timeout")
conn.close()
result({"replies": replies, "pwd": ftp.pwd() if len(replies) == 2 else ""})
`,
    );
    deepEqual(result.replies.map((reply) => reply.slice(0, 3)), ["426", "226"]);
    equal(result.pwd, "/");
  },
});

Deno.test({
  name: "ftplib: sendcmd('SIZE x') and size() report sizes in TYPE I",
  ignore,
  async fn() {
    await using t = startServer({ files: { "f.bin": randomBytes(12_345), "d/x": "" } });
    const { result } = await python<string[]>(
      t,
      py`
ftp = connect()
ftp.voidcmd("TYPE I")
out = [ftp.sendcmd("SIZE f.bin"), str(ftp.size("f.bin"))]
for path in ["missing", "d"]:
    try:
        ftp.sendcmd("SIZE " + path)
        out.append("no error")
    except ftplib.error_perm as e:
        out.append(str(e)[:3])
result(out)
ftp.quit()
`,
    );
    deepEqual(result, ["213 12345", "12345", "550", "550"]);
  },
});

Deno.test({
  name: "ftplib: UTF-8 names in storbinary, nlst, mlsd, retrbinary and rename",
  ignore,
  async fn() {
    await using t = startServer();
    const { result } = await python<{ nlst: string[]; mlsd: string[]; back: string }>(
      t,
      py`
ftp = connect()
name = "ü 日本.txt"
ftp.mkd("目录")
ftp.cwd("目录")
ftp.storbinary("STOR " + name, io.BytesIO("grüße\n".encode()))
nlst = ftp.nlst()
mlsd = [entry[0] for entry in ftp.mlsd() if entry[1]["type"] == "file"]
back = io.BytesIO()
ftp.retrbinary("RETR " + name, back.write)
ftp.rename(name, "ñ.txt")
result({"nlst": nlst, "mlsd": mlsd, "back": back.getvalue().decode()})
ftp.quit()
`,
    );
    deepEqual(result, { nlst: ["ü 日本.txt"], mlsd: ["ü 日本.txt"], back: "grüße\n" });
    equal(Deno.readTextFileSync(`${t.root}/目录/ñ.txt`), "grüße\n");
  },
});

Deno.test({
  name: "ftplib: IPv6 FTP('::1') transfers with EPSV and EPRT; PASV is refused",
  ignore: ignore || needsIPv6(),
  async fn() {
    await using t = startServer({ hostname: "::1", files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    const { result, stdout } = await python<{ pasv: string; nlst: string[] }>(
      t,
      py`
ftp = connect("::1")
with open("d.bin", "wb") as f:
    ftp.retrbinary("RETR d.bin", f.write)
ftp.set_pasv(False)
with open("d.bin", "rb") as f:
    ftp.storbinary("STOR up.bin", f)
try:
    pasv = ftp.sendcmd("PASV")
except ftplib.Error as e:
    pasv = str(e)
nlst = ftp.nlst()
result({"pasv": pasv[:3], "nlst": nlst})
ftp.quit()
`,
      { cwd: local.path },
    );
    ok(/\*cmd\* 'EPSV'/.test(stdout), "ftplib used EPSV");
    ok(/\*cmd\* 'EPRT \|2\|::1\|\d+\|'/.test(stdout), "ftplib used EPRT");
    deepEqual(result, { pasv: "425", nlst: ["d.bin", "up.bin"] });
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "IPv6 download");
    assertBytes(await Deno.readFile(`${t.root}/up.bin`), FIVE_MIB, "IPv6 active upload");
  },
});
