import { deepEqual, equal } from "node:assert/strict";
import { type Command, parseCommand } from "../../src/protocol/command.ts";

Deno.test("parseCommand() splits a line into an upper-cased verb and its argument", () => {
  const cases: [string, Command | null][] = [
    ["NOOP", { verb: "NOOP", arg: "" }],
    ["noop", { verb: "NOOP", arg: "" }],
    ["rEtR a.txt", { verb: "RETR", arg: "a.txt" }],
    ["retr my file.txt", { verb: "RETR", arg: "my file.txt" }],
    // Only the one space after the verb is a separator: names may start or end with spaces.
    ["RETR  leading", { verb: "RETR", arg: " leading" }],
    ["RETR trailing ", { verb: "RETR", arg: "trailing " }],
    ["USER ", { verb: "USER", arg: "" }],
    ["CWD ..", { verb: "CWD", arg: ".." }],
    ["OPTS UTF8 ON", { verb: "OPTS", arg: "UTF8 ON" }],
    ["SITE CHMOD 644 a", { verb: "SITE", arg: "CHMOD 644 a" }],
    // The argument is kept as sent, case included.
    ["MKD Ünïcödé", { verb: "MKD", arg: "Ünïcödé" }],
    ["X".repeat(16), { verb: "X".repeat(16), arg: "" }],
    ["", null],
    [" NOOP", null],
    [" ", null],
    ["X".repeat(17), null],
    ["X".repeat(17) + " arg", null],
  ];
  for (const [line, expected] of cases) {
    deepEqual(parseCommand(line), expected, JSON.stringify(line));
  }
});

Deno.test("parseCommand() upper-cases the verb only", () => {
  const command = parseCommand("stor lower.txt");
  equal(command?.verb, "STOR");
  equal(command?.arg, "lower.txt");
});
