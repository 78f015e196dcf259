import { deepEqual, equal, ok } from "node:assert/strict";
import {
  formatFacts,
  formatTimeVal,
  MLST_FACTS,
  type MlstFact,
  mlstFeature,
  parseMlstOptions,
  parseTimeVal,
  permFact,
} from "../../src/listing/mlsx.ts";
import { type Permission, PERMISSIONS } from "../../src/identity/rules.ts";
import {
  type FileStat,
  FULL_CAPABILITIES,
  type StorageCapabilities,
} from "../../src/storage/storage.ts";

const ALL = new Set(MLST_FACTS);

function stat(overrides: Partial<FileStat> = {}): FileStat {
  return {
    name: "a.txt",
    type: "file",
    size: 5,
    mtime: new Date("2026-11-20T10:30:00Z"),
    mode: 0o644,
    id: "801g2a",
    ...overrides,
  };
}

Deno.test("formatFacts() lists every enabled fact, then a space and the name", () => {
  equal(
    formatFacts(stat(), "a.txt", ALL, "adfrw", "entry"),
    "type=file;size=5;modify=20261120103000;perm=adfrw;unix.mode=0644;unique=801g2a; a.txt",
  );
  equal(
    formatFacts(
      stat({ type: "dir", size: 4096, mode: 0o755, id: "d1" }),
      "pub",
      ALL,
      "cdeflmp",
      "entry",
    ),
    "type=dir;size=4096;modify=20261120103000;perm=cdeflmp;unix.mode=0755;unique=d1; pub",
  );
});

Deno.test("permFact() derives the perm fact from the rules and the capabilities", () => {
  const everything = new Set(PERMISSIONS);
  const readOnly = new Set<Permission>(["list", "download"]);
  const dropBox = new Set<Permission>(["upload"]);
  const noRenames = { ...FULL_CAPABILITIES, renameFile: false, renameDirectory: false };
  const cases: [FileStat["type"], ReadonlySet<Permission>, StorageCapabilities, string][] = [
    ["file", everything, FULL_CAPABILITIES, "adfrw"],
    ["file", readOnly, FULL_CAPABILITIES, "r"],
    ["dir", everything, FULL_CAPABILITIES, "cdeflmp"],
    ["dir", readOnly, FULL_CAPABILITIES, "el"],
    ["dir", dropBox, FULL_CAPABILITIES, "ce"],
    ["file", dropBox, FULL_CAPABILITIES, ""],
    ["file", everything, noRenames, "adrw"],
    ["dir", everything, noRenames, "cdelmp"],
    ["file", everything, { ...FULL_CAPABILITIES, append: false }, "dfrw"],
  ];
  const only = new Set<MlstFact>(["perm"]);
  for (const [type, permissions, capabilities, perm] of cases) {
    equal(permFact(type, permissions, capabilities), perm, `${type} ${[...permissions]}`);
    equal(formatFacts(stat({ type }), "x", only, perm, "entry"), `perm=${perm}; x`);
  }
});

Deno.test("formatFacts() reports cdir and pdir for the listed directory and its parent", () => {
  const dir = stat({ type: "dir", name: "pub" });
  const only = new Set<MlstFact>(["type"]);
  equal(formatFacts(dir, ".", only, "el", "cdir"), "type=cdir; .");
  equal(formatFacts(dir, "..", only, "el", "pdir"), "type=pdir; ..");
  equal(formatFacts(dir, "/pub", only, "el", "entry"), "type=dir; /pub");
  ok(formatFacts(dir, ".", ALL, "el", "cdir").startsWith("type=cdir;size=5;"));
});

Deno.test("formatFacts() keeps a fixed fact order whatever order the set has", () => {
  const facts = new Set<MlstFact>(["unique", "size", "type"]);
  equal(
    formatFacts(stat(), "a.txt", facts, "adfrw", "entry"),
    "type=file;size=5;unique=801g2a; a.txt",
  );
  equal(formatFacts(stat(), "a.txt", new Set(), "adfrw", "entry"), " a.txt");
});

Deno.test("formatFacts() writes unix.mode in octal with a leading zero, permission bits only", () => {
  const cases: [mode: number, expected: string][] = [
    [0o644, "0644"],
    [0o755, "0755"],
    [0o100644, "0644"],
    [0o040755, "0755"],
    [0o4755, "04755"],
    [0o1777, "01777"],
  ];
  const only = new Set<MlstFact>(["unix.mode"]);
  for (const [mode, expected] of cases) {
    equal(formatFacts(stat({ mode }), "x", only, "adfrw", "entry"), `unix.mode=${expected}; x`);
  }
});

Deno.test("formatFacts() keeps the name as is except CR and LF", () => {
  const only = new Set<MlstFact>(["size"]);
  equal(formatFacts(stat(), "a;b=c", only, "adfrw", "entry"), "size=5; a;b=c");
  equal(formatFacts(stat(), " lead", only, "adfrw", "entry"), "size=5;  lead");
  equal(formatFacts(stat(), "x\r\n250 End", only, "adfrw", "entry"), "size=5; x\x00\x00250 End");
});

Deno.test("mlstFeature() lists every fact and stars the enabled ones", () => {
  equal(mlstFeature(ALL), "MLST type*;size*;modify*;perm*;unix.mode*;unique*;");
  equal(mlstFeature(new Set()), "MLST type;size;modify;perm;unix.mode;unique;");
  equal(
    mlstFeature(new Set<MlstFact>(["size", "modify"])),
    "MLST type;size*;modify*;perm;unix.mode;unique;",
  );
});

Deno.test("parseMlstOptions() enables the known facts named, ignoring the rest", () => {
  const cases: [arg: string, expected: MlstFact[]][] = [
    ["type;size;", ["type", "size"]],
    ["type;size", ["type", "size"]],
    ["TYPE;Size;MODIFY;", ["type", "size", "modify"]],
    ["unix.mode;", ["unix.mode"]],
    ["Unix.Mode;", ["unix.mode"]],
    ["foo;type;bar;", ["type"]],
    ["create;lang;media-type;charset;", []],
    ["", []],
    [";;;", []],
    [" type ; size ;", ["type", "size"]],
    ["type*;size*;", []],
    ["type=file;", []],
    ["unique;perm;modify;size;type;unix.mode;", [...MLST_FACTS]],
  ];
  for (const [arg, expected] of cases) {
    deepEqual([...parseMlstOptions(arg)].sort(), [...expected].sort(), JSON.stringify(arg));
  }
});

Deno.test("formatTimeVal() formats UTC as YYYYMMDDHHMMSS, dropping fractions", () => {
  const cases: [date: Date, expected: string][] = [
    [new Date("2026-11-20T10:30:00Z"), "20261120103000"],
    [new Date("2026-11-20T10:30:59.999Z"), "20261120103059"],
    [new Date("2000-02-29T23:59:59Z"), "20000229235959"],
    [new Date(0), "19700101000000"],
    [new Date("1969-12-31T23:59:59Z"), "19691231235959"],
    [new Date(NaN), "19700101000000"],
  ];
  for (const [date, expected] of cases) equal(formatTimeVal(date), expected, String(date));
});

Deno.test("parseTimeVal() parses a time-val as UTC", () => {
  const cases: [text: string, iso: string][] = [
    ["20261120103000", "2026-11-20T10:30:00.000Z"],
    ["20000229235959", "2000-02-29T23:59:59.000Z"],
    ["19700101000000", "1970-01-01T00:00:00.000Z"],
    ["20261120103000.5", "2026-11-20T10:30:00.500Z"],
    ["20261120103000.05", "2026-11-20T10:30:00.050Z"],
    ["20261120103000.123", "2026-11-20T10:30:00.123Z"],
    ["99991231235959", "9999-12-31T23:59:59.000Z"],
  ];
  for (const [text, iso] of cases) equal(parseTimeVal(text)?.toISOString(), iso, text);
});

Deno.test("parseTimeVal() returns null for malformed text and impossible dates", () => {
  const cases = [
    "",
    "2026112010300", // 13 digits
    "202611201030000", // 15 digits
    "2026-11-20 10:30:00",
    "20261120103000.",
    "20261120103000Z",
    " 20261120103000",
    "20261120103000 ",
    "2026112010300a",
    "+2026112010300",
    "20260230000000", // February 30
    "20250229000000", // not a leap year
    "21000229000000", // not a leap year either
    "20261320000000", // month 13
    "20260001000000", // month 0
    "20260100000000", // day 0
    "20260431000000", // April 31
    "20261120240000", // hour 24
    "20261120236000", // minute 60
    "20261120235961", // second 61
  ];
  for (const text of cases) equal(parseTimeVal(text), null, JSON.stringify(text));
});

Deno.test("parseTimeVal() reads back what formatTimeVal() writes", () => {
  for (const iso of ["2026-11-20T10:30:00Z", "1999-01-01T00:00:01Z", "2024-02-29T12:34:56Z"]) {
    const date = new Date(iso);
    equal(parseTimeVal(formatTimeVal(date))?.getTime(), date.getTime(), iso);
  }
});

Deno.test({
  name: "parseTimeVal() accepts any number of fraction digits (RFC 3659 §2.3)",
  fn: () => {
    equal(parseTimeVal("20261120103000.123456")?.toISOString(), "2026-11-20T10:30:00.123Z");
    equal(parseTimeVal("20261120103000.0000")?.toISOString(), "2026-11-20T10:30:00.000Z");
  },
});

Deno.test({
  name: "parseTimeVal() accepts second 60, a leap second (RFC 3659 §2.3)",
  fn: () => {
    ok(parseTimeVal("20161231235960") !== null);
  },
});
