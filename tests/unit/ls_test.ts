import { equal, ok } from "node:assert/strict";
import { formatLsDate, formatLsLine } from "../../src/listing/ls.ts";
import type { FileStat } from "../../src/storage/storage.ts";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const DAY = 24 * 3600 * 1000;
const SIX_MONTHS = 182.5 * DAY;

function stat(overrides: Partial<FileStat> = {}): FileStat {
  return {
    name: "a.txt",
    type: "file",
    size: 5,
    mtime: new Date("2026-11-20T10:30:00Z"),
    mode: 0o644,
    id: "1",
    ...overrides,
  };
}

Deno.test("formatLsDate() shows the time for recent dates and the year for old ones", () => {
  const cases: [date: string, expected: string][] = [
    ["2026-11-20T10:30:00Z", "Nov 20 10:30"],
    ["2026-11-22T12:00:00Z", "Nov 22 12:00"], // now
    ["2026-11-22T00:00:00Z", "Nov 22 00:00"],
    ["2026-06-01T03:07:00Z", "Jun  1 03:07"],
    ["2025-01-05T08:00:00Z", "Jan  5  2025"],
    ["2025-11-22T12:00:00Z", "Nov 22  2025"], // a year ago
    ["1999-12-31T23:59:59Z", "Dec 31  1999"],
    ["1970-01-01T00:00:00Z", "Jan  1  1970"],
  ];
  for (const [date, expected] of cases) {
    equal(formatLsDate(new Date(date), NOW), expected, date);
  }
});

Deno.test("formatLsDate() switches to the year at exactly six months", () => {
  equal(formatLsDate(new Date(NOW - SIX_MONTHS), NOW), "May 24  2026");
  equal(formatLsDate(new Date(NOW - SIX_MONTHS + 1), NOW), "May 24 00:00");
  equal(formatLsDate(new Date(NOW - SIX_MONTHS - 1), NOW), "May 23  2026");
});

Deno.test("formatLsDate() allows one day of future for clock skew, then shows the year", () => {
  equal(formatLsDate(new Date(NOW + 1000), NOW), "Nov 22 12:00");
  equal(formatLsDate(new Date(NOW + DAY - 1), NOW), "Nov 23 11:59");
  equal(formatLsDate(new Date(NOW + DAY), NOW), "Nov 23  2026");
  equal(formatLsDate(new Date("2027-03-01T00:00:00Z"), NOW), "Mar  1  2027");
  equal(formatLsDate(new Date("2300-01-15T00:00:00Z"), NOW), "Jan 15  2300");
});

Deno.test("formatLsDate() pads the day to two columns and the time to two digits", () => {
  equal(formatLsDate(new Date("2026-11-02T01:02:00Z"), NOW), "Nov  2 01:02");
  equal(formatLsDate(new Date("2026-11-12T01:02:00Z"), NOW), "Nov 12 01:02");
  equal(formatLsDate(new Date("2020-02-09T00:00:00Z"), NOW), "Feb  9  2020");
  // Every form is 12 characters wide, so listings line up.
  for (const date of ["2026-11-02T01:02:00Z", "2020-02-09T00:00:00Z", "2026-11-21T23:59:00Z"]) {
    equal(formatLsDate(new Date(date), NOW).length, 12, date);
  }
});

Deno.test("formatLsDate() shows an invalid Date as the epoch", () => {
  equal(formatLsDate(new Date(NaN), NOW), "Jan  1  1970");
  equal(formatLsDate(new Date("not a date"), NOW), "Jan  1  1970");
});

Deno.test("formatLsLine() turns the mode into a type letter and rwx triples", () => {
  const cases: [type: "file" | "dir", mode: number, expected: string][] = [
    ["file", 0o644, "-rw-r--r--"],
    ["file", 0o600, "-rw-------"],
    ["file", 0o755, "-rwxr-xr-x"],
    ["file", 0o777, "-rwxrwxrwx"],
    ["file", 0o000, "----------"],
    ["file", 0o421, "-r---w---x"],
    ["file", 0o124, "---x-w-r--"],
    ["file", 0o100644, "-rw-r--r--"], // a full st_mode with S_IFREG
    ["file", 0o4755, "-rwxr-xr-x"], // setuid is not shown
    ["dir", 0o755, "drwxr-xr-x"],
    ["dir", 0o040700, "drwx------"],
    ["dir", 0o000, "d---------"],
  ];
  for (const [type, mode, expected] of cases) {
    const line = formatLsLine(stat({ type, mode }), NOW);
    equal(line.slice(0, 10), expected, mode.toString(8));
    equal(line.charAt(10), " ");
  }
});

Deno.test("formatLsLine() produces the fields clients parse", () => {
  const line = formatLsLine(stat(), NOW);
  const fields = line.split(/ +/);
  equal(fields.length, 9);
  equal(fields.join(" "), "-rw-r--r-- 1 ftp ftp 5 Nov 20 10:30 a.txt");
  ok(line.endsWith(" Nov 20 10:30 a.txt"));
  const dir = formatLsLine(
    stat({ name: "pub", type: "dir", size: 4096, mode: 0o755, mtime: new Date("2020-01-01Z") }),
    NOW,
  );
  equal(dir.split(/ +/).join(" "), "drwxr-xr-x 1 ftp ftp 4096 Jan 1 2020 pub");
  ok(dir.endsWith(" Jan  1  2020 pub"));
});

Deno.test("formatLsLine() right-aligns sizes so the date column lines up", () => {
  const sizes = [0, 5, 4096, 123_456_789, 999_999_999_999];
  const starts = sizes.map((size) => formatLsLine(stat({ size }), NOW).indexOf(" Nov 20 "));
  ok(starts.every((start) => start === starts[0] && start > 0), String(starts));
  for (const size of sizes) {
    ok(formatLsLine(stat({ size }), NOW).includes(` ${size} Nov 20 `), String(size));
  }
  // Bigger than the column: still complete, still separated.
  ok(formatLsLine(stat({ size: 2 ** 50 }), NOW).includes(` ${2 ** 50} Nov 20 `));
});

Deno.test("formatLsLine() keeps names with spaces and neutralises CR/LF", () => {
  ok(formatLsLine(stat({ name: "my file .txt" }), NOW).endsWith(" 10:30 my file .txt"));
  ok(formatLsLine(stat({ name: " lead" }), NOW).endsWith(" 10:30  lead"));
  const evil = formatLsLine(stat({ name: "x\r\n226 Transfer complete." }), NOW);
  ok(!/[\r\n]/.test(evil));
  ok(evil.endsWith(" 10:30 x\x00\x00226 Transfer complete."));
});

Deno.test({
  name: "formatLsLine() matches its documented example",
  fn: () => {
    equal(
      formatLsLine(stat(), Date.parse("2026-11-22T00:00:00Z")),
      "-rw-r--r--    1 ftp      ftp                 5 Nov 20 10:30 a.txt",
    );
  },
});
