/**
 * Interoperability with lftp (subprocess): listings (LIST and MLSD), transfers, resume, mirror
 * both ways, file management, active mode, PASV/EPSV choice, raw commands and UTF-8 names.
 * `debug 5` traces are asserted where the protocol path matters.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import {
  assertBytes,
  assertExit,
  assertSameTree,
  lftp,
  lftpQuote as q,
  localDir,
  needsIPv6,
  parseLsListing,
  readTree,
  writeTree,
} from "../helpers/clients.ts";
import { randomBytes, startServer } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

const ignore = needs("lftp");
const FIVE_MIB = randomBytes(5 << 20, 99);

/** The commands lftp sent, from its `debug 5` trace (`---> VERB args`). */
function sent(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("---> ")).map((line) =>
    line.slice(5).trimEnd()
  );
}

Deno.test({
  name: "lftp: ls shows the LIST lines, cls shows names, sizes and types from MLSD",
  ignore,
  async fn() {
    await using t = startServer({
      files: { "a.txt": "hello\n", "big.bin": randomBytes(70_000), "sub/inner.txt": "1" },
    });
    await using local = localDir();
    const dirSize = Deno.statSync(`${t.root}/sub`).size;
    Deno.chmodSync(`${t.root}/sub/inner.txt`, 0o640);
    const ls = await lftp(t, ["ls"], { cwd: local.path });
    assertExit(ls, "lftp ls");
    deepEqual(parseLsListing(ls.stdout).map((e) => [e.type, e.name, e.size]), [
      ["file", "a.txt", 6],
      ["file", "big.bin", 70_000],
      ["dir", "sub", dirSize],
    ]);
    const cls = await lftp(t, ["cls -1", "cls -l sub"], { cwd: local.path, debug: true });
    assertExit(cls, "lftp cls");
    ok(sent(cls.stderr).includes("MLSD"), "cls lists with MLSD");
    const [names, long] = [cls.stdout.split("\n").slice(0, 3), cls.stdout.split("\n").slice(3)];
    deepEqual(names, ["a.txt", "big.bin", "sub/"]);
    // `-rw-r-----        1 Nov 22 03:19 sub/inner.txt`
    const fields = long[0].split(/\s+/);
    deepEqual([fields[0], fields[1], fields.at(-1)], ["-rw-r-----", "1", "sub/inner.txt"]);
  },
});

Deno.test({
  name: "lftp: get and put are byte-exact for 0 B, 1 B and 5 MiB",
  ignore,
  async fn() {
    await using t = startServer();
    await using local = localDir();
    const files = { "zero.bin": new Uint8Array(0), "one.bin": new Uint8Array([7]) };
    writeTree(local.path, { ...files, "five.bin": FIVE_MIB });
    const put = await lftp(t, ["put zero.bin one.bin five.bin"], { cwd: local.path });
    assertExit(put, "lftp put");
    assertBytes(await Deno.readFile(`${t.root}/zero.bin`), files["zero.bin"], "put 0 B");
    assertBytes(await Deno.readFile(`${t.root}/one.bin`), files["one.bin"], "put 1 B");
    assertBytes(await Deno.readFile(`${t.root}/five.bin`), FIVE_MIB, "put 5 MiB");
    Deno.mkdirSync(`${local.path}/back`);
    const get = await lftp(t, ["get -O back zero.bin one.bin five.bin"], { cwd: local.path });
    assertExit(get, "lftp get");
    assertBytes(await Deno.readFile(`${local.path}/back/zero.bin`), files["zero.bin"], "get 0 B");
    assertBytes(await Deno.readFile(`${local.path}/back/one.bin`), files["one.bin"], "get 1 B");
    assertBytes(await Deno.readFile(`${local.path}/back/five.bin`), FIVE_MIB, "get 5 MiB");
  },
});

Deno.test({
  name: "lftp: get -c resumes a partial download and put -c a partial upload (REST)",
  ignore,
  async fn() {
    await using t = startServer({
      files: { "down.bin": FIVE_MIB, "up.bin": FIVE_MIB.subarray(0, 3_000_017) },
    });
    await using local = localDir();
    writeTree(local.path, { "down.bin": FIVE_MIB.subarray(0, 1_000_003), "up.bin": FIVE_MIB });
    const run = await lftp(t, ["get -c down.bin", "put -c up.bin"], {
      cwd: local.path,
      debug: true,
    });
    assertExit(run, "lftp get -c / put -c");
    const commands = sent(run.stderr);
    ok(commands.includes("REST 1000003"), commands.join(" | "));
    ok(commands.includes("REST 3000017"), commands.join(" | "));
    assertBytes(await Deno.readFile(`${local.path}/down.bin`), FIVE_MIB, "resumed download");
    assertBytes(await Deno.readFile(`${t.root}/up.bin`), FIVE_MIB, "resumed upload");
  },
});

Deno.test({
  name: "lftp: pget -n 4 (segmented download over parallel connections) is byte-exact",
  async fn() {
    await using t = startServer({ files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    const out = `${local.path}/d.bin`;
    // How many segments run (each a REST + RETR, ended by ABOR) depends on timing: on loopback
    // the first connection often finishes before the others start.
    const run = await lftp(t, [`pget -n 4 d.bin -o ${q(out)}`], { cwd: local.path, debug: true });
    assertExit(run, "lftp pget");
    assertBytes(await Deno.readFile(out), FIVE_MIB, "pget");
    const stalls = run.stderr.split("\n").filter((line) => line.includes("Timeout"));
    deepEqual(stalls, [], "no segment waited for a reply until lftp's timeout");
  },
});

Deno.test({
  name: "lftp: get -a and put -a convert line ends (TYPE A)",
  ignore,
  async fn() {
    await using t = startServer({ files: { "mixed.txt": "l1\nl2\r\nl3" } });
    await using local = localDir();
    Deno.writeTextFileSync(`${local.path}/up.txt`, "u1\nu2\n");
    const run = await lftp(t, [
      "get -a mixed.txt",
      "put -a up.txt",
      "get mixed.txt -o binary.txt",
    ], { cwd: local.path, debug: true });
    assertExit(run, "lftp ASCII");
    // A session starts in TYPE A (RFC 959), so lftp sends no TYPE until the binary get.
    const commands = sent(run.stderr);
    ok(!commands.includes("TYPE A"), commands.join(" | "));
    ok(commands.indexOf("STOR up.txt") < commands.indexOf("TYPE I"), commands.join(" | "));
    // Wire: l1 CRLF l2 CRLF l3 (the server leaves the existing CRLF alone); lftp stores LF.
    equal(Deno.readTextFileSync(`${local.path}/mixed.txt`), "l1\nl2\nl3");
    equal(Deno.readTextFileSync(`${local.path}/binary.txt`), "l1\nl2\r\nl3");
    equal(Deno.readTextFileSync(`${t.root}/up.txt`), "u1\nu2\n");
  },
});

Deno.test({
  name: "lftp: a transfer cut short is aborted (ABOR after IP/Synch) and the session goes on",
  async fn() {
    // Far more than the socket buffers hold, so the transfer is usually still running at ABOR.
    await using t = startServer({
      files: { "huge.bin": new Uint8Array(32 << 20), "small.txt": "still here\n" },
    });
    await using local = localDir();
    // `head` exits after 10 bytes; lftp sees the broken pipe and aborts the RETR.
    const run = await lftp(t, ["cat huge.bin | head -c 10 > /dev/null", "cat small.txt"], {
      cwd: local.path,
      debug: true,
    });
    assertExit(run, "lftp cat | head");
    const trace = run.stderr.split("\n").map((line) => line.trimEnd());
    const abor = trace.indexOf("---> ABOR");
    ok(abor !== -1, "lftp sent ABOR");
    const after = trace.slice(abor + 1);
    ok(!after.some((line) => line.includes("Timeout")), after.slice(0, 6).join("\n"));
    // 426 + 226 if the transfer was still running; 226 + 226 if lftp had already read it all.
    const replies = after.filter((line) => line.startsWith("<--- ")).slice(0, 2);
    ok(/^<--- (426|226) /.test(replies[0]) && /^<--- 226 /.test(replies[1]), replies.join("\n"));
    equal(run.stdout, "still here\n");
  },
});

Deno.test({
  name: "lftp: mirror -R uploads a tree and mirror downloads it back, with times and modes",
  ignore,
  async fn() {
    await using t = startServer();
    await using local = localDir();
    const tree = `${local.path}/tree`;
    writeTree(tree, {
      "top.txt": "top\n",
      "big.bin": randomBytes(1 << 20, 5),
      "empty.bin": new Uint8Array(0),
      "a/one.txt": "1",
      "a/b/two.txt": "22",
      "a/b/c/three.bin": randomBytes(70_000, 6),
      "ü 日本/名前.txt": "utf-8\n",
    });
    Deno.mkdirSync(`${tree}/a/empty-dir`);
    Deno.chmodSync(`${tree}/top.txt`, 0o754);
    const mtime = new Date("2021-05-06T07:08:09Z");
    Deno.utimeSync(`${tree}/a/b/two.txt`, mtime, mtime);
    const expected = await readTree(tree);

    const up = await lftp(t, [`mirror -R ${q(tree)} /remote`], { cwd: local.path });
    assertExit(up, "lftp mirror -R");
    assertSameTree(await readTree(`${t.root}/remote`), expected, "uploaded tree");
    equal(Deno.statSync(`${t.root}/remote/a/b/two.txt`).mtime?.toISOString(), mtime.toISOString());
    equal(Deno.statSync(`${t.root}/remote/top.txt`).mode! & 0o777, 0o754, "SITE CHMOD");

    const down = await lftp(t, [`mirror --parallel=4 /remote ${q(`${local.path}/back`)}`], {
      cwd: local.path,
    });
    assertExit(down, "lftp mirror");
    assertSameTree(await readTree(`${local.path}/back`), expected, "downloaded tree");
    equal(
      Deno.statSync(`${local.path}/back/a/b/two.txt`).mtime?.toISOString(),
      mtime.toISOString(),
    );

    // A second mirror finds nothing to do; a changed file on the server is fetched again.
    Deno.writeTextFileSync(`${t.root}/remote/a/one.txt`, "changed");
    const again = await lftp(t, [`mirror --verbose /remote ${q(`${local.path}/back`)}`], {
      cwd: local.path,
    });
    assertExit(again, "lftp mirror again");
    equal(Deno.readTextFileSync(`${local.path}/back/a/one.txt`), "changed");
    ok(!again.stdout.includes("big.bin"), `only the changed file moves:\n${again.stdout}`);
  },
});

Deno.test({
  name: "lftp: mkdir, mv, rm, rmdir and quote change the server tree",
  ignore,
  async fn() {
    await using t = startServer({ files: { "a.txt": "a", "tree/x": "x", "tree/sub/y": "y" } });
    await using local = localDir();
    const run = await lftp(t, [
      "mkdir -p new/deeper",
      "mv a.txt new/deeper/moved.txt",
      "mkdir gone",
      "rmdir gone",
      "rm -r tree",
      "quote MKD quoted",
      "quote RMD quoted",
      "quote SIZE new/deeper/moved.txt",
      "quote MDTM new/deeper/moved.txt",
      "quote NOOP",
    ], { cwd: local.path });
    assertExit(run, "lftp file management");
    const replies = run.stdout.trim().split("\n");
    deepEqual(replies.slice(0, 3), [
      '257 "/quoted" directory created.',
      "250 Directory removed.",
      "213 1",
    ]);
    ok(/^213 \d{14}$/.test(replies[3]), replies[3]);
    equal(replies[4], "200 NOOP ok.");
    equal(Deno.readTextFileSync(`${t.root}/new/deeper/moved.txt`), "a");
    deepEqual([...Deno.readDirSync(t.root)].map((e) => e.name), ["new"]);
    // A refused command fails the script (cmd:fail-exit).
    const refused = await lftp(t, ["rmdir new"], { cwd: local.path });
    ok(refused.code !== 0, "rmdir of a non-empty directory fails");
    ok(Deno.statSync(`${t.root}/new/deeper`).isDirectory);
  },
});

Deno.test({
  name: "lftp: ftp:passive-mode off transfers in active mode (PORT)",
  ignore,
  async fn() {
    await using t = startServer({ files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    const run = await lftp(t, [
      `get d.bin -o ${q(`${local.path}/d.bin`)}`,
      `put ${q(`${local.path}/d.bin`)} -o up.bin`,
      "cls -1",
    ], { cwd: local.path, settings: ["set ftp:passive-mode off"], debug: true });
    assertExit(run, "lftp active");
    const commands = sent(run.stderr);
    // lftp uses PORT for IPv4 and EPRT only for IPv6 (see the IPv6 test).
    ok(commands.some((c) => c.startsWith("PORT 127,0,0,1,")), commands.join(" | "));
    ok(!commands.some((c) => /^(PASV|EPSV)/.test(c)), commands.join(" | "));
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "active get");
    assertBytes(await Deno.readFile(`${t.root}/up.bin`), FIVE_MIB, "active put");
    deepEqual(run.stdout.trimEnd().split("\n"), ["d.bin", "up.bin"]);
  },
});

Deno.test({
  name: "lftp: IPv6 [::1] lists and transfers with EPSV",
  ignore: ignore || needsIPv6(),
  async fn() {
    await using t = startServer({ hostname: "::1", files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    // Passive only: in active mode lftp 4.9 sends `EPRT |2|::|port|` (the unspecified address of
    // its listening socket), which ftpgate refuses with 504 like vsftpd and proftpd do, and lftp
    // then falls back to passive mode by itself.
    const run = await lftp(t, [
      `get d.bin -o ${q(`${local.path}/d.bin`)}`,
      `put ${q(`${local.path}/d.bin`)} -o up.bin`,
      "ls",
    ], { cwd: local.path, debug: true });
    assertExit(run, "lftp IPv6");
    const commands = sent(run.stderr);
    ok(commands.includes("EPSV"), commands.join(" | "));
    ok(!commands.includes("PASV"), commands.join(" | "));
    assertBytes(await Deno.readFile(`${local.path}/d.bin`), FIVE_MIB, "IPv6 get");
    assertBytes(await Deno.readFile(`${t.root}/up.bin`), FIVE_MIB, "IPv6 put");
    deepEqual(parseLsListing(run.stdout).map((e) => [e.name, e.size]), [
      ["d.bin", FIVE_MIB.length],
      ["up.bin", FIVE_MIB.length],
    ]);
  },
});

Deno.test({
  name: "lftp: ftp:prefer-epsv chooses PASV or EPSV, and both transfer",
  ignore,
  async fn() {
    await using t = startServer({ files: { "d.bin": FIVE_MIB } });
    await using local = localDir();
    for (const [setting, verb, other] of [["no", "PASV", "EPSV"], ["yes", "EPSV", "PASV"]]) {
      const out = `${local.path}/${verb}.bin`;
      const run = await lftp(t, [`get d.bin -o ${q(out)}`, "ls"], {
        cwd: local.path,
        settings: [`set ftp:prefer-epsv ${setting}`],
        debug: true,
      });
      assertExit(run, `lftp ${verb}`);
      const commands = sent(run.stderr);
      ok(commands.includes(verb), commands.join(" | "));
      ok(!commands.includes(other), commands.join(" | "));
      assertBytes(await Deno.readFile(out), FIVE_MIB, `${verb} get`);
      deepEqual(parseLsListing(run.stdout).map((e) => [e.name, e.size]), [
        ["d.bin", FIVE_MIB.length],
      ]);
    }
  },
});

Deno.test({
  name: "lftp: UTF-8 names go through put, ls, cls, get and mv",
  ignore,
  async fn() {
    const name = "ü 日本.txt";
    const data = new TextEncoder().encode("grüße 日本語\n");
    await using t = startServer();
    await using local = localDir();
    writeTree(local.path, { [name]: data });
    const run = await lftp(t, [
      "mkdir 目录",
      "cd 目录",
      `put ${q(name)}`,
      "ls",
      "cls -1",
      `get ${q(name)} -o ${q(`${local.path}/back.txt`)}`,
      `mv ${q(name)} ${q("ñ.txt")}`,
      "cls -1",
    ], { cwd: local.path });
    assertExit(run, "lftp UTF-8");
    assertBytes(await Deno.readFile(`${local.path}/back.txt`), data, "get of a UTF-8 name");
    const lines = run.stdout.trimEnd().split("\n");
    deepEqual(parseLsListing(lines[0]).map((e) => [e.name, e.size]), [[name, data.length]]);
    deepEqual(lines.slice(1), [name, "ñ.txt"]);
    assertBytes(await Deno.readFile(`${t.root}/目录/ñ.txt`), data, "server copy");
  },
});
