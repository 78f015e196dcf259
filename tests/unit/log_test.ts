import { deepEqual, equal, match, ok } from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { createFormatter, formatLogValue } from "../../src/log.ts";

/** What must never reach a log line raw: controls, separators, bidi controls, lone surrogates. */
// deno-lint-ignore no-control-regex
const RAW_UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function record(message: unknown[], properties: Record<string, unknown> = {}): LogRecord {
  return {
    category: ["ftpgate", "security"],
    level: "warning",
    message,
    rawMessage: "",
    timestamp: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    properties,
  };
}

Deno.test("formatLogValue() leaves plain tokens bare and quotes everything else", () => {
  const cases: [unknown, string][] = [
    ["203.0.113.9", "203.0.113.9"],
    ["2001:db8::1", "2001:db8::1"],
    ["/pub/file.txt", "/pub/file.txt"],
    ["ftp://u:***@127.0.0.1:21/", "ftp://u:***@127.0.0.1:21/"],
    ["-", "-"],
    [42, "42"],
    [true, "true"],
    [10n, "10"],
    ["", '""'],
    ["x from 10.9.9.9", '"x from 10.9.9.9"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ["jürgen", '"jürgen"'],
    ["😀", '"😀"'],
  ];
  for (const [value, expected] of cases) equal(formatLogValue(value), expected, String(value));
});

Deno.test("formatLogValue() escapes control characters, bidi controls and lone surrogates", () => {
  const cases: [string, string][] = [
    ["\x1b[2J\x1b[H", '"\\x1b[2J\\x1b[H"'],
    ["a\r\nb\tc", '"a\\r\\nb\\tc"'],
    ["nul\x00del\x7f", '"nul\\x00del\\x7f"'],
    ["c1\u0085\u009b31m", '"c1\\x85\\x9b31m"'],
    ["\u202egpj.exe", '"\\u202egpj.exe"'],
    ["\u2028\u2029", '"\\u2028\\u2029"'],
    ["lone\ud800 and \udfff", '"lone\\ud800 and \\udfff"'],
  ];
  for (const [value, expected] of cases) {
    const out = formatLogValue(value);
    equal(out, expected, JSON.stringify(value));
    ok(!RAW_UNSAFE.test(out), JSON.stringify(out));
  }
});

Deno.test("formatLogValue() keeps inspected values on one line", () => {
  const out = formatLogValue(new Error("first\nsecond \x1b[31m"));
  ok(!RAW_UNSAFE.test(out), out);
  match(out, /^Error: first\\nsecond \\x1b\[31m/);
  equal(formatLogValue({ a: "\x1b" }), '{ a: "\\x1b" }');
});

const HOSTILE = "\x1b[2Jx\r\n2026-01-01T00:00:00.000Z [WRN] forged \u009b\u202e\ud800";

Deno.test("createFormatter('text') writes one line with the values escaped", async () => {
  const format = await createFormatter("text");
  const line = format(record(["Login failed from ", "10.0.0.1", ": user ", HOSTILE, ""]));
  equal(
    line,
    "2026-01-02T03:04:05.006Z [WRN] ftpgate.security: Login failed from 10.0.0.1: user " +
      '"\\x1b[2Jx\\r\\n2026-01-01T00:00:00.000Z [WRN] forged \\x9b\\u202e\\ud800"\n',
  );
});

Deno.test("createFormatter('json') writes valid JSON lines, whatever the values hold", async () => {
  const format = await createFormatter("json");
  const line = format(
    record(["Login failed from ", "10.0.0.1", ": user ", HOSTILE, ""], {
      remote: "10.0.0.1",
      user: HOSTILE,
      error: new Error("boom\n\x1b"),
    }),
  );
  ok(line.endsWith("}\n"));
  equal(line.indexOf("\n"), line.length - 1, "one line");
  ok(!RAW_UNSAFE.test(line.slice(0, -1)), line);
  const parsed = JSON.parse(line);
  deepEqual(Object.keys(parsed), ["@timestamp", "level", "message", "logger", "properties"]);
  equal(parsed["@timestamp"], "2026-01-02T03:04:05.006Z");
  equal(parsed.level, "WARN");
  equal(parsed.logger, "ftpgate.security");
  equal(parsed.message, `Login failed from 10.0.0.1: user ${formatLogValue(HOSTILE)}`);
  // The raw value survives in the properties: JSON escapes are lossless (a lone surrogate too).
  equal(parsed.properties.user, HOSTILE);
  equal(parsed.properties.error.message, "boom\n\x1b");
  // Encoded as UTF-8 and decoded strictly, the line is still the same valid JSON.
  const bytes = new TextEncoder().encode(line);
  deepEqual(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)), parsed);
});
