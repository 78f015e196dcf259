import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { FtpError } from "../../src/errors.ts";
import {
  baseName,
  checkPathArgument,
  isWithin,
  joinPath,
  MAX_NAME_BYTES,
  MAX_PATH_LENGTH,
  parentPath,
  resolvePath,
  splitPath,
} from "../../src/storage/vpath.ts";

function isFtpError(code: number): (error: unknown) => boolean {
  return (error) => error instanceof FtpError && error.code === code;
}

Deno.test("resolvePath() keeps .. inside the root", () => {
  const cases: [cwd: string, input: string, expected: string][] = [
    ["/", "..", "/"],
    ["/", "../..", "/"],
    ["/", "/../../etc/passwd", "/etc/passwd"],
    ["/pub", "../../etc/passwd", "/etc/passwd"],
    ["/pub", "../../../../../../../../", "/"],
    ["/a/b", "x/../../../../y", "/y"],
    ["/a/b", "../..", "/"],
    ["/a/b", "../../..", "/"],
    ["/a", "/..", "/"],
    ["/a", "/../a/../../b", "/b"],
  ];
  for (const [cwd, input, expected] of cases) {
    equal(resolvePath(cwd, input), expected, `${cwd} + ${JSON.stringify(input)}`);
  }
});

Deno.test("resolvePath() resolves relative to a deep current directory", () => {
  const cwd = "/a/b/c/d/e";
  const cases: [input: string, expected: string][] = [
    ["x", "/a/b/c/d/e/x"],
    ["..", "/a/b/c/d"],
    ["../../x", "/a/b/c/x"],
    ["x/../../y", "/a/b/c/d/y"],
    ["./x/./y/.", "/a/b/c/d/e/x/y"],
    ["../../../../../..", "/"],
    ["/abs/path", "/abs/path"],
    ["", cwd],
    [".", cwd],
  ];
  for (const [input, expected] of cases) {
    equal(resolvePath(cwd, input), expected, JSON.stringify(input));
  }
});

Deno.test("resolvePath() treats hostile spellings literally or as separators", () => {
  const cases: [cwd: string, input: string, expected: string][] = [
    // Nothing URL-decodes: %2e%2e is a name.
    ["/", "%2e%2e", "/%2e%2e"],
    ["/a", "%2e%2e/%2e%2e/etc", "/a/%2e%2e/%2e%2e/etc"],
    ["/", "%2F..%2F", "/%2F..%2F"],
    // Backslashes are separators, so ..\.. is .. too.
    ["/", "..\\..\\x", "/x"],
    ["/a/b", "..\\x", "/a/x"],
    ["/a/b", "\\etc\\passwd", "/etc/passwd"],
    ["/a/b", "..\\..\\..\\..\\windows", "/windows"],
    ["/a", "x\\..\\..\\..", "/"],
    // Names that only look like dots.
    ["/", "...", "/..."],
    ["/", " ..", "/ .."],
    ["/", ".. ", "/.. "],
    ["/", "..a", "/..a"],
    ["/", "a/..b", "/a/..b"],
    ["/", ".hidden", "/.hidden"],
    // Empty segments and trailing dots.
    ["/", "//a///b//", "/a/b"],
    ["/a", "b/.", "/a/b"],
    ["/a", "b/./", "/a/b"],
    ["/a", "./", "/a"],
    ["/a", "/.", "/"],
    ["/", "", "/"],
    // ~ is the root, but only alone or before a separator.
    ["/a/b", "~", "/"],
    ["/a/b", "~/x", "/x"],
    ["/a/b", "~/", "/"],
    ["/a/b", "~/../..", "/"],
    ["/a/b", "~\\x", "/x"],
    ["/a", "~x", "/a/~x"],
    ["/a", "x/~", "/a/x/~"],
    ["/a", "~~", "/a/~~"],
    // Other text is kept as it is.
    ["/", "dir/ünï cödé/..", "/dir"],
    ["/", "a b/ c ", "/a b/ c "],
    ["/", "\t", "/\t"],
  ];
  for (const [cwd, input, expected] of cases) {
    equal(resolvePath(cwd, input), expected, `${cwd} + ${JSON.stringify(input)}`);
  }
});

Deno.test("resolvePath() rejects NUL, CR and LF with 501", () => {
  for (const input of ["a\0b", "\0", "a\rb", "ABOR\r", "a\nb", "/x\r\n", "../\0/etc"]) {
    throws(() => resolvePath("/", input), isFtpError(501), JSON.stringify(input));
  }
});

Deno.test("resolvePath() rejects a path argument over 4096 characters with 501", () => {
  equal(MAX_PATH_LENGTH, 4096);
  const ok4096 = "a/".repeat(2048);
  equal(ok4096.length, 4096);
  equal(resolvePath("/", ok4096), "/a" + "/a".repeat(2047));
  throws(() => resolvePath("/", ok4096 + "a"), isFtpError(501));
  throws(() => resolvePath("/", "/".repeat(4097)), isFtpError(501));
  // The length check comes first, even when a name is too long too.
  throws(() => resolvePath("/", "x".repeat(4097)), isFtpError(501));
});

Deno.test("resolvePath() rejects a name over 255 bytes with 553", () => {
  equal(MAX_NAME_BYTES, 255);
  const cases: [name: string, bytes: number][] = [
    ["x".repeat(255), 255],
    ["x".repeat(256), 256],
    ["é".repeat(127) + "x", 255], // 2-byte characters
    ["é".repeat(128), 256],
    ["€".repeat(85), 255], // 3-byte characters, 85 code units
    ["€".repeat(85) + "x", 256],
    ["😀".repeat(63) + "abc", 255], // 4-byte characters, 2 code units each
    ["😀".repeat(64), 256],
    ["x".repeat(4000), 4000],
  ];
  for (const [name, size] of cases) {
    equal(new TextEncoder().encode(name).length, size);
    const label = `${name.slice(0, 4)}… (${size} bytes)`;
    if (size <= 255) {
      equal(resolvePath("/d", name), `/d/${name}`, label);
      equal(resolvePath("/", `a/${name}/b`), `/a/${name}/b`, label);
    } else {
      throws(() => resolvePath("/d", name), isFtpError(553), label);
      throws(() => resolvePath("/", `a/${name}/b`), isFtpError(553), label);
    }
  }
});

Deno.test("checkPathArgument() accepts ordinary text and rejects what no path may contain", () => {
  checkPathArgument("");
  checkPathArgument("/a b/ünï/..");
  checkPathArgument("x".repeat(4096));
  throws(() => checkPathArgument("x".repeat(4097)), isFtpError(501));
  throws(() => checkPathArgument("a\0"), isFtpError(501));
  throws(() => checkPathArgument("a\r"), isFtpError(501));
  throws(() => checkPathArgument("a\n"), isFtpError(501));
});

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent model of the documented rules, to compare against. */
function model(cwd: string, input: string): string {
  let path = input.replaceAll("\\", "/");
  if (path === "~" || path.startsWith("~/")) path = "/" + path.slice(1);
  const stack = path.startsWith("/") ? [] : cwd.split("/").filter((s) => s !== "");
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") stack.pop();
    else stack.push(segment);
  }
  return "/" + stack.join("/");
}

const PIECES = [
  "..",
  ".",
  "",
  "a",
  "b",
  "...",
  " ..",
  "..\\..",
  "\\..",
  "~",
  "~/..",
  "%2e%2e",
  "ünï",
  "😀",
  "etc",
  "passwd",
];

Deno.test("resolvePath() always returns an absolute path without . or .. segments (seeded)", () => {
  const next = random(0x5eed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  let cwd = "/";
  for (let run = 0; run < 5000; run++) {
    const count = Math.floor(next() * 8);
    const segments = Array.from({ length: count }, () => pick(PIECES));
    const separator = next() < 0.2 ? "\\" : "/";
    const input = (next() < 0.3 ? separator : "") + segments.join(separator);
    const label = `run ${run}: cwd ${JSON.stringify(cwd)} input ${JSON.stringify(input)}`;
    const result = resolvePath(cwd, input);
    ok(result.startsWith("/"), label);
    ok(!result.includes("\\"), label);
    if (result !== "/") {
      deepEqual(
        splitPath(result).filter((s) => s === "" || s === "." || s === ".."),
        [],
        label,
      );
    }
    equal(result, model(cwd, input), label);
    equal(resolvePath("/", result), result, label); // already normal
    equal(resolvePath(result, "."), result, label);
    if (!input.includes("..") && !input.startsWith("~") && !/^[\\/]/.test(input)) {
      ok(isWithin(result, cwd), label);
    }
    if (next() < 0.3) cwd = result;
  }
});

Deno.test("splitPath() returns the segments of a virtual path", () => {
  deepEqual(splitPath("/"), []);
  deepEqual(splitPath("/a"), ["a"]);
  deepEqual(splitPath("/a/b c/d"), ["a", "b c", "d"]);
});

Deno.test("baseName() returns the last segment, and / for the root", () => {
  equal(baseName("/"), "/");
  equal(baseName("/a"), "a");
  equal(baseName("/a/b.txt"), "b.txt");
});

Deno.test("parentPath() returns the parent; the root is its own parent", () => {
  equal(parentPath("/"), "/");
  equal(parentPath("/a"), "/");
  equal(parentPath("/a/b"), "/a");
  equal(parentPath("/a/b/c"), "/a/b");
});

Deno.test("joinPath() appends a name to a directory", () => {
  equal(joinPath("/", "a"), "/a");
  equal(joinPath("/a", "b"), "/a/b");
  equal(joinPath("/a/b", "c d"), "/a/b/c d");
});

Deno.test("isWithin() is true for the directory itself and what lies below it", () => {
  const cases: [path: string, dir: string, expected: boolean][] = [
    ["/a", "/a", true],
    ["/a/b", "/a", true],
    ["/a/b/c", "/a", true],
    ["/ab", "/a", false],
    ["/a-b", "/a", false],
    ["/", "/a", false],
    ["/b", "/a", false],
    ["/", "/", true],
    ["/anything", "/", true],
  ];
  for (const [path, dir, expected] of cases) {
    equal(isWithin(path, dir), expected, `${path} in ${dir}`);
  }
});
