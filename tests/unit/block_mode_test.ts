import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { BlockDecoder, BlockEncoder, BlockFraming } from "../../src/data/mode/block.ts";
import { FrameDecoderStream, receiveFramed } from "../../src/data/mode/frames.ts";
import { CheckpointQueue, type RestartMarker } from "../../src/data/mode/restart.ts";
import { CodecError } from "../../src/data/representation/errors.ts";
import {
  RepresentationEncoder,
  type Structure,
} from "../../src/data/representation/representation.ts";
import { bytes, chunkings, hex, join, pipe, Random, randomChunks } from "./codec_helpers.ts";

const FF = 0xff;

/** Decodes a whole input with a fresh decoder; returns the data, the markers and the rest. */
function decodeAll(
  input: Uint8Array[],
  structure: Structure = "file",
): { data: Uint8Array; markers: RestartMarker[]; rest: Uint8Array; done: boolean } {
  const markers: RestartMarker[] = [];
  const decoder = new BlockDecoder({ structure, onMarker: (marker) => markers.push(marker) });
  const out: Uint8Array[] = [];
  let rest: Uint8Array = new Uint8Array(0);
  for (const chunk of input) {
    if (decoder.done) {
      rest = join([rest, chunk]);
      continue;
    }
    const used = decoder.decode(chunk, (piece) => out.push(piece.slice()));
    if (decoder.done) rest = chunk.slice(used);
  }
  decoder.finish();
  return { data: join(out), markers, rest, done: decoder.done };
}

function throwsCodec(run: () => unknown, kind: CodecError["kind"], message?: string): void {
  throws(run, (error) => error instanceof CodecError && error.kind === kind, message);
}

Deno.test("BlockEncoder() frames file data in blocks and ends with an EOF block", async () => {
  const cases: [input: Uint8Array[], wire: Uint8Array][] = [
    [[bytes("hi")], bytes(0, 0, 2, "hi", 64, 0, 0)],
    [[], bytes(64, 0, 0)], // an empty file is one empty EOF block
    [[bytes("a"), bytes("bc")], bytes(0, 0, 1, "a", 0, 0, 2, "bc", 64, 0, 0)],
    [[bytes(FF, 0x01)], bytes(0, 0, 2, FF, 0x01, 64, 0, 0)], // file structure: no escapes
  ];
  for (const [input, wire] of cases) {
    equal(hex(await pipe(new BlockEncoder(), input)), hex(wire));
  }
});

Deno.test("BlockEncoder() splits data into blocks of at most 65,535 bytes", async () => {
  const data = new Uint8Array(140_000).map((_, i) => i % 251);
  const wire = await pipe(new BlockEncoder(), [data]);
  deepEqual([...wire.subarray(0, 3)], [0, 0xff, 0xff]);
  deepEqual([...wire.subarray(65538, 65541)], [0, 0xff, 0xff]);
  deepEqual([...wire.subarray(131076, 131079)], [
    0,
    (140_000 - 131070) >> 8,
    (140_000 - 131070) & 0xff,
  ]);
  deepEqual([...wire.subarray(-3)], [64, 0, 0]);
  deepEqual(decodeAll([wire]).data, data);
});

Deno.test("BlockEncoder() turns record escapes into EOR and EOF descriptors", async () => {
  const cases: [internal: Uint8Array, wire: Uint8Array][] = [
    [bytes("a", FF, 1, "bc", FF, 1, FF, 2), bytes(128, 0, 1, "a", 128, 0, 2, "bc", 64, 0, 0)],
    [bytes(FF, 1, FF, 2), bytes(128, 0, 0, 64, 0, 0)], // an empty record
    [bytes(FF, FF, FF, 1, FF, 2), bytes(128, 0, 1, FF, 64, 0, 0)], // a data byte 0xFF
    [bytes("a", FF, 3), bytes(128, 0, 1, "a", 64, 0, 0)], // EOR and EOF together
    [bytes("b", FF, 2), bytes(64, 0, 1, "b")], // a last record without EOR rides the EOF block
    [bytes(FF, 2), bytes(64, 0, 0)],
  ];
  for (const [internal, wire] of cases) {
    equal(hex(await pipe(new BlockEncoder({ structure: "record" }), [internal])), hex(wire));
    // Split anywhere the blocks may differ, the decoded records may not.
    for (const chunks of chunkings(internal)) {
      const split = await pipe(new BlockEncoder({ structure: "record" }), chunks);
      equal(
        hex(decodeAll([split], "record").data),
        hex(internal.at(-1) === 3 ? bytes(internal.subarray(0, -1), 1, FF, 2) : internal),
      );
    }
  }
});

Deno.test("BlockEncoder() refuses bad record escapes and data after EOF", async () => {
  for (const input of [bytes("a", FF, 9), bytes(FF, 0)]) {
    await rejects(
      pipe(new BlockEncoder({ structure: "record" }), [input]),
      (error) => error instanceof CodecError && error.kind === "malformed",
    );
  }
  await rejects(
    pipe(new BlockEncoder({ structure: "record" }), [bytes(FF, 2), bytes("x")]),
    (error) => error instanceof CodecError && error.kind === "trailing-data",
  );
});

Deno.test("BlockEncoder() inserts a restart marker every interval, its text the storage offset", async () => {
  const restart = { interval: 4, startOffset: 100 };
  const wire = await pipe(new BlockEncoder({ restart }), [bytes("abcdefghij")]);
  equal(
    hex(wire),
    hex(
      bytes(
        0,
        0,
        4,
        "abcd",
        16,
        0,
        3,
        "104",
        0,
        0,
        4,
        "efgh",
        16,
        0,
        3,
        "108",
        0,
        0,
        2,
        "ij",
        64,
        0,
        0,
      ),
    ),
  );
  // However the data is chunked, the markers sit at the same places.
  for (const chunks of chunkings(bytes("abcdefghij"))) {
    const { data, markers } = decodeAll([await pipe(new BlockEncoder({ restart }), chunks)]);
    equal(hex(data), hex(bytes("abcdefghij")));
    deepEqual(markers, [{ text: "104", offset: 4 }, { text: "108", offset: 8 }]);
  }
});

Deno.test("BlockEncoder() places markers only at the representation's clean cuts", async () => {
  const random = new Random(16);
  const lines = Array.from({ length: 300 }, () => "x".repeat(random.int(30)) + "é\n\n").join("");
  const stored = new TextEncoder().encode(lines);
  const cases = [
    { type: "ebcdic" as const },
    { type: "ascii" as const, format: "asa" as const },
    { type: "ascii" as const, structure: "record" as const },
  ];
  for (const options of cases) {
    const checkpoints = new CheckpointQueue();
    const internalStream = ReadableStream.from(randomChunks(stored, random, 300))
      .pipeThrough(new RepresentationEncoder({ ...options, checkpoints, checkpointInterval: 50 }));
    const wire = await new Response(
      internalStream.pipeThrough(
        new BlockEncoder({ structure: options.structure, restart: { interval: 200, checkpoints } }),
      ),
    ).bytes();
    const { data: internal, markers } = decodeAll([wire], options.structure);
    equal(hex(internal), hex(await pipe(new RepresentationEncoder(options), [stored])));
    equal(markers.length > 10, true, `${markers.length} markers`);
    let previous = 0;
    for (const marker of markers) {
      equal(marker.offset - previous >= 200, true, "markers are an interval apart");
      previous = marker.offset;
      const storage = Number(marker.text);
      const resumed = await pipe(new RepresentationEncoder(options), [stored.subarray(storage)]);
      equal(hex(resumed), hex(internal.subarray(marker.offset)), `marker ${marker.text}`);
    }
  }
});

Deno.test("BlockDecoder() decodes a table of block streams", () => {
  const cases: [wire: Uint8Array, data: Uint8Array, structure?: Structure][] = [
    [bytes(0, 0, 2, "hi", 64, 0, 0), bytes("hi")],
    [bytes(64, 0, 2, "hi"), bytes("hi")], // data in the EOF block
    [bytes(64, 0, 0), bytes()],
    [bytes(0, 0, 0, 0, 0, 1, "a", 64, 0, 0), bytes("a")], // empty blocks are allowed
    [bytes(128, 0, 1, "a", 64, 0, 0), bytes("a")], // EOR means nothing in file structure
    [bytes(32, 0, 1, "?", 64, 0, 0), bytes("?")], // suspect data is still data
    [bytes(128, 0, 1, "a", 128, 0, 0, 64, 0, 0), bytes("a", FF, 1, FF, 1, FF, 2), "record"],
    [bytes(192, 0, 1, "a"), bytes("a", FF, 3), "record"],
    [bytes(128, 0, 2, FF, 0x01, 64, 0, 0), bytes(FF, FF, 0x01, FF, 1, FF, 2), "record"],
    [bytes(64, 0, 1, "b"), bytes("b", FF, 2), "record"],
  ];
  for (const [wire, data, structure] of cases) {
    for (const chunks of chunkings(wire)) {
      const got = decodeAll(chunks, structure);
      equal(hex(got.data), hex(data), hex(wire));
      equal(got.done, true);
    }
  }
});

Deno.test("BlockDecoder() reports markers with their offset in the data", () => {
  const wire = bytes(0, 0, 3, "abc", 16, 0, 2, "r1", 128, 0, 1, "d", 16, 0, 4, "9999", 64, 0, 0);
  for (const chunks of chunkings(wire, 0)) {
    deepEqual(decodeAll(chunks, "record").markers, [
      { text: "r1", offset: 3 },
      { text: "9999", offset: 6 }, // "d" and the two bytes of its EOR escape
    ]);
  }
});

Deno.test("BlockDecoder() stops at the EOF block and leaves what follows", () => {
  const next = bytes(0, 0, 1, "n", 64, 0, 0);
  const got = decodeAll([join([bytes(64, 0, 2, "hi"), next])]);
  equal(hex(got.data), hex(bytes("hi")));
  equal(hex(got.rest), hex(next));
  equal(hex(decodeAll([got.rest]).data), hex(bytes("n")));
});

Deno.test("BlockDecoder() counts suspect blocks and markers", () => {
  const decoder = new BlockDecoder();
  decoder.decode(bytes(32, 0, 1, "x", 16, 0, 1, "1", 96, 0, 0), () => {});
  deepEqual(decoder.stats, { suspectBlocks: 2, markers: 1 });
});

Deno.test("BlockDecoder() refuses hostile block headers", () => {
  const malformed: [wire: Uint8Array, why: string][] = [
    [bytes(0x01, 0, 0), "an unassigned descriptor bit"],
    [bytes(0x0f, 0, 1, "x"), "all unassigned bits"],
    [bytes(0xff, 0xff, 0xff), "every bit"],
    [bytes(16 | 64, 0, 1, "1"), "a marker that also ends the file"],
    [bytes(16 | 128, 0, 1, "1"), "a marker that also ends a record"],
    [bytes(16, 0, 0), "an empty marker"],
    [bytes(16, 0x01, 0x01), "a marker of 257 bytes"],
    [bytes(16, 0, 3, "a b"), "a marker with a space"],
    [bytes(16, 0, 2, "a", 0x0a), "a marker with a control character"],
    [bytes(16, 0, 1, 0xc1), "a marker that is not ASCII"],
  ];
  for (const [wire, why] of malformed) {
    throwsCodec(() => decodeAll([wire]), "malformed", why);
  }
  const truncated: [wire: Uint8Array, why: string][] = [
    [bytes(), "nothing at all"],
    [bytes(0, 0), "a header cut short"],
    [bytes(0, 0xff, 0xff, "only a little"), "a count larger than the rest"],
    [bytes(0, 0, 1, "a"), "no EOF block"],
    [bytes(16, 0, 4, "12"), "a marker cut short"],
    [bytes(64, 0, 5, "ab"), "an EOF block cut short"],
  ];
  for (const [wire, why] of truncated) {
    throwsCodec(() => decodeAll([wire]), "truncated", why);
    for (const chunks of chunkings(wire)) throwsCodec(() => decodeAll(chunks), "truncated", why);
  }
});

Deno.test("block mode round-trips random data at random chunkings, with markers", async () => {
  const random = new Random(65535);
  for (const structure of ["file", "record"] as const) {
    for (let round = 0; round < 200; round++) {
      const data = random.bytes(random.int(300), [0, 1, 2, 0x41, FF]);
      // Record form needs well-formed escapes: build it from records.
      const internal = structure === "record"
        ? await pipe(new RepresentationEncoder({ type: "ascii", structure }), [data])
        : data;
      const restart = { interval: 1 + random.int(40) };
      const wire = await pipe(
        new BlockEncoder({ structure, restart }),
        randomChunks(internal, random, 50),
      );
      const got = decodeAll(randomChunks(wire, random, 50), structure);
      equal(hex(got.data), hex(internal));
      // Without checkpoints a marker's text is its data offset (right for file structure only;
      // record structure gets its markers from the representation, tested above).
      if (structure === "file") {
        for (const marker of got.markers) equal(marker.text, String(marker.offset));
        equal(got.markers.length, Math.floor(internal.length / restart.interval));
      }
    }
  }
});

Deno.test("FrameDecoderStream() ends at the EOF block and resolves ended with the rest", async () => {
  const stream = new FrameDecoderStream(new BlockDecoder());
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const written = writer.write(bytes(0, 0, 1, "a", 64, 0, 1, "b", 0x99));
  deepEqual((await reader.read()).value, bytes("ab")); // one chunk per input chunk
  equal((await reader.read()).done, true);
  await written;
  deepEqual(await stream.ended, bytes(0x99));
  await rejects(writer.write(bytes(1)));
});

Deno.test("FrameDecoderStream() errors and rejects ended when the input stops early", async () => {
  const stream = new FrameDecoderStream(new BlockDecoder());
  await rejects(
    pipe(stream, [bytes(0, 0, 5, "abc")]),
    (error) => error instanceof CodecError && error.kind === "truncated" && error.code === 426,
  );
  await rejects(stream.ended, CodecError);
});

/** A ByteReader over a list of reads, counting them. */
function scriptedReader(reads: Uint8Array[]) {
  const reader = {
    reads: 0,
    read(buffer: Uint8Array): Promise<number | null> {
      reader.reads++;
      const next = reads.shift();
      if (!next) return Promise.resolve(null);
      buffer.set(next);
      return Promise.resolve(next.length);
    },
  };
  return reader;
}

Deno.test("receiveFramed() reads no further than the read holding the EOF", async () => {
  const first = bytes(0, 0, 3, "one", 64, 0, 0);
  const second = bytes(64, 0, 3, "two");
  const reader = scriptedReader([
    first.subarray(0, 4),
    join([first.subarray(4), second]),
    bytes(7),
  ]);
  const one = receiveFramed(reader, new BlockDecoder());
  equal(new TextDecoder().decode(await new Response(one.readable).bytes()), "one");
  equal(reader.reads, 2);
  const leftover = await one.ended;
  deepEqual(leftover, second);
  const two = receiveFramed(reader, new BlockDecoder(), { initial: leftover });
  equal(new TextDecoder().decode(await new Response(two.readable).bytes()), "two");
  equal(reader.reads, 2); // the second file came entirely from the leftover
  deepEqual(await two.ended, bytes());
});

Deno.test("receiveFramed() fails the transfer when the connection closes before EOF", async () => {
  const reader = scriptedReader([bytes(0, 0, 9, "abc")]);
  const { readable, ended } = receiveFramed(reader, new BlockDecoder());
  await rejects(
    new Response(readable).bytes(),
    (error) => error instanceof CodecError && error.kind === "truncated",
  );
  await rejects(ended, CodecError);
});

Deno.test("MODE B: 20 files over one real TCP connection, which stays open", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const random = new Random(20);
  const files = Array.from({ length: 20 }, (_, i) => random.bytes(i * 997 % 70_000));
  const sending = (async () => {
    using conn = await listener.accept();
    for (const file of files) {
      const wire = await pipe(new BlockEncoder(), randomChunks(file, random, 30_000));
      for (let offset = 0; offset < wire.length;) offset += await conn.write(wire.subarray(offset));
    }
    // The receiver answers only after the last file: proof that the connection was never closed.
    const answer = new Uint8Array(2);
    equal(await conn.read(answer), 2);
    equal(new TextDecoder().decode(answer), "ok");
  })();
  using conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  let leftover: Uint8Array | undefined;
  for (const file of files) {
    const received = receiveFramed(conn, new BlockDecoder(), { initial: leftover });
    const got = await new Response(received.readable).bytes();
    equal(got.length, file.length);
    deepEqual(got, file);
    leftover = await received.ended;
  }
  equal(leftover?.length ?? 0, 0);
  await conn.write(new TextEncoder().encode("ok"));
  await sending;
});

Deno.test("BlockFraming() frames a file as BlockEncoder() does, without a stream", async () => {
  const random = new Random(4096);
  for (const structure of ["file", "record"] as const) {
    const data = random.bytes(5000, [0x41, 0x0a, FF]);
    const internal = structure === "record"
      ? await pipe(new RepresentationEncoder({ type: "ascii", structure }), [data])
      : data;
    const chunks = randomChunks(internal, random, 700);
    const framing = new BlockFraming({ structure, restart: { interval: 1000 } });
    const direct = join([...chunks.map((chunk) => framing.push(chunk)), framing.flush()]);
    const streamed = await pipe(
      new BlockEncoder({ structure, restart: { interval: 1000 } }),
      chunks,
    );
    equal(hex(direct), hex(streamed));
  }
});
