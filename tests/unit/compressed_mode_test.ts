import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import {
  CompressedDecoder,
  CompressedEncoder,
  CompressedFraming,
  fillerFor,
} from "../../src/data/mode/compressed.ts";
import { receiveFramed } from "../../src/data/mode/frames.ts";
import { CheckpointQueue, type RestartMarker } from "../../src/data/mode/restart.ts";
import { CodecError } from "../../src/data/representation/errors.ts";
import {
  RepresentationEncoder,
  type Structure,
} from "../../src/data/representation/representation.ts";
import { bytes, chunkings, hex, join, pipe, Random, randomChunks } from "./codec_helpers.ts";

const FF = 0xff;
const SPACE = 0x20;

function decodeAll(
  input: Uint8Array[],
  filler = SPACE,
  structure: Structure = "file",
): { data: Uint8Array; markers: RestartMarker[]; pieces: number[] } {
  const markers: RestartMarker[] = [];
  const decoder = new CompressedDecoder({
    filler,
    structure,
    onMarker: (marker) => markers.push(marker),
  });
  const out: Uint8Array[] = [];
  for (const chunk of input) {
    if (decoder.done) break;
    decoder.decode(chunk, (piece) => out.push(piece.slice()));
  }
  decoder.finish();
  return { data: join(out), markers, pieces: out.map((piece) => piece.length) };
}

function throwsCodec(run: () => unknown, kind: CodecError["kind"], message?: string): void {
  throws(run, (error) => error instanceof CodecError && error.kind === kind, message);
}

const repeat = (byte: number, count: number) => new Uint8Array(count).fill(byte);

Deno.test("fillerFor() is space for text types and zero for binary", () => {
  equal(fillerFor("ascii"), 0x20);
  equal(fillerFor("ebcdic"), 0x40);
  equal(fillerFor("image"), 0x00);
});

Deno.test("CompressedEncoder() writes strings, runs and fillers (RFC 959 §3.4.3)", async () => {
  const distinct = Uint8Array.from({ length: 200 }, (_, i) => i % 100 + 1);
  const cases: [input: Uint8Array, wire: Uint8Array, filler?: number][] = [
    [bytes("ab      c"), bytes(2, "ab", 0xc6, 1, "c", 0, 0x40)],
    [bytes(), bytes(0, 0x40)], // an empty file is the EOF escape
    [bytes("aaaa"), bytes(0x84, "a", 0, 0x40)], // four equal bytes: a replicated run
    [bytes("aaa"), bytes(3, "aaa", 0, 0x40)], // three: no shorter as a run
    [bytes("   "), bytes(0xc3, 0, 0x40)], // three fillers: one byte
    [bytes("  "), bytes(2, "  ", 0, 0x40)],
    [repeat(0x78, 130), bytes(0xbf, 0x78, 0xbf, 0x78, 0x84, 0x78, 0, 0x40)], // 63 + 63 + 4
    [repeat(0x78, 65), bytes(0xbf, 0x78, 2, "xx", 0, 0x40)], // 63, then a short rest
    [repeat(0, 100), bytes(0xff, 0xe5, 0, 0x40), 0], // zero is the filler of TYPE I: 63 + 37
    [repeat(0x40, 70), bytes(0xff, 0xc7, 0, 0x40), 0x40], // EBCDIC space
    [distinct, bytes(127, distinct.subarray(0, 127), 73, distinct.subarray(127), 0, 0x40)],
    [bytes(0, 0), bytes(2, 0, 0, 0, 0x40)], // data zeros are a string, not escapes
  ];
  for (const [input, wire, filler] of cases) {
    const encoder = new CompressedEncoder({ filler: filler ?? SPACE });
    equal(hex(await pipe(encoder, [input])), hex(wire), hex(input));
  }
});

Deno.test("CompressedEncoder() compresses the same at any chunking", async () => {
  const input = bytes("ab      c", repeat(0x78, 70), "   x", repeat(SPACE, 3));
  const whole = await pipe(new CompressedEncoder({ filler: SPACE }), [input]);
  for (const chunks of chunkings(input)) {
    equal(hex(await pipe(new CompressedEncoder({ filler: SPACE }), chunks)), hex(whole));
  }
});

Deno.test("CompressedEncoder() turns record escapes into escape sequences", async () => {
  const cases: [internal: Uint8Array, wire: Uint8Array][] = [
    [bytes("a", FF, 1, FF, 2), bytes(1, "a", 0, 0x80, 0, 0x40)],
    [bytes("a", FF, 3), bytes(1, "a", 0, 0xc0)],
    [bytes(FF, FF, FF, 1, FF, 2), bytes(1, FF, 0, 0x80, 0, 0x40)], // a data byte 0xFF
    [bytes("b", FF, 2), bytes(1, "b", 0, 0x40)],
  ];
  for (const [internal, wire] of cases) {
    for (const chunks of chunkings(internal)) {
      const encoder = new CompressedEncoder({ filler: SPACE, structure: "record" });
      equal(hex(await pipe(encoder, chunks)), hex(wire), hex(internal));
    }
  }
});

Deno.test("CompressedEncoder() inserts restart markers as an escape and a string", async () => {
  const encoder = new CompressedEncoder({
    filler: SPACE,
    restart: { interval: 4, startOffset: 7 },
  });
  equal(
    hex(await pipe(encoder, [bytes("abcdef")])),
    hex(bytes(4, "abcd", 0, 0x10, 2, "11", 2, "ef", 0, 0x40)),
  );
});

Deno.test("CompressedDecoder() decodes a table of items", () => {
  const cases: [wire: Uint8Array, data: Uint8Array, filler?: number, structure?: Structure][] = [
    [bytes(2, "ab", 0xc6, 1, "c", 0, 0x40), bytes("ab      c")],
    [bytes(1, "a", 0xc3, 0x84, "b", 0, 0x40), bytes("a   bbbb")],
    [bytes(0xc2, 0, 0x40), repeat(0x40, 2), 0x40],
    [bytes(0xc2, 0, 0x40), repeat(0, 2), 0],
    [bytes(0, 0x40), bytes()],
    [bytes(0, 0x80, 1, "a", 0, 0x40), bytes("a")], // EOR means nothing in file structure
    [bytes(0, 0x20, 1, "?", 0, 0x40), bytes("?")], // suspect data is still data
    [bytes(1, "a", 0, 0x80, 0, 0x40), bytes("a", FF, 1, FF, 2), SPACE, "record"],
    [bytes(1, "a", 0, 0xc0), bytes("a", FF, 3), SPACE, "record"],
    [bytes(1, FF, 0x82, FF, 0, 0x40), bytes(FF, FF, FF, FF, FF, FF, FF, 2), SPACE, "record"],
  ];
  for (const [wire, data, filler, structure] of cases) {
    for (const chunks of chunkings(wire)) {
      equal(hex(decodeAll(chunks, filler, structure).data), hex(data), hex(wire));
    }
  }
});

Deno.test("CompressedDecoder() reports markers with their offset in the data", () => {
  const wire = bytes(3, "abc", 0, 0x10, 2, "m1", 0xc2, 0, 0x10, 1, "z", 0, 0x40);
  for (const chunks of chunkings(wire)) {
    deepEqual(decodeAll(chunks).markers, [{ text: "m1", offset: 3 }, { text: "z", offset: 5 }]);
  }
});

Deno.test("CompressedDecoder() stops at the EOF escape and leaves what follows", () => {
  const decoder = new CompressedDecoder({ filler: SPACE });
  const input = bytes(1, "a", 0, 0x40, 9, 9);
  equal(decoder.decode(input, () => {}), 4);
  equal(decoder.done, true);
});

Deno.test("CompressedDecoder() refuses hostile input", () => {
  const malformed: [wire: Uint8Array, why: string][] = [
    [bytes(0x80, "x"), "a replicated run of zero"],
    [bytes(0xc0), "a filler run of zero"],
    [bytes(0, 0), "an escape without descriptor bits"],
    [bytes(0, 0x01), "an unassigned descriptor bit"],
    [bytes(0, 0x0f), "all unassigned bits"],
    [bytes(0, 0x10 | 0x40, 1, "1"), "a marker that ends the file"],
    [bytes(0, 0x10, 0x84, "1"), "a marker escape followed by a run"],
    [bytes(0, 0x10, 0), "a marker escape followed by an escape"],
    [bytes(0, 0x10, 3, "a b"), "a marker with a space"],
    [bytes(0, 0x10, 1, 0x0d), "a marker with a control character"],
  ];
  for (const [wire, why] of malformed) throwsCodec(() => decodeAll([wire]), "malformed", why);
  const truncated: [wire: Uint8Array, why: string][] = [
    [bytes(), "nothing"],
    [bytes(5, "ab"), "a string cut short"],
    [bytes(0x84), "a run without its byte"],
    [bytes(0), "an escape without descriptor"],
    [bytes(0, 0x10), "a marker escape without its string"],
    [bytes(1, "a"), "no EOF escape"],
  ];
  for (const [wire, why] of truncated) {
    for (const chunks of chunkings(wire)) throwsCodec(() => decodeAll(chunks), "truncated", why);
  }
});

Deno.test("CompressedDecoder() hands out expanded runs in bounded pieces", () => {
  // 20,000 filler items expand to 1,260,000 bytes.
  const wire = join([repeat(0xff, 20_000), bytes(0, 0x40)]);
  const { data, pieces } = decodeAll([wire]);
  equal(data.length, 63 * 20_000);
  equal(Math.max(...pieces) <= 65536 + 126, true, `largest piece ${Math.max(...pieces)}`);
});

Deno.test("compressed mode round-trips random data at random chunkings, with markers", async () => {
  const random = new Random(3430);
  for (const structure of ["file", "record"] as const) {
    for (const filler of [0x20, 0x00]) {
      for (let round = 0; round < 150; round++) {
        // Runs are what compressed mode is about: draw from few values.
        const data = random.bytes(random.int(400), [0, 0x20, 0x41, 0x41, 0x41, FF]);
        const internal = structure === "record"
          ? await pipe(new RepresentationEncoder({ type: "ascii", structure }), [data])
          : data;
        const restart = { interval: 1 + random.int(60) };
        const encoder = new CompressedEncoder({ filler, structure, restart });
        const wire = await pipe(encoder, randomChunks(internal, random, 50));
        const got = decodeAll(randomChunks(wire, random, 50), filler, structure);
        equal(hex(got.data), hex(internal));
        if (structure === "file") {
          for (const marker of got.markers) equal(marker.text, String(marker.offset));
          equal(got.markers.length, Math.floor(internal.length / restart.interval));
        }
      }
    }
  }
});

Deno.test("CompressedEncoder() shrinks a report with padded lines", async () => {
  const lines = Array.from({ length: 500 }, (_, i) => `TOTAL ${i}`.padEnd(132) + "\n").join("");
  const stored = new TextEncoder().encode(lines);
  const checkpoints = new CheckpointQueue();
  const internal = await pipe(new RepresentationEncoder({ type: "ascii", checkpoints }), [stored]);
  const wire = await pipe(
    new CompressedEncoder({
      filler: fillerFor("ascii"),
      restart: { interval: 16384, checkpoints },
    }),
    [internal],
  );
  equal(wire.length < stored.length / 5, true, `${wire.length} of ${stored.length}`);
  const { data, markers } = decodeAll([wire]);
  equal(hex(data), hex(internal));
  equal(markers.length > 0, true);
});

Deno.test("receiveFramed() decodes endless filler runs with bounded memory until cancelled", async () => {
  const reads = { count: 0 };
  const endless = {
    read(buffer: Uint8Array): Promise<number | null> {
      reads.count++;
      buffer.fill(0xff); // each byte: 63 filler bytes
      return Promise.resolve(buffer.length);
    },
  };
  const { readable, ended } = receiveFramed(endless, new CompressedDecoder({ filler: 0 }), {
    readSize: 4096,
  });
  const reader = readable.getReader();
  let total = 0;
  while (total < 64 << 20) {
    const { value } = await reader.read();
    equal(value!.length <= 4096 * 63, true); // at most one read's worth
    total += value!.length;
  }
  await reader.cancel(new Error("client aborted"));
  await rejects(ended, /client aborted/);
  // 64 MiB of output took about 64 MiB / 63 / 4096 reads: nothing was read ahead.
  equal(reads.count <= Math.ceil((64 << 20) / 63 / 4096) + 1, true, `${reads.count} reads`);
});

Deno.test("CompressedFraming() encodes as CompressedEncoder() does, without a stream", async () => {
  const random = new Random(4097);
  const data = random.bytes(5000, [0x20, 0x41, 0x41, 0]);
  const chunks = randomChunks(data, random, 700);
  const framing = new CompressedFraming({ filler: SPACE, restart: { interval: 1000 } });
  const direct = join([...chunks.map((chunk) => framing.push(chunk)), framing.flush()]);
  const streamed = await pipe(
    new CompressedEncoder({ filler: SPACE, restart: { interval: 1000 } }),
    chunks,
  );
  equal(hex(direct), hex(streamed));
});
