import { deepEqual, equal, throws } from "node:assert/strict";
import { CodecError } from "../../src/data/representation/errors.ts";
import {
  FileToRecord,
  LinesToRecords,
  RDW_MAX_RECORD,
  RdwToRecords,
  RecordsToLines,
  RecordsToRdw,
  RecordToFile,
} from "../../src/data/representation/records.ts";
import type { Stage } from "../../src/data/representation/stage.ts";
import { bytes, chunkings, hex, Random, randomChunks, runStage } from "./codec_helpers.ts";

const LF = 0x0a;
const NL = 0x15;

function throwsCodec(run: () => unknown, kind: CodecError["kind"], message?: string): void {
  throws(run, (error) => error instanceof CodecError && error.kind === kind, message);
}

/** [stored text, record form] pairs for a line end byte. */
const LINE_PAIRS: [stored: Uint8Array, records: Uint8Array][] = [
  [bytes(), bytes(0xff, 0x02)],
  [bytes("a\n"), bytes("a", 0xff, 0x01, 0xff, 0x02)],
  [bytes("a\nbc\n"), bytes("a", 0xff, 0x01, "bc", 0xff, 0x01, 0xff, 0x02)],
  [bytes("\n"), bytes(0xff, 0x01, 0xff, 0x02)], // one empty record
  [bytes("\n\n"), bytes(0xff, 0x01, 0xff, 0x01, 0xff, 0x02)],
  [bytes("last"), bytes("last", 0xff, 0x02)], // a last line without LF: no EOR
  [bytes("a\nb"), bytes("a", 0xff, 0x01, "b", 0xff, 0x02)],
  [bytes(0xff, "\n"), bytes(0xff, 0xff, 0xff, 0x01, 0xff, 0x02)], // a data byte 0xFF doubles
  [bytes(0xff, 0xff), bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x02)],
  [bytes("a\r\n"), bytes("a\r", 0xff, 0x01, 0xff, 0x02)], // CR is data
];

Deno.test("LinesToRecords() and RecordsToLines() convert a table of files both ways", () => {
  for (const [stored, records] of LINE_PAIRS) {
    for (const chunks of chunkings(stored)) {
      equal(hex(runStage(new LinesToRecords(LF), chunks)), hex(records), hex(stored));
    }
    for (const chunks of chunkings(records)) {
      equal(hex(runStage(new RecordsToLines(LF), chunks)), hex(stored), hex(records));
    }
  }
});

Deno.test("LinesToRecords() uses the line end it is given (EBCDIC NL)", () => {
  deepEqual(
    runStage(new LinesToRecords(NL), [bytes(0xc1, NL, 0x0a)]),
    bytes(0xc1, 0xff, 0x01, 0x0a, 0xff, 0x02),
  );
  deepEqual(
    runStage(new RecordsToLines(NL), [bytes(0xc1, 0xff, 0x01, 0xff, 0x02)]),
    bytes(0xc1, NL),
  );
});

Deno.test("RecordsToLines() reads every escape RFC 959 §3.4.1 defines", () => {
  const cases: [records: Uint8Array, stored: Uint8Array][] = [
    [bytes("a", 0xff, 0x03), bytes("a\n")], // EOR and EOF in one
    [bytes("a", 0xff, 0x01), bytes("a\n")], // the connection closed without EOF: that is the end
    [bytes("a"), bytes("a")],
    [bytes(), bytes()],
    [bytes(0xff, 0x01, 0xff, 0x03), bytes("\n\n")],
  ];
  for (const [records, stored] of cases) {
    deepEqual(runStage(new RecordsToLines(LF), [records]), stored, hex(records));
  }
});

Deno.test("RecordsToLines() refuses bad escapes, data after EOF, and a cut escape", () => {
  for (const second of [0x00, 0x04, 0x10, 0x80, 0xfe]) {
    throwsCodec(() => runStage(new RecordsToLines(LF), [bytes("a", 0xff, second)]), "malformed");
  }
  throwsCodec(() => runStage(new RecordsToLines(LF), [bytes(0xff, 0x02, "x")]), "trailing-data");
  throwsCodec(
    () => runStage(new RecordsToLines(LF), [bytes(0xff, 0x02), bytes("x")]),
    "trailing-data",
  );
  throwsCodec(() => runStage(new RecordsToLines(LF), [bytes("a", 0xff)]), "truncated");
});

Deno.test("RecordsToLines() is clean except inside an escape", () => {
  const stage = new RecordsToLines(LF);
  stage.push(bytes("ab"));
  equal(stage.clean, true);
  stage.push(bytes(0xff));
  equal(stage.clean, false);
  stage.push(bytes(0x01));
  equal(stage.clean, true);
});

/** RDW record: 2-byte length including the RDW, 2 zero bytes, data. */
function rdw(...records: Uint8Array[]): Uint8Array {
  const parts: number[] = [];
  for (const record of records) {
    parts.push((record.length + 4) >> 8, (record.length + 4) & 0xff, 0, 0, ...record);
  }
  return new Uint8Array(parts);
}

const RDW_PAIRS: [stored: Uint8Array, records: Uint8Array][] = [
  [bytes(), bytes(0xff, 0x02)],
  [rdw(bytes("AB")), bytes("AB", 0xff, 0x01, 0xff, 0x02)],
  [rdw(bytes()), bytes(0xff, 0x01, 0xff, 0x02)], // an empty record
  [rdw(bytes(1, 2), bytes(0xff)), bytes(1, 2, 0xff, 0x01, 0xff, 0xff, 0xff, 0x01, 0xff, 0x02)],
  [rdw(bytes(0x0a, 0x15)), bytes(0x0a, 0x15, 0xff, 0x01, 0xff, 0x02)], // line ends are data here
];

Deno.test("RdwToRecords() and RecordsToRdw() convert a table of files both ways", () => {
  for (const [stored, records] of RDW_PAIRS) {
    for (const chunks of chunkings(stored)) {
      equal(hex(runStage(new RdwToRecords(), chunks)), hex(records), hex(stored));
    }
    for (const chunks of chunkings(records)) {
      equal(hex(runStage(new RecordsToRdw(), chunks)), hex(stored), hex(records));
    }
  }
});

Deno.test("RdwToRecords() refuses a stored file that is not RDW records", () => {
  const cases: [stored: Uint8Array, why: string][] = [
    [bytes(0, 3, 0, 0), "a length below the RDW's own 4 bytes"],
    [bytes(0, 5, 1, 0, 9), "non-zero flag bytes (a spanned segment)"],
    [bytes(0, 6, 0, 0, 9), "a record cut short by the end of the file"],
    [bytes(0, 5), "a header cut short"],
    [bytes("plain text\n"), "an ordinary file"],
  ];
  for (const [stored, why] of cases) {
    throwsCodec(() => runStage(new RdwToRecords(), [stored]), "not-records", why);
  }
});

Deno.test("RecordsToRdw() stores a last record without EOR, and refuses one too long", () => {
  deepEqual(runStage(new RecordsToRdw(), [bytes("xy", 0xff, 0x02)]), rdw(bytes("xy")));
  deepEqual(runStage(new RecordsToRdw(), [bytes("xy")]), rdw(bytes("xy")));
  const longest = new Uint8Array(RDW_MAX_RECORD).fill(0x41);
  deepEqual(runStage(new RecordsToRdw(), [longest, bytes(0xff, 0x01)]), rdw(longest));
  throwsCodec(() => runStage(new RecordsToRdw(), [longest, bytes("x")]), "record-too-long");
  throwsCodec(() => runStage(new RecordsToRdw(), [longest, bytes(0xff, 0xff)]), "record-too-long");
});

Deno.test("RdwToRecords() is clean exactly at record boundaries", () => {
  const stage = new RdwToRecords();
  const stored = rdw(bytes("abc"), bytes("de"));
  const clean: number[] = [];
  for (let i = 0; i < stored.length; i++) {
    stage.push(stored.subarray(i, i + 1));
    if (stage.clean) clean.push(i + 1);
  }
  deepEqual(clean, [7, 13]);
});

Deno.test("FileToRecord() and RecordToFile() make the whole file one record", () => {
  deepEqual(
    runStage(new FileToRecord(), [bytes("a", 0xff)]),
    bytes("a", 0xff, 0xff, 0xff, 0x01, 0xff, 0x02),
  );
  deepEqual(runStage(new FileToRecord(), []), bytes(0xff, 0x01, 0xff, 0x02));
  deepEqual(
    runStage(new RecordToFile(), [bytes("a", 0xff, 0xff, 0xff, 0x01, 0xff, 0x02)]),
    bytes("a", 0xff),
  );
  deepEqual(runStage(new RecordToFile(), [bytes(0xff, 0x02)]), bytes());
  throwsCodec(
    () => runStage(new RecordToFile(), [bytes("a", 0xff, 0x01, "b", 0xff, 0x01)]),
    "malformed",
  );
});

Deno.test("record stages round-trip random files at random chunkings", () => {
  const random = new Random(959);
  const pairs: [() => Stage, () => Stage, (r: Random) => Uint8Array][] = [
    [
      () => new LinesToRecords(LF),
      () => new RecordsToLines(LF),
      (r) => r.bytes(r.int(40), [0x41, 0x0a, 0xff, 0x01, 0x02]),
    ],
    [
      () => new FileToRecord(),
      () => new RecordToFile(),
      (r) => r.bytes(r.int(40), [0x41, 0xff, 0x01, 0x02]),
    ],
    [() => new RdwToRecords(), () => new RecordsToRdw(), (r) => {
      const records = Array.from(
        { length: r.int(5) },
        () => r.bytes(r.int(12), [0x41, 0xff, 0x01, 0x02, 0]),
      );
      return rdw(...records);
    }],
  ];
  for (const [encode, decode, make] of pairs) {
    for (let round = 0; round < 500; round++) {
      const stored = make(random);
      const records = runStage(encode(), randomChunks(stored, random, 5));
      deepEqual(runStage(decode(), randomChunks(records, random, 5)), stored, hex(stored));
    }
  }
});
