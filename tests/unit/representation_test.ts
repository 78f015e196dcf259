import { deepEqual, equal, rejects } from "node:assert/strict";
import { CheckpointQueue } from "../../src/data/mode/restart.ts";
import { CodecError } from "../../src/data/representation/errors.ts";
import {
  type EncoderOptions,
  isIdentity,
  RepresentationDecoder,
  RepresentationEncoder,
  type RepresentationOptions,
} from "../../src/data/representation/representation.ts";
import { CrlfToLf } from "../../src/data/representation/ascii.ts";
import { bytes, encoder, hex, pipe, Random, randomChunks, runStage } from "./codec_helpers.ts";

const FF = 0xff;

/** Every accepted combination of TYPE, format control, STRU (and code page, binary records). */
function combinations(): RepresentationOptions[] {
  const out: RepresentationOptions[] = [];
  for (const structure of ["file", "record"] as const) {
    for (const format of ["non-print", "telnet", "asa"] as const) {
      out.push({ type: "ascii", format, structure });
      for (const codePage of ["037", "1047"] as const) {
        out.push({ type: "ebcdic", format, structure, codePage });
      }
    }
  }
  out.push({ type: "image", structure: "record", binaryRecords: "rdw" });
  out.push({ type: "image", structure: "record", binaryRecords: "single" });
  return out;
}

const label = (options: RepresentationOptions) => JSON.stringify(options);

/** A random stored file the combination must give back byte for byte. */
function storedFile(options: RepresentationOptions, random: Random, length: number): Uint8Array {
  if (options.type === "image") {
    if (options.binaryRecords === "single") {
      return random.bytes(length, [0, 0x41, 0xff, 0x01, 0x0a]);
    }
    const parts: number[] = [];
    while (parts.length < length) {
      const record = random.bytes(random.int(9), [0, 0x41, 0xff, 0x01, 0x0a]);
      parts.push(0, record.length + 4, 0, 0, ...record);
    }
    return new Uint8Array(parts);
  }
  // Text: letters, Latin-1 (two UTF-8 bytes), blanks, blank lines, form feeds, CR (not before
  // LF in ASCII file structure, which turns CRLF into LF by design).
  const pieces = ["a", "Z", " ", "é", "\n", "\n", "\f", "ÿ", "0", "+"];
  if (!(options.type === "ascii" && options.structure !== "record")) pieces.push("\r");
  let text = "";
  while (text.length < length) text += pieces[random.int(pieces.length)];
  return encoder.encode(text);
}

/** Offsets just after each line end (CRLF, NL) or EOR escape in an internal-form stream. */
function lineEnds(internal: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < internal.length; i++) {
    const byte = internal[i];
    if (byte === 0x0a || byte === 0x15) out.push(i + 1);
    else if (byte === FF) {
      if (internal[i + 1] === 0x01) out.push(i + 2);
      i++;
    }
  }
  return out;
}

Deno.test("isIdentity() is true only for binary file structure", () => {
  equal(isIdentity({ type: "image" }), true);
  equal(isIdentity({ type: "image", structure: "record" }), false);
  equal(isIdentity({ type: "ascii" }), false);
  equal(isIdentity({ type: "ebcdic" }), false);
});

Deno.test("RepresentationEncoder() produces the documented internal form", async () => {
  const cases: [RepresentationOptions, Uint8Array, Uint8Array][] = [
    [{ type: "ascii" }, bytes("a\nb"), bytes("a\r\nb")],
    [{ type: "ascii", format: "telnet" }, bytes("a\f\nb"), bytes("a\f\r\nb")],
    [{ type: "ascii", format: "asa" }, bytes("x\n\ny\n"), bytes(" x\r\n0y\r\n")],
    [{ type: "ascii", structure: "record" }, bytes("a\nb\n"), bytes("a", FF, 1, "b", FF, 1, FF, 2)],
    [{ type: "ascii", structure: "record" }, bytes(""), bytes(FF, 2)],
    [{ type: "ebcdic" }, bytes("AB\n"), bytes(0xc1, 0xc2, 0x15)],
    [{ type: "ebcdic", codePage: "1047" }, bytes("[]\n"), bytes(0xad, 0xbd, 0x15)],
    [
      { type: "ebcdic", format: "asa", structure: "record" },
      bytes("A\n\fB\n"),
      bytes(0x40, 0xc1, FF, 1, 0xf1, 0xc2, FF, 1, FF, 2),
    ],
    [
      { type: "image", structure: "record" },
      bytes(0, 6, 0, 0, 1, FF, 0, 4, 0, 0),
      bytes(1, FF, FF, FF, 1, FF, 1, FF, 2),
    ],
    [
      { type: "image", structure: "record", binaryRecords: "single" },
      bytes(1, FF),
      bytes(1, FF, FF, FF, 1, FF, 2),
    ],
    [{ type: "image" }, bytes(1, FF, 0x0a), bytes(1, FF, 0x0a)],
  ];
  for (const [options, stored, internal] of cases) {
    equal(
      hex(await pipe(new RepresentationEncoder(options), [stored])),
      hex(internal),
      label(options),
    );
    equal(
      hex(await pipe(new RepresentationDecoder(options), [internal])),
      hex(stored),
      label(options),
    );
  }
});

Deno.test("RepresentationEncoder() counts SUB substitutions, RepresentationDecoder() bad ASA", async () => {
  const encoding = new RepresentationEncoder({ type: "ebcdic" });
  deepEqual(
    await pipe(encoding, [bytes("€ ok ✓\n")]),
    bytes(0x3f, 0x40, 0x96, 0x92, 0x40, 0x3f, 0x15),
  );
  equal(encoding.stats.substituted, 2);
  const decoding = new RepresentationDecoder({ type: "ascii", format: "asa" });
  equal(new TextDecoder().decode(await pipe(decoding, [bytes("x1\r\n 2\r\n")])), "1\n2\n");
  equal(decoding.stats.invalidControls, 1);
});

Deno.test("every combination round-trips random files at random chunk boundaries", async () => {
  const random = new Random(2026);
  for (const options of combinations()) {
    for (let round = 0; round < 40; round++) {
      const stored = storedFile(options, random, random.int(60));
      const internal = await pipe(
        new RepresentationEncoder(options),
        randomChunks(stored, random, 9),
      );
      const back = await pipe(
        new RepresentationDecoder(options),
        randomChunks(internal, random, 9),
      );
      equal(hex(back), hex(stored), label(options));
    }
  }
});

Deno.test("every combination round-trips small files split at every position", async () => {
  const random = new Random(959);
  for (const options of combinations()) {
    const stored = storedFile(options, random, 14);
    const internal = await pipe(new RepresentationEncoder(options), [stored]);
    for (let i = 0; i <= stored.length; i++) {
      const split = [stored.subarray(0, i), stored.subarray(i)];
      equal(
        hex(await pipe(new RepresentationEncoder(options), split)),
        hex(internal),
        label(options),
      );
    }
    for (let i = 0; i <= internal.length; i++) {
      const split = [internal.subarray(0, i), internal.subarray(i)];
      equal(
        hex(await pipe(new RepresentationDecoder(options), split)),
        hex(stored),
        label(options),
      );
    }
  }
});

Deno.test("RepresentationEncoder() offers only clean cuts: a fresh encoder resumes exactly", async () => {
  const random = new Random(110);
  for (const options of combinations()) {
    const stored = storedFile(options, random, 400);
    const checkpoints = new CheckpointQueue();
    const encoding: EncoderOptions = { ...options, checkpoints, checkpointInterval: 7 };
    const internal = await pipe(
      new RepresentationEncoder(encoding),
      randomChunks(stored, random, 50),
    );
    const cuts = [];
    for (let cut = checkpoints.firstFrom(0); cut; cut = checkpoints.firstFrom(cut.internal + 1)) {
      cuts.push(cut);
    }
    // Text has a clean cut after most lines, RDW after each record: there must be many.
    equal(cuts.length > 5, true, `${label(options)}: ${cuts.length} cuts`);
    let previous = 0;
    for (const { internal: at, storage } of cuts) {
      equal(storage - previous >= 7 || previous === 0, true, "cuts are an interval apart");
      previous = storage;
      const resumed = await pipe(
        new RepresentationEncoder({ ...options, startOffset: storage }),
        [stored.subarray(storage)],
      );
      equal(hex(resumed), hex(internal.subarray(at)), `${label(options)} at ${storage}`);
    }
  }
});

Deno.test("RepresentationDecoder.locate() gives storage offsets a fresh decoder resumes at", async () => {
  const random = new Random(111);
  for (const options of combinations()) {
    const stored = storedFile(options, random, 300);
    const internal = await pipe(new RepresentationEncoder(options), [stored]);
    const decoding = new RepresentationDecoder(options);
    const offsets = [
      0,
      internal.length,
      ...Array.from({ length: 30 }, () => random.int(internal.length)),
      // Where markers usually are: just after a line or record.
      ...lineEnds(internal).filter((_, i) => i % 3 === 0),
    ]
      .sort((a, b) => a - b);
    const located = offsets.map((offset) => decoding.locate(offset));
    equal(hex(await pipe(decoding, randomChunks(internal, random, 40))), hex(stored));
    let found = 0;
    for (const [n, offset] of offsets.entries()) {
      const storage = await located[n];
      if (storage === null) continue;
      found++;
      const resumed = new RepresentationDecoder({ ...options, startOffset: storage });
      const rest = await pipe(resumed, [internal.subarray(offset)]);
      equal(
        hex(rest),
        hex(stored.subarray(storage)),
        `${label(options)}: internal ${offset} → storage ${storage}`,
      );
    }
    equal(found > 3, true, `${label(options)}: ${found} located`);
  }
});

Deno.test("RepresentationDecoder.locate() answers null once the data has passed or ends", async () => {
  const decoding = new RepresentationDecoder({ type: "ascii" });
  const beyond = decoding.locate(100);
  await pipe(decoding, [bytes("ab\r\ncd\r")]);
  equal(await beyond, null);
  equal(await decoding.locate(1), null);
});

Deno.test("RepresentationDecoder() fails with a CodecError on malformed records", async () => {
  await rejects(
    pipe(new RepresentationDecoder({ type: "ebcdic", structure: "record" }), [bytes(0xc1, FF, 9)]),
    (error) => error instanceof CodecError && error.kind === "malformed" && error.code === 451,
  );
  await rejects(
    pipe(new RepresentationEncoder({ type: "image", structure: "record" }), [bytes("not rdw")]),
    (error) => error instanceof CodecError && error.kind === "not-records",
  );
});

Deno.test("CrlfToLf() can start after a CR that an earlier transfer held", () => {
  deepEqual(runStage(new CrlfToLf(true), [bytes("\nb")]), bytes("\nb"));
  deepEqual(runStage(new CrlfToLf(true), [bytes("b")]), bytes("\rb"));
  deepEqual(runStage(new CrlfToLf(), [bytes("\nb")]), bytes("\nb"));
});
