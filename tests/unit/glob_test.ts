import { equal } from "node:assert/strict";
import { compileGlob } from "../../src/listing/glob.ts";

Deno.test("compileGlob() returns null for a pattern without wildcards", () => {
  equal(compileGlob("plain.txt"), null);
  equal(compileGlob(""), null);
});

Deno.test("compileGlob() matches *, ? and [...] like the shell", () => {
  const cases: [string, string, boolean][] = [
    ["*.txt", "a.txt", true],
    ["*.txt", "a.txt.bak", false],
    ["*", "", true],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "aXXbYY", false],
    ["report-??.csv", "report-01.csv", true],
    ["report-??.csv", "report-1.csv", false],
    ["[a-c]*", "beta", true],
    ["[a-c]*", "delta", false],
    ["[!a-c]*", "delta", true],
    ["[^a-c]*", "alpha", false],
    ["[]x]", "]", true],
    ["[]x]", "x", true],
    ["[abc", "[abc", true], // unclosed: literal
    ["日*", "日本", true],
    ["?", "本", true],
    ["*.[ch]", "main.c", true],
    ["*.[ch]", "main.o", false],
  ];
  for (const [pattern, name, expected] of cases) {
    equal(compileGlob(pattern)!.matches(name), expected, `${pattern} vs ${name}`);
  }
});

Deno.test("compileGlob() stays fast on patterns that make a regex backtrack", () => {
  const name = "a".repeat(5000);
  const started = performance.now();
  equal(compileGlob("*".repeat(200) + "x")!.matches(name), false);
  equal(compileGlob("*a*a*a*a*a*a*a*a*a*a*b")!.matches(name), false);
  equal(compileGlob("[]|(a+)+c]")!.matches("a".repeat(40)), false);
  // Bounded by tokens × characters; a backtracking regex takes minutes here.
  equal(performance.now() - started < 2000, true);
});
