import { deepEqual, equal } from "node:assert/strict";
import {
  type ByteReader,
  decodeLine,
  LineReader,
  type LineResult,
  stripTelnet,
} from "../../src/protocol/line_reader.ts";

const IAC = 0xff;
const WILL = 251;
const WONT = 252;
const DO = 253;
const DONT = 254;
const IP = 244;
const DM = 242;
const NOP = 241;

const encoder = new TextEncoder();

type Chunk = string | number[] | Uint8Array;

function bytes(chunk: Chunk): Uint8Array {
  if (typeof chunk === "string") return encoder.encode(chunk);
  return chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
}

/**
 * A ByteReader that hands out scripted chunks, one chunk per read at most (a chunk larger than
 * the caller's buffer is handed out over several reads), then null. An empty chunk is a read
 * that returns 0.
 */
class ScriptedReader implements ByteReader {
  #chunks: Uint8Array[];
  reads = 0;
  constructor(chunks: readonly Chunk[]) {
    this.#chunks = chunks.map(bytes);
  }
  read(buffer: Uint8Array): Promise<number | null> {
    this.reads++;
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return Promise.resolve(null);
    const n = Math.min(chunk.length, buffer.length);
    buffer.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#chunks.unshift(chunk.subarray(n));
    return Promise.resolve(n);
  }
}

/** Reads every result until end of stream. */
async function readAll(reader: LineReader): Promise<LineResult[]> {
  const results: LineResult[] = [];
  for (;;) {
    const result = await reader.readLine();
    if (result === null) return results;
    results.push(result);
  }
}

function linesOf(...texts: string[]): LineResult[] {
  return texts.map((text) => ({ kind: "line", text }));
}

/** Splits bytes into chunks of `size` bytes. */
function split(data: Chunk, size: number): Uint8Array[] {
  const all = bytes(data);
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
}

function concatChunks(...chunks: Chunk[]): Uint8Array {
  const parts = chunks.map(bytes);
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function read(chunks: readonly Chunk[], maxLength = 4096, chunkSize = 512) {
  return await readAll(new LineReader(new ScriptedReader(chunks), maxLength, chunkSize));
}

Deno.test("LineReader.readLine() splits lines at each line ending", async (t) => {
  const cases: { name: string; chunks: Chunk[]; expected: LineResult[] }[] = [
    { name: "CRLF", chunks: ["USER bob\r\nPASS x\r\n"], expected: linesOf("USER bob", "PASS x") },
    { name: "bare LF", chunks: ["USER bob\nPASS x\n"], expected: linesOf("USER bob", "PASS x") },
    { name: "bare CR (ftplib ABOR)", chunks: ["ABOR\r"], expected: linesOf("ABOR") },
    { name: "bare CR then a line", chunks: ["ABOR\rSTAT\r\n"], expected: linesOf("ABOR", "STAT") },
    {
      name: "CR ends one read, LF starts the next",
      chunks: ["USER bob\r", "\nPASS x\r\n"],
      expected: linesOf("USER bob", "PASS x"),
    },
    {
      name: "CR ends one read, a command starts the next",
      chunks: ["ABOR\r", "STAT\r\n"],
      expected: linesOf("ABOR", "STAT"),
    },
    { name: "mixed endings", chunks: ["A\nB\r\nC\rD\r\n"], expected: linesOf("A", "B", "C", "D") },
    { name: "an empty line", chunks: ["\r\nNOOP\r\n"], expected: linesOf("", "NOOP") },
    {
      name: "CR CR LF is a CR line then a CRLF line",
      chunks: ["A\r\r\n"],
      expected: linesOf("A", ""),
    },
    { name: "LF LF is two lines", chunks: ["A\n\n"], expected: linesOf("A", "") },
    { name: "spaces are kept", chunks: ["RETR  a b \r\n"], expected: linesOf("RETR  a b ") },
  ];
  for (const { name, chunks, expected } of cases) {
    await t.step(name, async () => {
      deepEqual(await read(chunks), expected);
    });
  }
});

Deno.test("LineReader.readLine() joins a line split across many reads", async () => {
  const text = "STOR some/long/path/with many words.txt";
  deepEqual(await read(split(`${text}\r\nNOOP\r\n`, 1)), linesOf(text, "NOOP"));
  deepEqual(await read(split(`${text}\r\nNOOP\r\n`, 3)), linesOf(text, "NOOP"));
});

Deno.test("LineReader.readLine() joins a line longer than its read buffer", async () => {
  const text = "RETR " + "x".repeat(1000);
  deepEqual(await read([`${text}\r\nNOOP\r\n`], 4096, 16), linesOf(text, "NOOP"));
});

Deno.test("LineReader.readLine() returns several lines from one read, reading once", async () => {
  const source = new ScriptedReader(["A\r\nB\r\nC\r\n"]);
  const reader = new LineReader(source);
  deepEqual(await reader.readLine(), { kind: "line", text: "A" });
  deepEqual(await reader.readLine(), { kind: "line", text: "B" });
  deepEqual(await reader.readLine(), { kind: "line", text: "C" });
  equal(source.reads, 1);
  equal(await reader.readLine(), null);
});

Deno.test("LineReader.readLine() accepts a line of exactly maxLength bytes", async (t) => {
  const text = "x".repeat(64);
  await t.step("in one read", async () => {
    deepEqual(await read([`${text}\r\n`], 64), linesOf(text));
  });
  await t.step("across reads", async () => {
    deepEqual(await read(split(`${text}\r\n`, 10), 64, 16), linesOf(text));
  });
  await t.step("with the CR and LF in separate reads", async () => {
    deepEqual(await read([text + "\r", "\n"], 64, 16), linesOf(text));
  });
});

Deno.test("LineReader.readLine() reports a line one byte over maxLength as too long", async (t) => {
  const text = "x".repeat(65);
  await t.step("in one read", async () => {
    deepEqual(await read([`${text}\r\n`], 64), [{ kind: "too-long" }]);
  });
  await t.step("across reads", async () => {
    deepEqual(await read(split(`${text}\r\n`, 10), 64, 16), [{ kind: "too-long" }]);
  });
  await t.step("with the last byte alone in the last read", async () => {
    deepEqual(await read(["x".repeat(64), "x\r\n"], 64, 64), [{ kind: "too-long" }]);
  });
});

Deno.test("LineReader.readLine() counts maxLength in bytes, not characters", async () => {
  // "é" is two bytes in UTF-8.
  deepEqual(await read(["é".repeat(32) + "\r\n"], 64), linesOf("é".repeat(32)));
  deepEqual(await read(["é".repeat(33) + "\r\n"], 64), [{ kind: "too-long" }]);
});

Deno.test("LineReader.readLine() resumes at the next line after a too-long one", async (t) => {
  const long = "RETR " + "y".repeat(500);
  await t.step("in one read", async () => {
    deepEqual(await read([`${long}\r\nNOOP\r\n`], 64), [
      { kind: "too-long" },
      { kind: "line", text: "NOOP" },
    ]);
  });
  await t.step("across many reads, CR and LF split", async () => {
    const chunks = [...split(long, 7), "\r", "\nNOOP\r\n"];
    deepEqual(await read(chunks, 64, 16), [{ kind: "too-long" }, { kind: "line", text: "NOOP" }]);
  });
  await t.step("two too-long lines in a row", async () => {
    deepEqual(await read(split(`${long}\n${long}\nPWD\n`, 33), 64, 32), [
      { kind: "too-long" },
      { kind: "too-long" },
      { kind: "line", text: "PWD" },
    ]);
  });
});

Deno.test("LineReader.readLine() removes Telnet IAC sequences", async (t) => {
  const cases: { name: string; chunks: Chunk[]; expected: LineResult[] }[] = [
    {
      name: "IAC IP IAC DM ABOR",
      chunks: [concatChunks([IAC, IP, IAC, DM], "ABOR\r\n")],
      expected: linesOf("ABOR"),
    },
    {
      name: "IAC IP IAC + ABOR (DM taken out of band): an interrupt, then the line",
      chunks: [[IAC, IP, IAC], "ABOR\r\n"],
      expected: [{ kind: "interrupt" }, ...linesOf("ABOR")],
    },
    {
      name: "IAC IP IAC + ABOR\\r (DM and LF taken out of band): an interrupt, then the line",
      chunks: [[IAC, IP, IAC], "ABOR\r"],
      expected: [{ kind: "interrupt" }, ...linesOf("ABOR")],
    },
    {
      name: "IAC WILL x before a command",
      chunks: [concatChunks([IAC, WILL, 1], "NOOP\r\n")],
      expected: linesOf("NOOP"),
    },
    {
      name: "WONT, DO, DONT and NOP inside a line",
      chunks: [
        concatChunks("NO", [IAC, WONT, 3, IAC, DO, 24], "O", [IAC, DONT, 1, IAC, NOP], "P\r\n"),
      ],
      expected: linesOf("NOOP"),
    },
    {
      name: "a sequence split across reads",
      chunks: [[IAC], [IP, IAC], [DM, 0x41], "BOR\r\n"],
      expected: [{ kind: "interrupt" }, ...linesOf("ABOR")],
    },
    {
      name: "a trailing lone IAC",
      chunks: [concatChunks("NOOP", [IAC], "\r\n")],
      expected: linesOf("NOOP"),
    },
  ];
  for (const { name, chunks, expected } of cases) {
    await t.step(name, async () => {
      deepEqual(await read(chunks), expected);
    });
  }
});

Deno.test("LineReader.readLine() turns IAC IAC into a 0xFF byte, which is not UTF-8", async () => {
  // 0xFF never occurs in UTF-8, so the escaped byte makes the line undecodable.
  deepEqual(await read([concatChunks("RETR a", [IAC, IAC], "b\r\nNOOP\r\n")]), [
    { kind: "bad-encoding" },
    { kind: "line", text: "NOOP" },
  ]);
});

Deno.test("LineReader.readLine() reports invalid UTF-8 and carries on", async (t) => {
  const cases: { name: string; bad: number[] }[] = [
    { name: "a lone continuation byte", bad: [0x80] },
    { name: "a truncated two-byte sequence", bad: [0xc3, 0x28] },
    { name: "an overlong encoding of /", bad: [0xc0, 0xaf] },
    { name: "a UTF-16 surrogate", bad: [0xed, 0xa0, 0x80] },
    { name: "Latin-1 é", bad: [0xe9] },
  ];
  for (const { name, bad } of cases) {
    await t.step(name, async () => {
      deepEqual(await read([concatChunks("RETR ", bad, "\r\nPWD\r\n")]), [
        { kind: "bad-encoding" },
        { kind: "line", text: "PWD" },
      ]);
    });
  }
});

Deno.test("LineReader.readLine() decodes multi-byte UTF-8 split across reads", async () => {
  const text = "STOR été/€uro/😀.txt";
  deepEqual(await read(split(`${text}\r\n`, 1), 4096, 8), linesOf(text));
  deepEqual(await read(split(`${text}\r\n`, 5), 4096, 8), linesOf(text));
});

Deno.test("LineReader.readLine() resolves to null at end of stream", async (t) => {
  await t.step("on an empty stream", async () => {
    equal(await new LineReader(new ScriptedReader([])).readLine(), null);
  });
  await t.step("mid-line: the unterminated line is dropped", async () => {
    deepEqual(await read(["NOOP\r\nQU", "IT"]), linesOf("NOOP"));
  });
  await t.step("mid-way through a too-long line", async () => {
    deepEqual(await read(["x".repeat(100)], 64, 16), []);
  });
  await t.step("and again when asked twice", async () => {
    const reader = new LineReader(new ScriptedReader(["A\n"]));
    deepEqual(await reader.readLine(), { kind: "line", text: "A" });
    equal(await reader.readLine(), null);
    equal(await reader.readLine(), null);
  });
});

Deno.test("LineReader.switchSource() hands back buffered bytes and reads from the new source", async (t) => {
  const cases: { name: string; chunks: Chunk[]; rest: number[]; expectLF: boolean }[] = [
    { name: "LF, nothing after", chunks: ["AUTH TLS\n"], rest: [], expectLF: false },
    {
      name: "LF, early ClientHello",
      chunks: ["AUTH TLS\n\x16\x03\x01"],
      rest: [0x16, 3, 1],
      expectLF: false,
    },
    { name: "CRLF in one read", chunks: ["AUTH TLS\r\n"], rest: [], expectLF: false },
    {
      name: "CRLF, early ClientHello",
      chunks: ["AUTH TLS\r\n\x16\x03\x01"],
      rest: [0x16, 3, 1],
      expectLF: false,
    },
    { name: "CR, LF not yet received", chunks: ["AUTH TLS\r"], rest: [], expectLF: true },
    {
      name: "bare CR, then ClientHello",
      chunks: ["AUTH TLS\r\x16\x03"],
      rest: [0x16, 3],
      expectLF: false,
    },
  ];
  for (const { name, chunks, rest, expectLF } of cases) {
    await t.step(name, async () => {
      const reader = new LineReader(new ScriptedReader(chunks));
      deepEqual(await reader.readLine(), { kind: "line", text: "AUTH TLS" });
      const switched = reader.switchSource(new ScriptedReader(["USER bob\r\n", "\nPWD\r\n"]));
      deepEqual([...switched.rest], rest);
      equal(switched.expectLF, expectLF);
      // The new source starts clean: its first LF is a line end of its own, not half of a CRLF.
      deepEqual(await readAll(reader), linesOf("USER bob", "", "PWD"));
    });
  }
});

Deno.test("LineReader.switchSource() hands back the bytes of an unfinished next line", async () => {
  const reader = new LineReader(new ScriptedReader(["AUTH TLS\nPAR", "TIAL"]), 4096, 64);
  deepEqual(await reader.readLine(), { kind: "line", text: "AUTH TLS" });
  deepEqual([...reader.switchSource(new ScriptedReader(["NOOP\n"])).rest], [...bytes("PAR")]);
  deepEqual(await readAll(reader), linesOf("NOOP"));
});

Deno.test("LineReader.maxLength defaults to 4096", async () => {
  equal(new LineReader(new ScriptedReader([])).maxLength, 4096);
  deepEqual(await read(["x".repeat(4096) + "\r\n"]), linesOf("x".repeat(4096)));
  deepEqual(await read(["x".repeat(4097) + "\r\n"]), [{ kind: "too-long" }]);
});

Deno.test({
  name: "LineReader.readLine() pairs CR and LF across a zero-byte read",
  fn: async () => {
    deepEqual(await read(["USER bob\r", "", "\nPASS x\r\n"]), linesOf("USER bob", "PASS x"));
  },
});

Deno.test("stripTelnet() removes commands and unescapes IAC IAC", () => {
  const cases: { input: number[]; expected: number[] }[] = [
    { input: [0x41, 0x42], expected: [0x41, 0x42] },
    { input: [IAC, IAC], expected: [IAC] },
    { input: [0x41, IAC, IAC, IAC, IAC, 0x42], expected: [0x41, IAC, IAC, 0x42] },
    { input: [IAC, IP, IAC, DM, 0x41], expected: [0x41] },
    { input: [IAC, IP, IAC, 0x41], expected: [0x41] },
    { input: [IAC, WILL, 0x41, 0x42], expected: [0x42] },
    { input: [IAC, DONT], expected: [] },
    { input: [0x41, IAC], expected: [0x41] },
    { input: [IAC, 240, 0x41], expected: [0x41] },
    { input: [], expected: [] },
  ];
  for (const { input, expected } of cases) {
    deepEqual([...stripTelnet(new Uint8Array(input))], expected, `input ${input}`);
  }
});

Deno.test("decodeLine() decodes UTF-8 and rejects what is not", () => {
  deepEqual(decodeLine(encoder.encode("CWD /ünï")), { kind: "line", text: "CWD /ünï" });
  deepEqual(decodeLine(new Uint8Array([IAC, IP, 0x41])), { kind: "line", text: "A" });
  deepEqual(decodeLine(new Uint8Array([0x41, 0xc3])), { kind: "bad-encoding" });
  deepEqual(decodeLine(new Uint8Array([])), { kind: "line", text: "" });
});

Deno.test("LineReader.readLine() reports IAC IP at the end of a partial line as an interrupt", async () => {
  // lftp: IAC IP IAC, then DM as urgent data (gone from the stream), then ABOR CRLF later.
  const reader = new LineReader(
    new ScriptedReader([new Uint8Array([0xff, 0xf4, 0xff]), "ABOR\r\n", "NOOP\r\n"]),
  );
  deepEqual(await reader.readLine(), { kind: "interrupt" });
  deepEqual(await reader.readLine(), { kind: "line", text: "ABOR" });
  deepEqual(await reader.readLine(), { kind: "line", text: "NOOP" });
});

Deno.test("LineReader.readLine() does not report an interrupt when the whole line has arrived", async () => {
  const reader = new LineReader(
    new ScriptedReader([
      new Uint8Array([0xff, 0xf4, 0xff, 0xf2, 0x41, 0x42, 0x4f, 0x52, 0x0d, 0x0a]),
    ]),
  );
  deepEqual(await reader.readLine(), { kind: "line", text: "ABOR" });
  equal(await reader.readLine(), null);
});

Deno.test("LineReader.readLine() ends ABOR at its CR when the urgent LF was taken out (ftplib.abort)", async (t) => {
  // CPython's ftplib.abort() sends b"ABOR\r\n" with MSG_OOB: the kernel removes the urgent
  // last byte, so the stream holds "ABOR\r" and then whatever the client sends next.
  const cases: [string, Chunk[]][] = [
    ["next command in a later read", ["ABOR\r", "NOOP\r\n"]],
    ["next command in the same read", ["ABOR\rNOOP\r\n"]],
    ["CR alone", ["ABOR", "\r", "NOOP\r\n"]],
    ["byte by byte", [...split("ABOR\rNOOP\r\n", 1)]],
  ];
  for (const [name, chunks] of cases) {
    await t.step(name, async () => deepEqual(await read(chunks), linesOf("ABOR", "NOOP")));
  }
});

Deno.test("LineReader.readLine() drops a lone IAC whose command byte went out of band", async (t) => {
  // BSD ftp and tnftp: IAC IP IAC, DM as urgent data (removed), then "ABOR\r\n": the IAC left
  // before "A" must be dropped, not decoded (it is not UTF-8: that was a stray 501).
  const cases: [string, Chunk[], LineResult[]][] = [
    ["one read", [concatChunks([IAC, IP, IAC], "ABOR\r\n"), "NOOP\r\n"], linesOf("ABOR", "NOOP")],
    [
      "the IAC with the command",
      [[IAC, IP], concatChunks([IAC], "ABOR\r\n"), "NOOP\r\n"],
      [{ kind: "interrupt" }, ...linesOf("ABOR", "NOOP")],
    ],
    [
      "every byte alone",
      [...split(concatChunks([IAC, IP, IAC], "ABOR\r\nNOOP\r\n"), 1)],
      [{ kind: "interrupt" }, ...linesOf("ABOR", "NOOP")],
    ],
    ["IAC DM inline too", [concatChunks([IAC, IP, IAC, DM], "ABOR\r\n")], linesOf("ABOR")],
  ];
  for (const [name, chunks, expected] of cases) {
    await t.step(name, async () => deepEqual(await read(chunks), expected));
  }
});

Deno.test("LineReader.take() gives the buffered lines, then asks for a read", async () => {
  const source = new ScriptedReader(["USER a\r\nPASS b\r\nNO", "", "OP\r\n"]);
  const reader = new LineReader(source, 4096, 64);
  const lines: (LineResult | null)[] = [];
  let reads = 0;
  for (;;) {
    const line = reader.take();
    if (line !== undefined) {
      lines.push(line);
      continue;
    }
    reads++;
    if (!reader.received(await reader.read())) break;
  }
  deepEqual(lines, [
    { kind: "line", text: "USER a" },
    { kind: "line", text: "PASS b" },
    { kind: "line", text: "NOOP" },
  ]);
  equal(reads, 4); // the three chunks (one of them empty), then the end of stream
  equal(source.reads, 4);
});

Deno.test("LineReader.received() wakes nextRead() waiters, at the end of stream too", async () => {
  const reader = new LineReader(new ScriptedReader([]));
  const woken = reader.nextRead();
  equal(reader.received(await reader.read()), false);
  await woken;
});
