import { deepEqual, equal, ok } from "node:assert/strict";
import { BlockDecoder, BlockFraming } from "../../src/data/mode/block.ts";
import { FileBlockFramer } from "../../src/data/mode/file_blocks.ts";
import type { RestartMarker } from "../../src/data/mode/restart.ts";
import { pump } from "../../src/data/pump.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { bytes, hex, join, Random, randomChunks } from "./codec_helpers.ts";

/** What a client's decoder makes of a wire: the data and the markers (text and offset). */
function decode(wire: Uint8Array): { data: Uint8Array; markers: RestartMarker[]; done: boolean } {
  const markers: RestartMarker[] = [];
  const decoder = new BlockDecoder({ onMarker: (marker) => markers.push(marker) });
  const out: Uint8Array[] = [];
  const used = decoder.decode(wire, (piece) => out.push(piece.slice()));
  equal(used, wire.length, "nothing after the EOF block");
  return { data: join(out), markers, done: decoder.done };
}

/** Frames `chunks` as the pump does: the last one flagged, or the end written after them. */
function frameAll(framer: FileBlockFramer, chunks: Uint8Array[], lastKnown: boolean): Uint8Array {
  const parts = chunks.map((chunk, i) => framer.frame(chunk, lastKnown && i === chunks.length - 1));
  if (!lastKnown || chunks.length === 0) parts.push(framer.end());
  return join(parts);
}

Deno.test("FileBlockFramer() puts the EOF flag on the last data block", () => {
  equal(hex(new FileBlockFramer().frame(bytes("hi"), true)), hex(bytes(64, 0, 2, "hi")));
  equal(hex(frameAll(new FileBlockFramer(), [], true)), hex(bytes(64, 0, 0)), "an empty file");
  // Not known to be the last (a stream source): the end is an EOF block of its own.
  equal(
    hex(frameAll(new FileBlockFramer(), [bytes("a"), bytes("bc")], false)),
    hex(bytes(0, 0, 1, "a", 0, 0, 2, "bc", 64, 0, 0)),
  );
  // Markers between the blocks, counted from REST; none at the very end (after EOF).
  equal(
    hex(new FileBlockFramer({ interval: 1, startOffset: 7 }).frame(bytes("ab"), true)),
    hex(bytes(0, 0, 1, "a", 16, 0, 1, "8", 64, 0, 1, "b")),
  );
});

Deno.test("FileBlockFramer() splits blocks at 65,535 bytes and agrees with BlockFraming()", () => {
  const random = new Random(77);
  for (const size of [1, 65_535, 65_536, 140_000, 300_001]) {
    const data = random.bytes(size, [0, 0xff, 0x41]);
    for (const interval of [0, 1000, 65_535, 100_000]) {
      const restart = interval > 0 ? { interval, startOffset: 3 } : undefined;
      const chunks = size > 65_536 ? [data.subarray(0, 70_000), data.subarray(70_000)] : [data];
      const chunked = [chunks, randomChunks(data, random, 9000)];
      for (const pieces of chunked) {
        const wire = frameAll(new FileBlockFramer(restart), pieces, true);
        const framing = new BlockFraming({ restart });
        const reference = decode(join([...pieces.map((p) => framing.push(p)), framing.flush()]));
        const got = decode(wire);
        ok(got.done);
        equal(hex(got.data), hex(data));
        // The same markers at the same places, but one at the very end of the file.
        const inside = reference.markers.filter((marker) => marker.offset < size);
        deepEqual(got.markers, inside);
        for (let i = 0; i < wire.length;) {
          const count = (wire[i + 1] << 8) | wire[i + 2];
          ok(count <= 0xffff && (wire[i] & 64) === 0 || i + 3 + count === wire.length);
          i += 3 + count;
        }
      }
    }
  }
});

Deno.test("pump() with a framer sends a small local file in one write, EOF included", async () => {
  const root = Deno.makeTempDirSync();
  try {
    const data = new Random(5).bytes(4096, [0x41]);
    Deno.writeFileSync(`${root}/small.bin`, data);
    Deno.writeFileSync(`${root}/empty.bin`, new Uint8Array(0));
    const big = new Random(6).bytes(3 * (1 << 20) + 5, [0x42]);
    Deno.writeFileSync(`${root}/big.bin`, big);
    using storage = new LocalStorage(root);
    const writes: Uint8Array[] = [];
    const sink = {
      write: (chunk: Uint8Array) => (writes.push(chunk.slice()), Promise.resolve(chunk.length)),
    };
    const send = async (name: string) => {
      writes.length = 0;
      const { readable } = await storage.read(name);
      const moved = await pump(
        readable,
        sink,
        undefined,
        undefined,
        undefined,
        new FileBlockFramer(),
      );
      return { moved, writes: writes.length, wire: join(writes) };
    };
    const small = await send("/small.bin");
    equal(small.moved, 4096);
    equal(small.writes, 1, "headers and data in one write");
    equal(hex(small.wire), hex(bytes(64, 16, 0, data)));
    const empty = await send("/empty.bin");
    equal(hex(empty.wire), hex(bytes(64, 0, 0)));
    const large = await send("/big.bin");
    equal(large.moved, big.length);
    equal(hex(decode(large.wire).data), hex(big));
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
