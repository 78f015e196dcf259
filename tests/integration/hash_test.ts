/**
 * File hashes over real sockets: HASH with OPTS HASH and RANG (draft-bryan-ftpext-hash-02,
 * draft-bryan-ftp-range-09) and the X-commands (XCRC, XMD5, XSHA1, XSHA256, XSHA512), checked
 * against the coreutils (`sha256sum`, `sha512sum`, `sha1sum`, `md5sum`) and Python's
 * `zlib.crc32`; their refusals (missing file, directory, a drop box), ABOR during a hash of a
 * large file, memory bounded by a chunk whatever the file's size, and real clients (Python
 * ftplib, curl -Q).
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type PathRule, PERMISSIONS } from "../../src/mod.ts";
import { curl, ftpUrl } from "../helpers/clients.ts";
import { tempDir } from "../helpers/files.ts";
import {
  MiB,
  mib,
  processPeakRss,
  report,
  sparseFile,
  startServerProcess,
} from "../helpers/hardening_helpers.ts";
import { loginAs, RawClient } from "../helpers/raw_client.ts";
import { PASSWORD, randomBytes, startServer, USER } from "../helpers/server.ts";

type Algorithm = "SHA-256" | "SHA-512" | "SHA-1" | "MD5" | "CRC32";
const ALGORITHMS: Algorithm[] = ["SHA-256", "SHA-512", "SHA-1", "MD5", "CRC32"];
const X_VERBS: Record<Algorithm, string> = {
  "SHA-256": "XSHA256",
  "SHA-512": "XSHA512",
  "SHA-1": "XSHA1",
  "MD5": "XMD5",
  "CRC32": "XCRC",
};
const TOOLS: Record<Exclude<Algorithm, "CRC32">, string> = {
  "SHA-256": "sha256sum",
  "SHA-512": "sha512sum",
  "SHA-1": "sha1sum",
  "MD5": "md5sum",
};

/** The reference digest of `bytes`, by an independent tool reading them on stdin. */
async function reference(algorithm: Algorithm, bytes: Uint8Array): Promise<string> {
  const [command, args] = algorithm === "CRC32"
    ? ["python3", [
      "-c",
      "import sys, zlib; print('%08x' % zlib.crc32(sys.stdin.buffer.read()))",
    ]]
    : [TOOLS[algorithm], ["-"]];
  const child = new Deno.Command(command, { args, stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const output = await child.output();
  equal(output.code, 0, `${command} failed`);
  return new TextDecoder().decode(output.stdout).split(/\s/)[0];
}

const FILES: Record<string, Uint8Array> = {
  "empty.bin": new Uint8Array(0),
  "one.bin": new Uint8Array([0x5a]),
  "big.bin": randomBytes(5 * MiB, 14),
};

Deno.test("HASH with each algorithm and each X-command match the coreutils and zlib on 0 B, 1 B and 5 MiB", async () => {
  await using t = startServer({ files: FILES });
  await using c = await loginAs(t.port, USER, PASSWORD);
  for (const algorithm of ALGORITHMS) {
    equal((await c.expect(`OPTS HASH ${algorithm}`, 200)).text, algorithm);
    for (const [name, bytes] of Object.entries(FILES)) {
      const expected = await reference(algorithm, bytes);
      const last = Math.max(0, bytes.length - 1);
      const hash = await c.expect(`HASH ${name}`, 213);
      equal(hash.text, `${algorithm} 0-${last} ${expected} ${name}`, `HASH ${algorithm} ${name}`);
      const x = await c.expect(`${X_VERBS[algorithm]} ${name}`, 250);
      equal(x.text, expected, `${X_VERBS[algorithm]} ${name}`);
    }
  }
});

Deno.test("RANG selects an inclusive range for the next HASH only; an end past the file ends at the file", async () => {
  const bytes = FILES["big.bin"];
  await using t = startServer({ files: FILES });
  await using c = await loginAs(t.port, USER, PASSWORD);
  await c.expect("OPTS HASH SHA-1", 200);
  equal((await c.expect("RANG 0 49", 350)).code, 350);
  equal(
    (await c.expect("HASH big.bin", 213)).text,
    `SHA-1 0-49 ${await reference("SHA-1", bytes.subarray(0, 50))} big.bin`,
  );
  // Reset after use: the next HASH is of the whole file.
  match((await c.expect("HASH big.bin", 213)).text, new RegExp(`^SHA-1 0-${bytes.length - 1} `));
  // A start in the middle (the back end seeks), an end beyond the size.
  await c.expect(`RANG 1000000 ${bytes.length + 500}`, 350);
  equal(
    (await c.expect("HASH big.bin", 213)).text,
    `SHA-1 1000000-${bytes.length - 1} ${await reference(
      "SHA-1",
      bytes.subarray(1_000_000),
    )} big.bin`,
  );
  // RANG 1 0 resets (350); start > end is 501 and resets too.
  await c.expect("RANG 5 9", 350);
  await c.expect("RANG 1 0", 350);
  match((await c.expect("HASH one.bin", 213)).text, /^SHA-1 0-0 /);
  await c.expect("RANG 5 9", 350);
  await c.expect("RANG 9 5", 501);
  match((await c.expect("HASH big.bin", 213)).text, new RegExp(`^SHA-1 0-${bytes.length - 1} `));
  await c.expect("RANG x 5", 501);
  await c.expect("RANG 5", 501);
  // A start past the end of the file is reported by the HASH (554, as REST would be).
  await c.expect("RANG 2 3", 350);
  await c.expect("HASH one.bin", 554);
  // Any other command in between drops the range (like REST), and REST does not shift HASH.
  await c.expect("RANG 0 0", 350);
  await c.expect("NOOP", 200);
  match((await c.expect("HASH big.bin", 213)).text, new RegExp(`^SHA-1 0-${bytes.length - 1} `));
  await c.expect("REST 100", 350);
  match((await c.expect("HASH big.bin", 213)).text, new RegExp(`^SHA-1 0-${bytes.length - 1} `));
  // RANG is for HASH only: a RETR or STOR after it is refused, not done in full.
  await c.expect("RANG 0 9", 350);
  await c.expect("RETR big.bin", 504);
  await c.expect("RANG 0 9", 350);
  await c.expect("STOR big.bin", 504);
  equal(Deno.statSync(`${t.root}/big.bin`).size, bytes.length, "the STOR truncated nothing");
});

Deno.test("X-commands take start and end offsets (end exclusive); end past the size and start >= end are 501", async () => {
  const bytes = FILES["big.bin"];
  await using t = startServer({ files: FILES });
  await using c = await loginAs(t.port, USER, PASSWORD);
  for (const algorithm of ALGORITHMS) {
    const verb = X_VERBS[algorithm];
    equal(
      (await c.expect(`${verb} big.bin 100 4196`, 250)).text,
      await reference(algorithm, bytes.subarray(100, 4196)),
      verb,
    );
    equal(
      (await c.expect(`${verb} big.bin 0 ${bytes.length}`, 250)).text,
      await reference(algorithm, bytes),
    );
  }
  await c.expect(`XMD5 big.bin 0 ${bytes.length + 1}`, 501);
  await c.expect("XMD5 big.bin 10 10", 501);
  await c.expect("XMD5 big.bin 20 10", 501);
  await c.expect("XMD5 empty.bin 0 0", 501);
});

Deno.test("X-commands: a path with spaces; one trailing number is part of the name, two are a range", async () => {
  const files = { "my file.txt": "hello world", "report 2024": "numbers", "a b": "xyz" };
  await using t = startServer({ files });
  await using c = await loginAs(t.port, USER, PASSWORD);
  const md5 = (text: string) => reference("MD5", new TextEncoder().encode(text));
  equal((await c.expect("XMD5 my file.txt", 250)).text, await md5("hello world"));
  equal((await c.expect("XMD5 my file.txt 0 5", 250)).text, await md5("hello"));
  equal((await c.expect("XMD5 report 2024", 250)).text, await md5("numbers"));
  equal((await c.expect("XMD5 a b 1 3", 250)).text, await md5("yz"));
  equal(
    (await c.expect("HASH my file.txt", 213)).text.split(" ").slice(3).join(" "),
    "my file.txt",
  );
  // `report` alone does not exist: the number was not taken as a range.
  await c.expect("XMD5 report", 550);
});

Deno.test("hash refusals: a missing file 550, a directory 553 (HASH) or 550 (X), a drop box 550, before login 530", async () => {
  const DROP_BOX: PathRule[] = [
    { path: "/", allow: PERMISSIONS },
    { path: "/inbox", allow: ["upload", "list"] },
  ];
  await using t = startServer({
    files: { "inbox/secret.txt": "top secret", "d/x": "" },
    users: [{ name: USER, password: PASSWORD }, { name: "drop", password: "pw", rules: DROP_BOX }],
  });
  await using anonymous = await RawClient.connect(t.port);
  await anonymous.expect("HASH d/x", 530);
  await anonymous.expect("XMD5 d/x", 530);
  await using c = await loginAs(t.port, USER, PASSWORD);
  await c.expect("HASH nope.bin", 550);
  await c.expect("XSHA1 nope.bin", 550);
  match((await c.expect("HASH d", 553)).text, /not a regular file/);
  await c.expect("XCRC d", 550);
  await c.expect("HASH", 501);
  await c.expect("OPTS HASH CRC-37", 501);
  equal((await c.expect("OPTS HASH", 200)).text, "SHA-256", "a refused OPTS HASH changes nothing");
  await using drop = await loginAs(t.port, "drop", "pw");
  for (const command of ["HASH", "XCRC", "XMD5", "XSHA1", "XSHA256", "XSHA512"]) {
    const reply = await drop.expect(`${command} inbox/secret.txt`, 550);
    ok(!/[0-9a-f]{8}/.test(reply.text), `${command} leaks nothing: ${reply.text}`);
  }
  await drop.expect("HASH inbox/missing.txt", 550);
  // The drop box user may still hash what they may download.
  await drop.expect("XMD5 d/x", 250);
});

Deno.test("FEAT lists HASH with the selected algorithm; OPTS HASH switches it; REIN resets it; HELP and STAT name it", async () => {
  await using t = startServer({ files: { "a.txt": "abc" } });
  await using c = await RawClient.connect(t.port);
  const hashLine = async () =>
    (await c.expect("FEAT", 211)).lines.find((line) => line.startsWith(" HASH "));
  equal(await hashLine(), " HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32");
  equal((await c.expect("OPTS HASH", 200)).text, "SHA-256");
  equal((await c.expect("OPTS HASH md5", 200)).text, "MD5");
  equal(await hashLine(), " HASH SHA-256;SHA-512;SHA-1;MD5*;CRC32");
  equal((await c.expect("OPTS HASH sha512", 200)).text, "SHA-512");
  equal((await c.expect("OPTS HASH", 200)).text, "SHA-512");
  await c.login(USER, PASSWORD);
  match((await c.expect("HASH a.txt", 213)).text, /^SHA-512 0-2 [0-9a-f]{128} a\.txt$/);
  ok((await c.expect("STAT", 211)).lines.includes(" HASH algorithm: SHA-512"));
  await c.expect("REIN", 220);
  equal(await hashLine(), " HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32");
  const help = (await c.expect("HELP", 214)).lines.join(" ").split(/\s+/);
  for (const verb of ["HASH", "RANG", "XCRC", "XMD5", "XSHA1", "XSHA256", "XSHA512"]) {
    ok(help.includes(verb), `HELP lacks ${verb}`);
  }
  equal(
    (await c.expect("HELP XCRC", 214)).text,
    "Syntax: XCRC <sp> pathname [<sp> start <sp> end]",
  );
  match((await c.expect("HELP OPTS", 214)).text, /HASH \[algorithm\]/);
});

Deno.test("ABOR during a HASH of a 512 MiB file answers 426 and 226 at once; STAT reports progress; the session goes on", async () => {
  await using t = startServer({ files: { "small.txt": "small" } });
  sparseFile(`${t.root}/huge.bin`, 512 * MiB);
  await using c = await loginAs(t.port, USER, PASSWORD);
  await c.send("HASH huge.bin");
  await new Promise((resolve) => setTimeout(resolve, 100));
  // The control connection is read while the file is: STAT answers at once.
  const statStarted = performance.now();
  const stat = await c.expect("STAT", 211);
  const statMs = performance.now() - statStarted;
  ok(statMs < 500, `STAT during a HASH took ${statMs.toFixed(0)} ms`);
  ok(
    stat.lines.some((line) =>
      /^ HASH of "?\/huge\.bin"?: \d+ of 536870912 bytes hashed$/.test(line)
    ),
    stat.lines.join(" | "),
  );
  const started = performance.now();
  await c.send("ABOR");
  const aborted = await c.read();
  const done = await c.read();
  const ms = performance.now() - started;
  deepEqual([aborted.code, done.code], [426, 226]);
  ok(ms < 500, `ABOR took ${ms.toFixed(0)} ms`);
  report(`ABOR of a HASH answered in ${ms.toFixed(0)} ms`);
  match((await c.expect("XMD5 small.txt", 250)).text, /^[0-9a-f]{32}$/);
  // A command sent while a hash runs waits for its 213: replies stay in order.
  await c.send("XCRC small.txt");
  await c.send("NOOP");
  equal((await c.read()).code, 250);
  equal((await c.read()).code, 200);
  // ABOR with nothing running still says so.
  equal((await c.expect("ABOR", 226)).text, "No transfer to abort.");
});

Deno.test("ABOR announced by Telnet IP (lftp, BSD ftp) stops a running HASH too: 426, then 226", async () => {
  await using t = startServer({ files: { "small.txt": "small" } });
  sparseFile(`${t.root}/huge.bin`, 512 * MiB);
  await using c = await loginAs(t.port, USER, PASSWORD);
  await c.send("HASH huge.bin");
  await new Promise((resolve) => setTimeout(resolve, 100));
  // IAC IP alone first (the server answers an interrupt as soon as it arrives), then IAC DM
  // (inline here: no urgent data needed) and the ABOR line.
  await c.sendRaw(new Uint8Array([0xff, 0xf4]));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await c.sendRaw(new Uint8Array([0xff, 0xf2]));
  await c.send("ABOR");
  const aborted = await c.read();
  const done = await c.read();
  deepEqual([aborted.code, done.code], [426, 226], `${aborted.text} / ${done.text}`);
  equal(done.text, "ABOR successful.");
  // The ABOR line after the interrupt gets no second reply: the next answer is the NOOP's.
  equal((await c.expect("NOOP", 200)).code, 200);
});

Deno.test("a HASH of a 1 GiB file keeps the server's peak RSS bounded (no whole-file buffer)", async () => {
  const root = tempDir();
  try {
    sparseFile(`${root}/huge.bin`, 1024 * MiB);
    await using server = await startServerProcess(root);
    await using c = await loginAs(server.port, USER, PASSWORD);
    const before = processPeakRss(server.pid);
    const started = performance.now();
    await c.send("HASH huge.bin");
    const hash = await c.read(120_000);
    const seconds = (performance.now() - started) / 1000;
    equal(hash.code, 213, hash.text);
    const peak = processPeakRss(server.pid);
    report(
      `HASH SHA-256 of 1 GiB: ${seconds.toFixed(1)} s, peak RSS ${mib(before)} -> ${mib(peak)}`,
    );
    ok(peak < 150 * MiB, `peak RSS ${mib(peak)}`);
    const expected = new TextDecoder().decode(
      (await new Deno.Command("sha256sum", { args: [`${root}/huge.bin`], stdout: "piped" })
        .output()).stdout,
    ).split(" ")[0];
    equal(hash.text, `SHA-256 0-${1024 * MiB - 1} ${expected} huge.bin`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("real clients: Python ftplib sendcmd HASH and curl -Q XMD5", async () => {
  const bytes = randomBytes(100_000, 3);
  await using t = startServer({ files: { "f.bin": bytes } });
  const script = `
import ftplib, sys
f = ftplib.FTP()
f.connect("127.0.0.1", ${t.port})
f.login(${JSON.stringify(USER)}, ${JSON.stringify(PASSWORD)})
print(f.sendcmd("OPTS HASH SHA-1"))
print(f.sendcmd("HASH f.bin"))
f.quit()
`;
  const py = await new Deno.Command("python3", { args: ["-c", script], stdout: "piped" }).output();
  equal(py.code, 0);
  const [opts, hash] = new TextDecoder().decode(py.stdout).trim().split("\n");
  equal(opts, "200 SHA-1");
  equal(hash, `213 SHA-1 0-99999 ${await reference("SHA-1", bytes)} f.bin`);
  const out = await curl(t, ["-v", "-Q", "XMD5 f.bin", "--list-only", ftpUrl(t, "")]);
  equal(out.code, 0, out.stderr);
  ok(out.stderr.includes(`< 250 ${await reference("MD5", bytes)}`), out.stderr);
});

Deno.test("the command event of a HASH reports its own reply (213, 550), not the reply before it", async () => {
  await using t = startServer({ files: { "f.txt": "hash me" } });
  const codes: [string, number][] = [];
  t.server.events.on((event) => {
    if (event.type === "command" && event.verb !== "QUIT") codes.push([event.verb, event.code]);
  });
  await using c = await loginAs(t.port, USER, PASSWORD);
  await c.expect("HASH f.txt", 213);
  await c.expect("XMD5 missing.txt", 550);
  await c.expect("NOOP", 200);
  await new Promise((resolve) => setTimeout(resolve, 50));
  deepEqual(codes.filter(([verb]) => !["USER", "PASS", "TYPE"].includes(verb)), [
    ["HASH", 213],
    ["XMD5", 550],
    ["NOOP", 200],
  ]);
});

Deno.test("a HASH that reads on keeps its session past the idle timeout; one whose storage stalls is aborted (426)", async () => {
  {
    await using t = startServer({ idleTimeoutMs: 300 });
    sparseFile(`${t.root}/huge.bin`, 2048 * MiB);
    await using c = await loginAs(t.port, USER, PASSWORD);
    const started = performance.now();
    const reply = await c.expect("XSHA256 huge.bin", 250); // a 421 "Timeout" would fail this
    ok(performance.now() - started > 300, "the hash took longer than the idle timeout");
    match(reply.text, /^[0-9a-f]{64}$/);
  }
  {
    await using t = startServer({
      files: { "f.bin": new Uint8Array(256 * 1024) },
      faults: { stallRetrAfterBytes: 1024 },
      stallTimeoutMs: 300,
    });
    await using c = await loginAs(t.port, USER, PASSWORD);
    equal((await c.expect("HASH f.bin", 426)).code, 426);
    await c.expect("NOOP", 200);
  }
});
