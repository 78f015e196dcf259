/**
 * Interoperability with curl (subprocess): listings, transfers both ways, resume, passive and
 * active modes, ASCII conversion, quote commands and IPv6. `-v` traces are asserted where the
 * protocol path matters (PASV rather than EPSV, PORT rather than EPRT, REST/APPE for resume).
 */

import { deepEqual, equal, match, ok } from "node:assert/strict";
import {
  assertBytes,
  assertExit,
  COMMAND_TIMEOUT_MS,
  curl,
  ftpUrl,
  localDir,
  lsDate,
  needsIPv6,
  parseLsListing,
} from "../helpers/clients.ts";
import { randomBytes, startServer, type TestServer } from "../helpers/server.ts";
import { type CommandOutput, needs, runCommand } from "../helpers/tools.ts";

const ignore = needs("curl");
const FIVE_MIB = randomBytes(5 << 20, 42);
const encoder = new TextEncoder();

/** The commands curl sent, from its `-v` output (`> VERB args`). */
function sent(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("> ")).map((line) =>
    line.slice(2).trimEnd()
  );
}

/** The reply lines curl received, from its `-v` output (`< 226 ...`). */
function replies(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("< ")).map((line) =>
    line.slice(2).trimEnd()
  );
}

/**
 * The bytes of the data connection from a `curl --trace` file: `<= Recv data` (download) or
 * `=> Send data` (upload) sections, hex-decoded.
 */
function traceData(trace: string, direction: "<= Recv data" | "=> Send data"): Uint8Array {
  const bytes: number[] = [];
  let inside = false;
  for (const line of trace.split("\n")) {
    if (/^(<=|=>|==) /.test(line)) {
      inside = line.startsWith(direction);
      continue;
    }
    const hex = inside ? /^[0-9a-f]{4}: ((?:[0-9a-f]{2} )+)/.exec(line) : null;
    if (hex) { for (const pair of hex[1].trim().split(" ")) bytes.push(parseInt(pair, 16)); }
  }
  return new Uint8Array(bytes);
}

Deno.test({
  name: "curl: lists a directory with LIST, and names only with -l (NLST)",
  ignore,
  async fn() {
    await using t = startServer({
      files: { "a.txt": "hello\n", "big.bin": randomBytes(70_000), "sub/inner.txt": "1" },
    });
    const old = new Date("2020-01-02T03:04:05Z");
    Deno.utimeSync(`${t.root}/a.txt`, old, old);
    Deno.chmodSync(`${t.root}/a.txt`, 0o640);
    const list = await curl(t, [ftpUrl(t)]);
    assertExit(list, "curl LIST");
    const entries = parseLsListing(list.stdout);
    deepEqual(entries.map((e) => [e.type, e.name, e.size]), [
      ["file", "a.txt", 6],
      ["file", "big.bin", 70_000],
      ["dir", "sub", Deno.statSync(`${t.root}/sub`).size],
    ]);
    equal(entries[0].date, lsDate(old));
    equal(entries[0].perms, "rw-r-----");
    const nlst = await curl(t, ["-l", ftpUrl(t)]);
    assertExit(nlst, "curl -l");
    // NLST comes in TYPE A with CRLF line ends; curl turns them into local newlines.
    equal(nlst.stdout, "a.txt\nbig.bin\nsub\n");
    // A subdirectory, with the credentials in the URL (the password has a space: %20).
    const sub = await runWithUrlCredentials(t, "sub/");
    assertExit(sub, "curl LIST sub/ with URL credentials");
    deepEqual(parseLsListing(sub.stdout).map((e) => [e.name, e.size]), [["inner.txt", 1]]);
  },
});

/** curl with the credentials only in the URL (no --user). */
function runWithUrlCredentials(t: TestServer, path: string): Promise<CommandOutput> {
  return runCommand("curl", ["-sS", "--max-time", "20", ftpUrl(t, path, true)], {
    timeoutMs: COMMAND_TIMEOUT_MS,
  });
}

Deno.test({
  name: "curl: downloads and uploads (-T) byte-exact for 0 B, 1 B and 5 MiB",
  ignore,
  async fn() {
    await using t = startServer();
    await using local = localDir();
    for (
      const [name, data] of [
        ["zero.bin", new Uint8Array(0)],
        ["one.bin", new Uint8Array([0x0a])],
        ["five.bin", FIVE_MIB],
      ] as const
    ) {
      Deno.writeFileSync(`${local.path}/${name}`, data);
      assertExit(await curl(t, ["-T", `${local.path}/${name}`, ftpUrl(t, name)]), `upload ${name}`);
      assertBytes(await Deno.readFile(`${t.root}/${name}`), data, `server copy of ${name}`);
      const out = `${local.path}/back-${name}`;
      assertExit(await curl(t, ["-o", out, ftpUrl(t, name)]), `download ${name}`);
      assertBytes(await Deno.readFile(out), data, `download of ${name}`);
    }
    // UTF-8 and a space in the name, percent-encoded in the URL.
    const name = "ü 日本.txt";
    Deno.writeTextFileSync(`${local.path}/u.txt`, "unicode\n");
    assertExit(await curl(t, ["-T", `${local.path}/u.txt`, ftpUrl(t, name)]), "upload UTF-8");
    equal(Deno.readTextFileSync(`${t.root}/${name}`), "unicode\n");
    const back = await curl(t, [ftpUrl(t, name)]);
    assertExit(back, "download UTF-8");
    equal(back.stdout, "unicode\n");
    // A missing file: 550 to RETR is curl's "remote file not found" (exit 78).
    const missing = await curl(t, ["-o", `${local.path}/none`, ftpUrl(t, "missing.bin")]);
    equal(missing.code, 78, missing.stderr);
  },
});

Deno.test({
  name: "curl: -I reports SIZE and MDTM, -R sets the local time from MDTM, -r fetches a range",
  ignore,
  async fn() {
    await using t = startServer({ files: { "f.bin": FIVE_MIB } });
    await using local = localDir();
    const mtime = new Date("2021-05-06T07:08:09Z");
    Deno.utimeSync(`${t.root}/f.bin`, mtime, mtime);
    const head = await curl(t, ["-I", ftpUrl(t, "f.bin")]);
    assertExit(head, "curl -I");
    match(head.stdout, new RegExp(`^Content-Length: ${FIVE_MIB.length}\r?$`, "m"));
    match(head.stdout, /^Last-Modified: Thu, 06 May 2021 07:08:09 GMT\r?$/m);
    const out = `${local.path}/f.bin`;
    assertExit(await curl(t, ["-R", "-o", out, ftpUrl(t, "f.bin")]), "curl -R");
    equal(Deno.statSync(out).mtime?.toISOString(), mtime.toISOString());
    assertBytes(await Deno.readFile(out), FIVE_MIB, "curl -R download");
    // A range: REST to its start, then curl closes the data connection and sends ABOR.
    const range = `${local.path}/range.bin`;
    const run = await curl(t, ["-v", "-r", "1000000-1000099", "-o", range, ftpUrl(t, "f.bin")]);
    assertExit(run, "curl -r");
    ok(sent(run.stderr).includes("REST 1000000"), sent(run.stderr).join(" | "));
    assertBytes(await Deno.readFile(range), FIVE_MIB.subarray(1_000_000, 1_000_100), "range");
  },
});

Deno.test({
  name: "curl: -C - resumes a partial download with SIZE, REST and RETR",
  ignore,
  async fn() {
    await using t = startServer({ files: { "big.bin": FIVE_MIB } });
    await using local = localDir();
    const out = `${local.path}/big.bin`;
    Deno.writeFileSync(out, FIVE_MIB.subarray(0, 1_234_567));
    const run = await curl(t, ["-v", "-C", "-", "-o", out, ftpUrl(t, "big.bin")]);
    assertExit(run, "curl -C - download");
    const commands = sent(run.stderr);
    ok(commands.includes("SIZE big.bin"), commands.join(" | "));
    ok(commands.includes("REST 1234567"), commands.join(" | "));
    assertBytes(await Deno.readFile(out), FIVE_MIB, "resumed download");
  },
});

Deno.test({
  name: "curl: -C - -T resumes a partial upload with SIZE and APPE",
  ignore,
  async fn() {
    await using t = startServer({ files: { "big.bin": FIVE_MIB.subarray(0, 2_000_001) } });
    await using local = localDir();
    Deno.writeFileSync(`${local.path}/big.bin`, FIVE_MIB);
    const run = await curl(t, [
      "-v",
      "-C",
      "-",
      "-T",
      `${local.path}/big.bin`,
      ftpUrl(t, "big.bin"),
    ]);
    assertExit(run, "curl -C - -T upload");
    const commands = sent(run.stderr);
    ok(commands.includes("SIZE big.bin"), commands.join(" | "));
    ok(commands.includes("APPE big.bin"), commands.join(" | "));
    assertBytes(await Deno.readFile(`${t.root}/big.bin`), FIVE_MIB, "resumed upload");
  },
});

Deno.test({
  name: "curl: --ftp-pasv --disable-epsv transfers over PASV both ways",
  ignore,
  async fn() {
    await using t = startServer({ files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    const flags = ["-v", "--ftp-pasv", "--disable-epsv"];
    const down = await curl(t, [...flags, "-o", `${local.path}/d.bin`, ftpUrl(t, "d.bin")]);
    assertExit(down, "PASV download");
    ok(sent(down.stderr).includes("PASV"), sent(down.stderr).join(" | "));
    ok(!sent(down.stderr).includes("EPSV"));
    match(replies(down.stderr).join("\n"), /^227 .*\(127,0,0,1,\d+,\d+\)/m);
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "PASV download");
    const up = await curl(t, [...flags, "-T", `${local.path}/d.bin`, ftpUrl(t, "u.bin")]);
    assertExit(up, "PASV upload");
    ok(sent(up.stderr).includes("PASV"));
    assertBytes(await Deno.readFile(`${t.root}/u.bin`), FIVE_MIB, "PASV upload");
    const list = await curl(t, [...flags, ftpUrl(t)]);
    assertExit(list, "PASV list");
    deepEqual(parseLsListing(list.stdout).map((e) => [e.name, e.size]), [
      ["d.bin", FIVE_MIB.length],
      ["u.bin", FIVE_MIB.length],
    ]);
  },
});

Deno.test({
  name: "curl: -P 127.0.0.1 transfers in active mode with EPRT, and with PORT (--disable-eprt)",
  ignore,
  async fn() {
    await using t = startServer({ files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    for (
      const [flags, verb] of [
        [["-P", "127.0.0.1"], "EPRT"],
        [["--ftp-port", "127.0.0.1", "--disable-eprt"], "PORT"],
      ] as const
    ) {
      const out = `${local.path}/${verb}.bin`;
      const down = await curl(t, ["-v", ...flags, "-o", out, ftpUrl(t, "d.bin")]);
      assertExit(down, `${verb} download`);
      const commands = sent(down.stderr);
      ok(commands.some((c) => c.startsWith(`${verb} `)), commands.join(" | "));
      ok(!commands.some((c) => /^(PASV|EPSV)/.test(c)), commands.join(" | "));
      assertBytes(await Deno.readFile(out), FIVE_MIB, `${verb} download`);
      const up = await curl(t, ["-v", ...flags, "-T", out, ftpUrl(t, `up-${verb}.bin`)]);
      assertExit(up, `${verb} upload`);
      ok(sent(up.stderr).some((c) => c.startsWith(`${verb} `)));
      assertBytes(await Deno.readFile(`${t.root}/up-${verb}.bin`), FIVE_MIB, `${verb} upload`);
      const list = await curl(t, [...flags, "-l", ftpUrl(t)]);
      assertExit(list, `${verb} NLST`);
      ok(list.stdout.split("\n").includes(`up-${verb}.bin`), list.stdout);
    }
  },
});

Deno.test({
  name: "curl: -B (TYPE A) sends CRLF on the wire and stores LF, both ways",
  ignore,
  async fn() {
    await using t = startServer({ files: { "unix.txt": "l1\nl2\n", "dos.txt": "a\r\nb\n" } });
    await using local = localDir();
    const trace = `${local.path}/trace`;
    // Download: the server turns LF into CRLF (leaving an existing CRLF alone), curl turns it back.
    for (
      const [name, wire] of [
        ["unix.txt", "l1\r\nl2\r\n"],
        ["dos.txt", "a\r\nb\r\n"],
      ] as const
    ) {
      const out = `${local.path}/${name}`;
      const run = await curl(t, ["-B", "--trace", trace, "-o", out, ftpUrl(t, name)]);
      assertExit(run, `ASCII download of ${name}`);
      const text = Deno.readTextFileSync(trace);
      match(text, /TYPE A/);
      equal(new TextDecoder().decode(traceData(text, "<= Recv data")), wire, "bytes on the wire");
      equal(Deno.readTextFileSync(out), wire.replaceAll("\r\n", "\n"), "curl's local copy");
    }
    // --use-ascii upload: curl sends CRLF, the server stores the local newline.
    Deno.writeTextFileSync(`${local.path}/up.txt`, "u1\nu2\n\nend");
    const up = await curl(t, [
      "--use-ascii",
      "--trace",
      trace,
      "-T",
      `${local.path}/up.txt`,
      ftpUrl(t, "up.txt"),
    ]);
    assertExit(up, "ASCII upload");
    const text = Deno.readTextFileSync(trace);
    equal(new TextDecoder().decode(traceData(text, "=> Send data")), "u1\r\nu2\r\n\r\nend");
    equal(Deno.readTextFileSync(`${t.root}/up.txt`), "u1\nu2\n\nend");
    // The same bytes in binary are stored untouched.
    Deno.writeTextFileSync(`${local.path}/bin.txt`, "x\r\ny\n");
    assertExit(await curl(t, ["-T", `${local.path}/bin.txt`, ftpUrl(t, "bin.txt")]), "binary");
    assertBytes(await Deno.readFile(`${t.root}/bin.txt`), encoder.encode("x\r\ny\n"), "binary");
  },
});

Deno.test({
  name: "curl: --ftp-create-dirs creates the missing directories of an upload",
  ignore,
  async fn() {
    await using t = startServer({ files: { "a/keep": "" } });
    await using local = localDir();
    const data = randomBytes(10_000, 3);
    Deno.writeFileSync(`${local.path}/f.bin`, data);
    const run = await curl(t, [
      "-v",
      "--ftp-create-dirs",
      "-T",
      `${local.path}/f.bin`,
      ftpUrl(t, "a/b/c/f.bin"),
    ]);
    assertExit(run, "curl --ftp-create-dirs");
    ok(sent(run.stderr).includes("MKD b"), sent(run.stderr).join(" | "));
    ok(!sent(run.stderr).includes("MKD a"), "an existing directory is entered, not created");
    assertBytes(await Deno.readFile(`${t.root}/a/b/c/f.bin`), data, "uploaded file");
    // Without the flag, a missing directory fails (CWD 550 is curl's exit 9).
    const fails = await curl(t, ["-T", `${local.path}/f.bin`, ftpUrl(t, "x/y/f.bin")]);
    equal(fails.code, 9, fails.stderr);
  },
});

Deno.test({
  name: "curl: -Q runs quote commands before the transfer and, with '-', after it",
  ignore,
  async fn() {
    await using t = startServer({ files: { "gone.txt": "bye", "keep.txt": "keep" } });
    const run = await curl(t, [
      "-v",
      "-Q",
      "MKD made",
      "-Q",
      "-DELE gone.txt",
      "-l",
      ftpUrl(t),
    ]);
    assertExit(run, "curl -Q");
    const commands = sent(run.stderr);
    ok(commands.indexOf("MKD made") < commands.indexOf("NLST"), commands.join(" | "));
    ok(commands.indexOf("DELE gone.txt") > commands.indexOf("NLST"), commands.join(" | "));
    // The listing was taken between the two commands.
    equal(run.stdout, "gone.txt\nkeep.txt\nmade\n");
    ok(Deno.statSync(`${t.root}/made`).isDirectory);
    deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name).sort(), ["keep.txt", "made"]);
    // A quote command the server refuses makes curl fail (exit 21, quote error).
    const refused = await curl(t, ["-Q", "DELE nothing-here", "-l", ftpUrl(t)]);
    equal(refused.code, 21, refused.stderr);
  },
});

Deno.test({
  name: "curl: IPv6 ftp://[::1]:PORT/ lists and transfers with EPSV and EPRT",
  ignore: ignore || needsIPv6(),
  async fn() {
    await using t = startServer({ hostname: "::1", files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    equal(t.host, "::1");
    const list = await curl(t, ["-v", ftpUrl(t)]);
    assertExit(list, "IPv6 LIST");
    ok(sent(list.stderr).includes("EPSV"));
    deepEqual(parseLsListing(list.stdout).map((e) => [e.name, e.size]), [
      ["d.bin", FIVE_MIB.length],
    ]);
    const down = await curl(t, ["-o", `${local.path}/d.bin`, ftpUrl(t, "d.bin")]);
    assertExit(down, "IPv6 passive download");
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "IPv6 download");
    const up = await curl(t, ["-v", "-P", "::1", "-T", `${local.path}/d.bin`, ftpUrl(t, "u.bin")]);
    assertExit(up, "IPv6 active upload");
    ok(sent(up.stderr).some((c) => c.startsWith("EPRT |2|::1|")), sent(up.stderr).join(" | "));
    assertBytes(await Deno.readFile(`${t.root}/u.bin`), FIVE_MIB, "IPv6 active upload");
  },
});
