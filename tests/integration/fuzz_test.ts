/**
 * Seeded fuzzing of the control connection: real verbs with random and hostile arguments,
 * mutated lines, random bytes (NUL, CR, LF, IAC, invalid UTF-8), lines around and far beyond the
 * length limit, pipelined bursts and lines split across sends, over four concurrent sessions.
 *
 * After every burst a marker command (`HELP MARK<n>`, answered 501 with the marker in the text)
 * is sent, and the test reads replies until the marker's: every line the server saw must have
 * had exactly one well-formed reply (plus the final reply of each transfer it opened with 150),
 * or the session must have been closed for a reason the line gave (QUIT, a third over-long
 * line). Every read has a deadline, so a hang fails the test. Afterwards nothing outside the
 * root may have changed, and a fresh session must log in and download a file byte for byte.
 *
 * Replay a run with `FTPGATE_FUZZ_SEED=<seed>`; the seed is printed.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { serve } from "../../src/mod.ts";
import { decodeLine } from "../../src/protocol/line_reader.ts";
import { parseCommand } from "../../src/protocol/command.ts";
import { RawClient, type Reply } from "../helpers/raw_client.ts";
import { PASSWORD, randomBytes, USER } from "../helpers/server.ts";
import { closeQuietly, portArgument, sleep, withTimeout } from "../helpers/protocol_helpers.ts";
import {
  assertStillServes,
  Canary,
  CANARY_CONTENT,
  KiB,
  names,
  prng,
  report,
} from "../helpers/hardening_helpers.ts";

const SEED = Number(Deno.env.get("FTPGATE_FUZZ_SEED") ?? 0x5eedf7);
const TOTAL_LINES = 3000;
const WORKERS = 4;
const MAX_LINE = 1024;
const READ_DEADLINE_MS = 5_000;
const encoder = new TextEncoder();

// deno-fmt-ignore
const VERBS = [
  "USER", "PASS", "ACCT", "CWD", "CDUP", "XCWD", "XCUP", "PWD", "XPWD", "MKD", "XMKD", "RMD",
  "XRMD", "DELE", "RNFR", "RNTO", "SIZE", "MDTM", "MFMT", "RETR", "STOR", "APPE", "STOU", "LIST",
  "NLST", "MLSD", "MLST", "STAT", "TYPE", "STRU", "MODE", "REST", "ALLO", "PORT", "EPRT", "PASV",
  "EPSV", "SYST", "NOOP", "FEAT", "OPTS", "HELP", "SITE", "ABOR", "CLNT", "REIN", "HOST", "AUTH",
  "PBSZ", "PROT", "CCC", "SMNT", "MAIL", "QUIT", "XYZZY", "retr", "Cwd", "list", "GET", "",
];

/** A generator of hostile FTP lines, reproducible from its seed. */
class LineFuzzer {
  readonly #random: () => number;
  readonly #sinkPort: number;
  readonly #canaryPath: string;

  constructor(seed: number, sinkPort: number, canaryPath: string) {
    this.#random = prng(seed);
    this.#sinkPort = sinkPort;
    this.#canaryPath = canaryPath;
  }

  int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  chance(p: number): boolean {
    return this.#random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  path(): string {
    // deno-fmt-ignore
    const parts = [
      "..", ".", "a.txt", "dir", "dir/b.txt", "escape", "escape.txt", "up", "%2e%2e", "~", "*",
      "?", "[a-z]*", "-la", "", "new", "ünï名", "x y", ".ftpgate-upload-x", "..\\..", "//",
      this.#canaryPath, "../".repeat(8) + this.#canaryPath.slice(1), "a.txt/.", "dir/../..",
    ];
    const count = 1 + this.int(4);
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(this.pick(parts));
    return (this.chance(0.3) ? "/" : "") + out.join(this.chance(0.8) ? "/" : "\\");
  }

  number(): string {
    // deno-fmt-ignore
    return this.pick([
      "0", "1", "5", "-1", "1023", "65536", "99999999999999999999", "1e3", "0x10",
      String(this.int(1 << 20)), " 7", "",
    ]);
  }

  argument(verb: string): string {
    switch (verb.toUpperCase()) {
      case "USER":
        return this.pick([USER, "anonymous", "root", "ftp", "a".repeat(this.int(300))]);
      case "PASS":
        return this.pick(["wrong", "", "x".repeat(this.int(200)), "ünï"]);
      case "TYPE":
        return this.pick(["A", "I", "L 8", "E", "A N", "A T", "X", "i", "L 7", ""]);
      case "STRU":
      case "MODE":
        return this.pick(["F", "S", "R", "P", "B", "C", "Z", ""]);
      case "REST":
      case "ALLO":
      case "PBSZ":
        return this.number();
      case "PORT":
        // deno-fmt-ignore
        return this.pick([
          portArgument("127.0.0.1", this.#sinkPort),
          portArgument("127.0.0.1", this.int(1024)),
          portArgument("10.0.0.1", 2000 + this.int(1000)),
          "0,0,0,0,0,80", "127,0,0,1", "256,0,0,1,1,1", "a,b,c,d,e,f", "127,0,0,1,-1,5", "",
        ]);
      case "EPRT":
        // deno-fmt-ignore
        return this.pick([
          `|1|127.0.0.1|${this.#sinkPort}|`,
          `|1|127.0.0.1|${this.int(1024)}|`,
          `|2|::1|${this.int(1024)}|`,
          `|1|10.0.0.1|2121|`, "|3|x|1|", "||||", "|1|127.0.0.1|0|", "1127.0.0.112121", "",
        ]);
      case "EPSV":
        return this.pick(["", "", "1", "2", "ALL", "3"]);
      case "PROT":
        return this.pick(["P", "C", "S", "E", ""]);
      case "AUTH":
        return this.pick(["TLS", "SSL", "KERBEROS", ""]);
      case "OPTS":
        return this.pick(["UTF8 ON", "UTF8 OFF", "MLST type;size;modify;", "MLST", "X Y", ""]);
      case "SITE":
        // deno-fmt-ignore
        return this.pick([
          `CHMOD 7${this.int(8)}${this.int(8)} ${this.path()}`,
          "CHMOD", "CHMOD 999 a.txt", "HELP", "EXEC /bin/sh", "",
        ]);
      case "MFMT":
        return this.pick([`20200101000000 ${this.path()}`, `2020 ${this.path()}`, "x", ""]);
      case "HOST":
        return this.pick(["example.com", "", "[::1]", "bad host"]);
      case "HELP":
        return this.pick(["", "RETR", "XYZ"]);
      default:
        return this.chance(0.85) ? this.path() : "";
    }
  }

  /** One command line, without its terminator. */
  line(): { bytes: Uint8Array; kind: string } {
    const roll = this.#random();
    if (roll < 0.5) {
      const verb = this.pick(VERBS);
      const arg = this.argument(verb);
      return { bytes: encoder.encode(arg === "" ? verb : `${verb} ${arg}`), kind: "verb" };
    }
    if (roll < 0.58) {
      // A data connection set up for real, so that the transfer verbs that follow get to 150.
      const setup = this.pick([
        "EPSV",
        "PASV",
        `PORT ${portArgument("127.0.0.1", this.#sinkPort)}`,
        `EPRT |1|127.0.0.1|${this.#sinkPort}|`,
      ]);
      return { bytes: encoder.encode(setup), kind: "setup" };
    }
    if (roll < 0.72) {
      let verb = this.pick(VERBS);
      while (/^(PORT|EPRT)$/i.test(verb)) verb = this.pick(VERBS); // never a bounce by accident
      const bytes = [...encoder.encode(`${verb} ${this.argument(verb)}`)];
      for (let i = 1 + this.int(3); i > 0; i--) {
        const at = this.int(bytes.length + 1);
        const op = this.int(3);
        if (op === 0) bytes.splice(at, 0, this.byte());
        else if (op === 1 && bytes.length > 0) bytes.splice(at, 1);
        else bytes[Math.min(at, bytes.length - 1)] = this.byte();
      }
      return { bytes: new Uint8Array(bytes), kind: "mutated" };
    }
    if (roll < 0.84) {
      const bytes = Array.from({ length: this.int(80) }, () => this.byte());
      return { bytes: new Uint8Array(bytes), kind: "random" };
    }
    if (roll < 0.9) {
      // deno-fmt-ignore
      const length = this.pick([
        MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, MAX_LINE * 2 + this.int(MAX_LINE), 70 * KiB,
      ]);
      const bytes = new Uint8Array(length).fill(0x61);
      bytes.set(encoder.encode(this.pick(["MKD ", "RETR ", "USER ", "XYZ "])));
      return { bytes, kind: "long" };
    }
    const special = this.pick([
      [0xff, 0xfb, 0x18, 0xff, 0xfd, 0x03, ...encoder.encode("NOOP")],
      [...encoder.encode("NO"), 0xff, 0xff, ...encoder.encode("OP")],
      [...encoder.encode("CWD .."), 0xc0, 0xaf, ...encoder.encode("..")],
      [...encoder.encode("RETR a"), 0x00, ...encoder.encode(".txt")],
      [...encoder.encode("MKD "), 0xed, 0xa0, 0x80],
      [...encoder.encode("DELE "), 0xfe, 0xfe],
      [0xff, 0xf2, ...encoder.encode("ABOR")],
      [...encoder.encode("STAT "), 0xff],
      [0x00, 0x00, 0x00],
    ]);
    return { bytes: new Uint8Array(special), kind: "special" };
  }

  byte(): number {
    const roll = this.#random();
    if (roll < 0.15) return this.pick([0x00, 0x0d, 0x0a, 0xff, 0x20, 0x7f]);
    if (roll < 0.35) return 0x80 + this.int(0x80);
    return 0x20 + this.int(0x5f);
  }

  terminator(): number[] {
    const roll = this.#random();
    return roll < 0.8 ? [0x0d, 0x0a] : roll < 0.95 ? [0x0a] : [0x0d];
  }
}

/** Telnet IAC IP is an interrupt whose reply depends on TCP segmentation; the fuzzer avoids it. */
function withoutInterrupts(bytes: Uint8Array): Uint8Array {
  for (let i = 1; i < bytes.length; i++) {
    if (bytes[i - 1] === 0xff && bytes[i] === 0xf4) bytes[i] = 0xf3;
  }
  return bytes;
}

/** What the server will make of a byte stream: its lines, split exactly as the server splits. */
class LineSplitter {
  #afterCR = false;
  #length = 0;
  #bytes: number[] = [];

  /**
   * Feeds bytes; returns each completed line (its bytes, or null when over the limit) and the
   * offset just after its terminator.
   */
  feed(bytes: Uint8Array): { line: Uint8Array | null; end: number }[] {
    const out: { line: Uint8Array | null; end: number }[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (this.#afterCR) {
        this.#afterCR = false;
        if (byte === 0x0a) continue;
      }
      if (byte === 0x0a || byte === 0x0d) {
        const line = this.#length > MAX_LINE ? null : new Uint8Array(this.#bytes);
        out.push({ line, end: i + 1 });
        this.#afterCR = byte === 0x0d;
        this.#length = 0;
        this.#bytes = [];
        continue;
      }
      this.#length++;
      if (this.#length <= MAX_LINE) this.#bytes.push(byte);
    }
    return out;
  }
}

/** What the server is expected to do with one burst. */
interface Expectation {
  /** Lines that get a reply before the marker (or before the close). */
  lines: number;
  /** The session ends after those lines. */
  closes: boolean;
  /** Where the line that ends the session ends: nothing after it is sent. */
  end: number;
  /** The burst may have logged the session out. */
  relogin: boolean;
}

class SessionModel {
  readonly splitter = new LineSplitter();
  longLines = 0;

  /**
   * What the server does with a burst. A burst is cut after the line that ends the session:
   * a client sends nothing after QUIT (and what the server does with bytes it never reads is
   * the separate "lingering close" test in hardening_test.ts).
   */
  expect(burst: Uint8Array): Expectation {
    let lines = 0;
    let relogin = false;
    for (const { line, end } of this.splitter.feed(burst)) {
      lines++;
      if (line === null) {
        if (++this.longLines >= 3) return { lines, closes: true, relogin, end };
        continue;
      }
      const decoded = decodeLine(line);
      if (decoded.kind !== "line") continue;
      const command = parseCommand(decoded.text);
      const verb = command?.verb;
      // QUIT takes no argument: "QUIT x" is a 501 and the session goes on.
      if (verb === "QUIT" && command?.arg === "") return { lines, closes: true, relogin, end };
      if (verb === "USER" || verb === "PASS" || verb === "REIN") relogin = true;
    }
    return { lines, closes: false, relogin, end: burst.length };
  }
}

/** Accepts the server's active-mode connections and reads them to the end. */
class Sink implements AsyncDisposable {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly #served: Promise<void>[] = [];
  readonly #loop: Promise<void>;

  constructor() {
    this.#loop = (async () => {
      for (;;) {
        let conn: Deno.TcpConn;
        try {
          conn = await this.listener.accept();
        } catch {
          return;
        }
        this.#served.push(consume(conn));
      }
    })();
  }

  get port(): number {
    return this.listener.addr.port;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    closeQuietly(this.listener);
    await this.#loop;
    await Promise.all(this.#served);
  }
}

/** Ends our sending side at once (an empty upload) and reads whatever comes (a download). */
async function consume(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(64 * KiB);
  const timer = setTimeout(() => closeQuietly(conn), 5_000);
  try {
    await conn.closeWrite().catch(() => {});
    while ((await conn.read(buffer)) !== null) { /* discard */ }
  } catch {
    /* reset or closed */
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

interface Stats {
  lines: number;
  bursts: number;
  replies: number;
  transfers: number;
  closes: number;
  sessions: number;
  byClass: Record<string, number>;
  byKind: Record<string, number>;
}

function wellFormed(reply: Reply): void {
  ok(reply.code >= 100 && reply.code < 600, `bad code: ${reply.lines.join(" | ")}`);
  ok(/^\d{3}[ -]/.test(reply.lines[0]), `bad first line: ${JSON.stringify(reply.lines[0])}`);
  ok(reply.lines.at(-1)!.startsWith(`${reply.code} `), `bad last line: ${reply.lines.join(" | ")}`);
  for (const line of reply.lines) ok(!line.includes("\r") && !line.includes("\n"));
  ok(!reply.lines.join("\n").includes(CANARY_CONTENT), "the canary's content in a reply");
}

async function openSession(port: number, stats: Stats): Promise<RawClient> {
  const c = await withTimeout(RawClient.connect(port), READ_DEADLINE_MS, "the greeting");
  equal(c.banner.code, 220);
  await c.login(USER, PASSWORD);
  stats.sessions++;
  return c;
}

async function fuzzWorker(
  worker: number,
  port: number,
  sinkPort: number,
  canaryPath: string,
  lineCount: number,
  stats: Stats,
): Promise<void> {
  const fuzz = new LineFuzzer(SEED * 31 + worker, sinkPort, canaryPath);
  let c = await openSession(port, stats);
  let model = new SessionModel();
  let passivePort: number | null = null;
  let lastCode = 0;
  const dataConns: Promise<void>[] = [];
  let sent = 0;
  let burstIndex = 0;
  try {
    while (sent < lineCount) {
      burstIndex++;
      const count = Math.min(lineCount - sent, 1 + fuzz.int(15));
      const parts: number[] = [];
      const kinds: string[] = [];
      for (let i = 0; i < count; i++) {
        const { bytes, kind } = fuzz.line();
        parts.push(...bytes, ...fuzz.terminator());
        kinds.push(kind);
        stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
      }
      sent += count;
      stats.lines += count;
      stats.bursts++;
      const marker = `MARK${worker}Z${burstIndex}`;
      const generated = withoutInterrupts(new Uint8Array(parts));
      const expected = model.expect(generated);
      const burst = generated.subarray(0, expected.end);
      const markerBytes = encoder.encode(`HELP ${marker}\r\n`);
      model.expect(markerBytes);
      const context = () =>
        `seed ${SEED}, worker ${worker}, burst ${burstIndex} (${kinds.join(",")}): ` +
        JSON.stringify(new TextDecoder().decode(burst).slice(0, 400)) +
        ` hex ${
          Array.from(burst.subarray(0, 600), (b) => b.toString(16).padStart(2, "0")).join("")
        }`;
      // Send: one write (pipelined), or in random fragments.
      try {
        if (fuzz.chance(0.8) || burst.length < 2) {
          await c.sendRaw(burst);
        } else {
          let at = 0;
          const piece = Math.max(64, burst.length >> 4); // long lines: ~16 pieces, not thousands
          while (at < burst.length) {
            const end = Math.min(burst.length, at + 1 + fuzz.int(piece));
            await c.sendRaw(burst.subarray(at, end));
            at = end;
            if (fuzz.chance(0.3)) await sleep(1);
          }
        }
        if (!expected.closes) await c.sendRaw(markerBytes);
      } catch (error) {
        // Writing can only fail when the server closed, which the model must have predicted.
        ok(expected.closes, `write failed: ${error} — ${context()}`);
      }
      // Read every reply up to the marker's (or the close).
      let replies = 0;
      let opened = 0;
      let closed = false;
      let closedBy = "";
      const seen: string[] = [];
      for (;;) {
        let reply: Reply;
        try {
          reply = await c.read(READ_DEADLINE_MS);
        } catch (error) {
          if (
            /connection closed/.test(String(error)) || error instanceof Deno.errors.ConnectionReset
          ) {
            closed = true;
            closedBy = error instanceof Deno.errors.ConnectionReset ? "reset" : "fin";
            break;
          }
          throw new Error(`${error} — seen ${JSON.stringify(seen)} — ${context()}`);
        }
        wellFormed(reply);
        seen.push(reply.lines[0].slice(0, 60));
        if (reply.text.includes(marker)) {
          equal(reply.code, 501, context());
          break;
        }
        replies++;
        stats.replies++;
        const cls = `${Math.floor(reply.code / 100)}xx`;
        stats.byClass[cls] = (stats.byClass[cls] ?? 0) + 1;
        lastCode = reply.code;
        if (reply.code === 227 || reply.code === 229) {
          // Like every real client: connect right after the passive reply, before the transfer
          // command (the server sends 150 only once the data connection exists).
          const m = reply.code === 227
            ? /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(reply.text)!
            : null;
          passivePort = m
            ? Number(m[5]) * 256 + Number(m[6])
            : Number(/\(\|\|\|(\d+)\|\)/.exec(reply.text)![1]);
          const target = passivePort;
          dataConns.push(
            Deno.connect({ hostname: "127.0.0.1", port: target }).then(consume, () => {}),
          );
        } else if (reply.code === 200 && /^(PORT|EPRT) command/.test(reply.text)) {
          passivePort = null;
        } else if (reply.code === 220) {
          passivePort = null; // REIN
        } else if (reply.code === 150) {
          opened++;
          stats.transfers++;
        }
      }
      if (expected.closes) {
        ok(closed, `the session should have closed — ${context()}`);
        equal(closedBy, "fin", `the close was a reset — ${context()}`);
        // A transfer cut short by the close may never send its final reply; a closing 421 (after
        // too many over-long lines) comes on top of the reply to the line that caused it.
        const extra = replies - expected.lines - (lastCode === 421 ? 1 : 0);
        ok(
          extra === opened || extra === opened - 1,
          `${replies} replies for ${expected.lines} lines, ${opened} transfers, closed by ${closedBy}` +
            ` — ${context()}`,
        );
        stats.closes++;
        c.close();
        c = await openSession(port, stats);
        model = new SessionModel();
        passivePort = null;
        continue;
      }
      ok(!closed, `the server closed the session unexpectedly — ${context()}`);
      equal(
        replies - opened,
        expected.lines,
        `${replies} replies (${opened} transfers) for ${expected.lines} lines — ${context()}`,
      );
      if (expected.relogin) {
        await c.expect(`USER ${USER}`, 331);
        await c.expect(`PASS ${PASSWORD}`, 230);
      }
    }
  } finally {
    c.close();
    await Promise.all(dataConns);
  }
}

Deno.test("fuzz: 3000 random and mutated lines get well-formed replies or clean closes", async () => {
  report(`fuzz seed ${SEED} (replay with FTPGATE_FUZZ_SEED=${SEED})`);
  const outer = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "ftpgate-fuzz-" }));
  const root = `${outer}/root`;
  Deno.mkdirSync(`${outer}/canary`);
  Deno.mkdirSync(`${root}/dir`, { recursive: true });
  const canary = new Canary(`${outer}/canary`); // removed with `outer`
  Deno.writeTextFileSync(`${root}/a.txt`, "a".repeat(1000));
  Deno.writeTextFileSync(`${root}/dir/b.txt`, "b");
  Deno.symlinkSync(canary.dir, `${root}/escape`);
  Deno.symlinkSync(canary.file, `${root}/escape.txt`);
  Deno.symlinkSync("..", `${root}/up`);
  try {
    await using sink = new Sink();
    const server = serve({
      root,
      users: [{ name: USER, password: PASSWORD }],
      maxLineLength: MAX_LINE,
      dataTimeoutMs: 500,
      stallTimeoutMs: 2_000,
      loginFailureDelayMs: 0,
      maxLoginAttempts: 1_000_000,
      banAfterFailures: 1_000_000_000,
    });
    try {
      const stats: Stats = {
        lines: 0,
        bursts: 0,
        replies: 0,
        transfers: 0,
        closes: 0,
        sessions: 0,
        byClass: {},
        byKind: {},
      };
      const started = Date.now();
      const perWorker = TOTAL_LINES / WORKERS;
      await withTimeout(
        Promise.all(
          Array.from(
            { length: WORKERS },
            (_, worker) =>
              fuzzWorker(worker, server.addr.port, sink.port, canary.file, perWorker, stats),
          ),
        ),
        60_000,
        "the fuzz workers",
      );
      report(
        `fuzz: ${stats.lines} lines in ${stats.bursts} bursts over ${stats.sessions} sessions, ` +
          `${stats.replies} replies ${
            JSON.stringify(stats.byClass)
          }, ${stats.transfers} transfers, ` +
          `${stats.closes} clean closes, kinds ${JSON.stringify(stats.byKind)}, ` +
          `${Date.now() - started} ms`,
      );
      equal(stats.lines, TOTAL_LINES);
      // Nothing outside the root appeared or changed.
      deepEqual(names(outer), ["canary", "root"]);
      canary.assertIntact();
      // No crash: a fresh session still logs in and downloads byte for byte.
      Deno.chmodSync(root, 0o755);
      const check = randomBytes(64 * KiB, 99);
      Deno.writeFileSync(`${root}/check.bin`, check);
      await assertStillServes(server.addr.port, "/check.bin", check);
    } finally {
      await server.shutdown({ graceMs: 0 });
    }
  } finally {
    Deno.removeSync(outer, { recursive: true });
  }
});
