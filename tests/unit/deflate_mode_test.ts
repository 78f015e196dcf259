import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import {
  DEFAULT_DEFLATE_LEVEL,
  deflateEncoder,
  inflateDecoder,
} from "../../src/data/mode/deflate.ts";
import { CodecError } from "../../src/data/representation/errors.ts";
import { bytes, join, pipe, Random, randomChunks, run } from "./codec_helpers.ts";

const PY_COMPRESS =
  "import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read(), " +
  "int(sys.argv[1])))";
const PY_DECOMPRESS = "import sys, zlib; d = zlib.decompressobj(); " +
  "out = d.decompress(sys.stdin.buffer.read()); " +
  "assert d.eof, 'stream incomplete'; assert not d.unused_data, 'data after the stream'; " +
  "sys.stdout.buffer.write(out)";

function textFile(random: Random, size: number): Uint8Array {
  const words = ["record", "block", "mainframe", "     ", "ftp", "0001", "\n", "EBCDIC"];
  let text = "";
  while (text.length < size) text += words[random.int(words.length)] + " ";
  return new TextEncoder().encode(text.slice(0, size));
}

Deno.test("deflateEncoder() output is read by Python's zlib, at every level", async () => {
  const random = new Random(1950);
  const file = textFile(random, 200_000);
  let previous = Infinity;
  for (const level of [0, 1, 6, 9]) {
    const wire = await pipe(deflateEncoder({ level }), randomChunks(file, random, 30_000));
    deepEqual(await run("python3", ["-c", PY_DECOMPRESS], wire), file, `level ${level}`);
    if (level === 0) equal(wire.length > file.length, true);
    equal(wire.length <= previous, true, `level ${level} is no larger than a lower one`);
    previous = wire.length;
  }
});

Deno.test("inflateDecoder() reads what Python's zlib writes, at any chunking", async () => {
  const random = new Random(1951);
  for (const size of [0, 1, 70_000]) {
    const file = textFile(random, size);
    for (const level of [1, 9]) {
      const wire = await run("python3", ["-c", PY_COMPRESS, String(level)], file);
      deepEqual(await pipe(inflateDecoder(), randomChunks(wire, random, 1000)), file);
      deepEqual(await pipe(inflateDecoder(), [...wire].map((byte) => bytes(byte))), file);
    }
  }
});

Deno.test("deflateEncoder() and inflateDecoder() round-trip random binary data", async () => {
  const random = new Random(1952);
  for (let round = 0; round < 20; round++) {
    const file = random.bytes(random.int(5000));
    const wire = await pipe(
      deflateEncoder({ level: random.int(10) }),
      randomChunks(file, random, 500),
    );
    deepEqual(await pipe(inflateDecoder(), randomChunks(wire, random, 500)), file);
  }
});

Deno.test("deflateEncoder() refuses a level outside 0–9 and defaults to 6", () => {
  for (const level of [-1, 10, 1.5, NaN]) throws(() => deflateEncoder({ level }), RangeError);
  equal(DEFAULT_DEFLATE_LEVEL, 6);
});

Deno.test("inflateDecoder() refuses truncated, trailing and corrupt streams", async () => {
  const wire = await run("python3", ["-c", PY_COMPRESS, "6"], bytes("hello world"));
  const cases: [input: Uint8Array[], kind: CodecError["kind"]][] = [
    [[wire.subarray(0, wire.length - 3)], "truncated"],
    [[], "truncated"],
    [[join([wire, bytes(1, 2)])], "trailing-data"],
    [[wire, bytes(0)], "trailing-data"],
    [[bytes(1, 2, 3, 4)], "malformed"],
    [[join([wire.subarray(0, 4), bytes(0xff, 0xff, 0xff), wire.subarray(7)])], "malformed"],
  ];
  for (const [input, kind] of cases) {
    await rejects(
      pipe(inflateDecoder(), input),
      (error) => error instanceof CodecError && error.kind === kind,
      `${kind}: ${input.map((chunk) => chunk.length)}`,
    );
  }
});

Deno.test("inflateDecoder() inflates a bomb only as fast as it is read", async () => {
  const { deflateSync } = await import("node:zlib");
  const bomb = deflateSync(new Uint8Array(512 << 20), { level: 9 }); // about 500 KiB
  const decoder = inflateDecoder();
  const writer = decoder.writable.getWriter();
  let wrote = false;
  const writing = writer.write(bomb).then(() => wrote = true);
  const reader = decoder.readable.getReader();
  const first = await reader.read();
  equal(first.value!.length <= 65536, true);
  await new Promise((resolve) => setTimeout(resolve, 50));
  equal(wrote, false, "the engine waits for the reader before taking more input");
  let total = first.value!.length;
  let largest = 0;
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      total += value.length;
      largest = Math.max(largest, value.length);
    }
  })();
  await writing;
  await writer.close();
  await reading;
  equal(total, 512 << 20);
  equal(largest <= 65536, true);
});

Deno.test("inflateDecoder() behaves like a TransformStream when either side stops", async () => {
  const wire = await run("python3", ["-c", PY_COMPRESS, "6"], new Uint8Array(1 << 20));
  // The source fails: the readable side errors with the same reason.
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(wire.subarray(0, 100));
      controller.error(new Error("network down"));
    },
  });
  await rejects(new Response(failing.pipeThrough(inflateDecoder())).bytes(), /network down/);
  // The consumer cancels: a pending write fails, and so does the next one.
  const decoder = inflateDecoder();
  const writer = decoder.writable.getWriter();
  const writing = writer.write(wire);
  const reader = decoder.readable.getReader();
  await reader.read();
  await reader.cancel(new Error("client gone"));
  await rejects(writing, /client gone/);
  await rejects(writer.write(bytes(1)), /client gone/);
});
