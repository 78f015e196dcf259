/**
 * The hash commands' parsers and reply texts (table tests), and the handlers against an
 * in-memory context: RANG/HASH/X-command order, the refusals, and a back end without offsets.
 */
import { deepEqual, equal, match } from "node:assert/strict";
import { backgroundCommand } from "../../src/commands/background.ts";
import {
  hashAlgorithm,
  hashFeature,
  hashReplyText,
  parseRang,
  parseXArguments,
} from "../../src/commands/hash_syntax.ts";
import { digestStream } from "../../src/commands/hash_digest.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { FULL_CAPABILITIES } from "../../src/storage/storage.ts";
import { type FakeContext, fakeContext } from "../helpers/command_context.ts";

Deno.test("parseRang() reads inclusive start and end, RANG 1 0 resets, anything else is an error", () => {
  const table: [string, ReturnType<typeof parseRang>][] = [
    ["0 49", { range: { start: 0, end: 50 } }],
    ["0 0", { range: { start: 0, end: 1 } }],
    ["802816 1000000", { range: { start: 802816, end: 1000001 } }],
    ["1 0", { reset: true }],
    [" 3 4 ", { range: { start: 3, end: 5 } }],
  ];
  for (const [arg, expected] of table) deepEqual(parseRang(arg), expected, arg);
  for (
    const bad of ["9 5", "2 1", "5", "", "a b", "-1 5", "1 2 3", "1  2", "99999999999999999 1"]
  ) {
    equal("error" in parseRang(bad), true, JSON.stringify(bad));
  }
});

Deno.test("parseXArguments() takes two trailing numbers as start and end, and everything else as the path", () => {
  const table: [string, ReturnType<typeof parseXArguments>][] = [
    ["a.bin", { path: "a.bin" }],
    ["a.bin 0 10", { path: "a.bin", range: { start: 0, end: 10 } }],
    ["my file.iso 5 9", { path: "my file.iso", range: { start: 5, end: 9 } }],
    ["report 2024", { path: "report 2024" }],
    ["a b c", { path: "a b c" }],
    ["x 1 2 3", { path: "x 1", range: { start: 2, end: 3 } }],
    ["/dir with space/f 0 1", { path: "/dir with space/f", range: { start: 0, end: 1 } }],
    ["10 20", { path: "10 20" }],
    ["f -1 5", { path: "f -1 5" }],
    ["f 99999999999999999 1", { path: "f 99999999999999999 1" }],
  ];
  for (const [arg, expected] of table) deepEqual(parseXArguments(arg), expected, arg);
});

Deno.test("hashAlgorithm() is case-insensitive and takes SHA names with or without the dash", () => {
  equal(hashAlgorithm("sha-256"), "SHA-256");
  equal(hashAlgorithm("SHA256"), "SHA-256");
  equal(hashAlgorithm("sha1"), "SHA-1");
  equal(hashAlgorithm("Md5"), "MD5");
  equal(hashAlgorithm("crc32"), "CRC32");
  equal(hashAlgorithm("CRC-37"), undefined);
  equal(hashAlgorithm("SHA-3"), undefined);
  equal(hashAlgorithm(""), undefined);
});

Deno.test("hashFeature() and hashReplyText() follow draft-bryan-ftpext-hash §3 and §3.1", () => {
  equal(hashFeature("SHA-256"), "HASH SHA-256*;SHA-512;SHA-1;MD5;CRC32");
  equal(hashFeature("CRC32"), "HASH SHA-256;SHA-512;SHA-1;MD5;CRC32*");
  equal(
    hashReplyText("SHA-1", { start: 0, end: 256 }, "80bc", "filename.ext"),
    "SHA-1 0-255 80bc filename.ext",
  );
  equal(hashReplyText("MD5", { start: 0, end: 0 }, "d41d", "empty"), "MD5 0-0 d41d empty");
  equal(hashReplyText("MD5", { start: 7, end: 8 }, "ab", "a b"), "MD5 7-7 ab a b");
});

Deno.test("digestStream() hashes a range of a stream and cancels what it does not read", async () => {
  let cancelled = false;
  const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6]), new Uint8Array([7, 8])];
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
    cancel: () => void (cancelled = true),
  });
  // Bytes 2..5 (values 3, 4, 5, 6): skip 2, length 4. CRC32 of [3,4,5,6] by zlib.
  const hex = await digestStream(stream, "CRC32", { skip: 2, length: 4 });
  equal(
    hex,
    (await import("node:zlib")).crc32(new Uint8Array([3, 4, 5, 6])).toString(16).padStart(8, "0"),
  );
  equal(cancelled, true);
});

/** Runs a command and, for one that answers from the background, waits for its reply. */
async function run(ctx: FakeContext, line: string) {
  const before = ctx.replies.length;
  await ctx.run(line);
  await backgroundCommand(ctx)?.done;
  return ctx.replies.slice(before);
}

Deno.test("HASH, RANG and X-commands through dispatch() against a memory tree", async () => {
  const ctx = fakeContext({ storage: MemoryStorage.from({ "a.txt": "hello world", "d/x": "" }) });
  deepEqual((await run(ctx, "HASH a.txt")).map((r) => r.lines[0]), [
    "SHA-256 0-10 b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9 a.txt",
  ]);
  deepEqual((await run(ctx, "RANG 0 4")).map((r) => r.code), [350]);
  deepEqual((await run(ctx, "OPTS HASH MD5")).map((r) => r.code), [200], "OPTS keeps nothing");
  equal((await run(ctx, "HASH a.txt"))[0].lines[0].split(" ")[1], "0-10", "OPTS dropped the range");
  await run(ctx, "RANG 0 4");
  deepEqual((await run(ctx, "HASH a.txt"))[0].lines, [
    "MD5 0-4 5d41402abc4b2a76b9719d911017c592 a.txt",
  ]);
  deepEqual((await run(ctx, "XMD5 a.txt 0 5"))[0], {
    code: 250,
    lines: ["5d41402abc4b2a76b9719d911017c592"],
  });
  equal((await run(ctx, "HASH d"))[0].code, 553);
  equal((await run(ctx, "XMD5 d"))[0].code, 550);
  equal((await run(ctx, "HASH nope"))[0].code, 550);
  match((await run(ctx, "XCRC a.txt 5 2"))[0].lines[0], /greater than start/);
  equal(ctx.transfers.length, 0, "a hash is no transfer");
});

Deno.test("a back end without offsets: HASH of a range reads from the start and drops the head", async () => {
  class NoOffsets extends MemoryStorage {
    override readonly capabilities = { ...FULL_CAPABILITIES, readAtOffset: false };
  }
  const storage = new NoOffsets();
  await storage.write("/a.txt").then(async (sink) => {
    const writer = sink.getWriter();
    await writer.write(new TextEncoder().encode("hello world"));
    await writer.close();
  });
  const ctx = fakeContext({ storage });
  await run(ctx, "OPTS HASH MD5");
  await run(ctx, "RANG 6 10");
  // md5("world")
  deepEqual((await run(ctx, "HASH a.txt"))[0].lines, [
    "MD5 6-10 7d793037a0760186574b0282f2f435e7 a.txt",
  ]);
});
