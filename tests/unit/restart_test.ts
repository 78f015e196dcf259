import { deepEqual, equal } from "node:assert/strict";
import { BlockDecoder, BlockEncoder } from "../../src/data/mode/block.ts";
import { CompressedDecoder, CompressedEncoder, fillerFor } from "../../src/data/mode/compressed.ts";
import { FrameDecoderStream, receiveFramed } from "../../src/data/mode/frames.ts";
import { MarkSender } from "../../src/data/mark_sender.ts";
import {
  CheckpointQueue,
  MarkReplies,
  markReplyText,
  parseRestartMarker,
  type RestartMarker,
} from "../../src/data/mode/restart.ts";
import {
  RepresentationDecoder,
  RepresentationEncoder,
  type RepresentationOptions,
} from "../../src/data/representation/representation.ts";
import { hex, join, pipe, Random, randomChunks } from "./codec_helpers.ts";

Deno.test("parseRestartMarker() accepts decimal offsets only", () => {
  const cases: [text: string, offset: number | null][] = [
    ["0", 0],
    ["1048576", 1048576],
    ["9007199254740991", 9007199254740991],
    ["9007199254740992", null], // not a safe integer
    ["", null],
    ["-1", null],
    ["1e3", null],
    [" 1", null],
    ["0x10", null],
    ["12345678901234567", null],
  ];
  for (const [text, offset] of cases) equal(parseRestartMarker(text), offset, text);
});

Deno.test("markReplyText() is RFC 959's exact MARK text", () => {
  equal(markReplyText("c1", 4096), "MARK c1 = 4096");
});

Deno.test("MarkReplies() replies in order, each once its bytes are stored", async () => {
  const sent: string[] = [];
  const marks = new MarkReplies((text) => sent.push(text), 1000);
  const { promise, resolve } = Promise.withResolvers<number | null>();
  marks.add("a", 1010);
  marks.add("b", promise);
  marks.add("c", null); // no clean cut: never replied
  marks.add("d", 1020);
  deepEqual(sent, []);
  marks.written(1015);
  deepEqual(sent, ["MARK a = 1010"]);
  marks.written(1030);
  deepEqual(sent, ["MARK a = 1010"]); // "b" is not located yet, and "d" waits behind it
  resolve(1012);
  await promise;
  await Promise.resolve();
  deepEqual(sent, ["MARK a = 1010", "MARK b = 1012", "MARK d = 1020"]);
});

Deno.test("CheckpointQueue() drops what is passed and keeps a bounded backlog", () => {
  const queue = new CheckpointQueue();
  for (let i = 0; i < 10_000; i++) queue.offer(i * 10, i);
  equal(queue.firstFrom(0)!.internal, (10_000 - 4096) * 10); // only the newest 4,096 are kept
  deepEqual(queue.firstFrom(99_985), { internal: 99_990, storage: 9_999 });
  equal(queue.firstFrom(99_991), undefined);
});

/** A stored text file with lines long and short, blank lines and Latin-1. */
function textFile(random: Random, lines: number): Uint8Array {
  let text = "";
  for (let i = 0; i < lines; i++) {
    text += "x".repeat(random.int(90)) + (i % 7 === 0 ? "é\n\n" : "\n");
  }
  return new TextEncoder().encode(text);
}

type ModeName = "block" | "compressed";

function modeEncoder(
  mode: ModeName,
  options: RepresentationOptions,
  checkpoints?: CheckpointQueue,
) {
  const restart = { interval: 2000, checkpoints };
  return mode === "block"
    ? new BlockEncoder({ structure: options.structure, restart })
    : new CompressedEncoder({
      filler: fillerFor(options.type),
      structure: options.structure,
      restart,
    });
}

function modeDecoder(
  mode: ModeName,
  options: RepresentationOptions,
  onMarker: (m: RestartMarker) => void,
) {
  return mode === "block"
    ? new BlockDecoder({ structure: options.structure, onMarker })
    : new CompressedDecoder({
      filler: fillerFor(options.type),
      structure: options.structure,
      onMarker,
    });
}

const CASES: [ModeName, RepresentationOptions][] = [
  ["block", { type: "image" }],
  ["block", { type: "ebcdic", format: "asa" }],
  ["block", { type: "ascii", structure: "record" }],
  ["compressed", { type: "ebcdic", structure: "record", codePage: "1047" }],
  ["compressed", { type: "ascii" }],
];

for (const [mode, options] of CASES) {
  const name = `${mode} ${JSON.stringify(options)}`;

  Deno.test(`RETR restart (${name}): cut after a marker, REST <marker>, byte-exact`, async () => {
    const random = new Random(3);
    const stored = textFile(random, 400);
    // The first RETR: the server sends markers; the connection dies after the third.
    const checkpoints = new CheckpointQueue();
    const identity = options.type === "image" && !options.structure;
    const representation = identity
      ? new TransformStream<Uint8Array, Uint8Array>()
      : new RepresentationEncoder({ ...options, checkpoints, checkpointInterval: 500 });
    const wire = await new Response(
      ReadableStream.from(randomChunks(stored, random, 3000))
        .pipeThrough(representation)
        .pipeThrough(modeEncoder(mode, options, identity ? undefined : checkpoints)),
    ).bytes();
    const markers: RestartMarker[] = [];
    const decoder = modeDecoder(mode, options, (marker) => markers.push(marker));
    const internal: Uint8Array[] = [];
    decoder.decode(wire, (piece) => internal.push(piece.slice()));
    equal(markers.length >= 3, true, `${markers.length} markers`);
    const cut = markers[2];
    // The client kept the data before the marker; it asks to restart there (REST <marker>).
    const received = join(internal).subarray(0, cut.offset);
    const offset = parseRestartMarker(cut.text)!;
    const resumed = await new Response(
      ReadableStream.from([stored.subarray(offset)])
        .pipeThrough(
          identity
            ? new TransformStream()
            : new RepresentationEncoder({ ...options, startOffset: offset }),
        )
        .pipeThrough(modeEncoder(mode, options, identity ? undefined : new CheckpointQueue())),
    ).bytes();
    const rest: Uint8Array[] = [];
    modeDecoder(mode, options, () => {}).decode(resumed, (piece) => rest.push(piece.slice()));
    const whole = join([received, ...rest]);
    const back = identity ? whole : await pipe(new RepresentationDecoder(options), [whole]);
    equal(hex(back), hex(stored));
  });

  Deno.test(`STOR restart (${name}): 110 replies, cut, REST <mmmm>, byte-exact`, async () => {
    const random = new Random(4);
    const stored = textFile(random, 400);
    // The client's side: the file in transfer form, sent with its own markers "c1", "c2", ...
    const clientInternal = await pipe(new RepresentationEncoder(options), [stored]);
    // Like z/OS (a marker every n records), the client marks the data after a line or record.
    const clientMarks = [1500, 3000, 4500, 6000, 7500]
      .map((target) => afterLineEnd(clientInternal, target))
      .filter((at) => at < clientInternal.length);
    const identity = options.type === "image" && !options.structure;
    const clientWire = await clientSend(mode, options, clientInternal, clientMarks);
    // The server: decode, locate each marker in storage, reply 110 once the bytes are stored.
    const replies: string[] = [];
    const disk: Uint8Array[] = [];
    let diskLength = 0;
    const marks = new MarkReplies((text) => replies.push(text));
    const representation = identity ? null : new RepresentationDecoder(options);
    const frames = modeDecoder(mode, options, (marker) => {
      marks.add(marker.text, representation ? representation.locate(marker.offset) : marker.offset);
    });
    // The connection dies two thirds of the way through.
    const sent = clientWire.subarray(0, Math.floor(clientWire.length * 2 / 3));
    const reader = {
      done: false,
      read: (buffer: Uint8Array) => {
        if (reader.done) return Promise.resolve(null);
        reader.done = true;
        buffer.set(sent);
        return Promise.resolve(sent.length);
      },
    };
    const { readable } = receiveFramed(reader, frames, { readSize: sent.length });
    const source = representation ? readable.pipeThrough(representation) : readable;
    try {
      for await (const chunk of source) {
        disk.push(chunk.slice());
        diskLength += chunk.length;
        marks.written(diskLength);
      }
    } catch { /* the connection closed before the EOF: 426 */ }
    equal(replies.length >= 2, true, `${replies.length} replies: ${replies}`);
    // The client restarts from the last mark the server confirmed: REST mmmm, then STOR.
    const [, clientMarker, serverMarker] = replies.at(-1)!.match(/^MARK (\S+) = (\d+)$/)!;
    const restOffset = parseRestartMarker(serverMarker)!;
    const resumeAt = clientMarks[Number(clientMarker.slice(1)) - 1];
    const resumedWire = await clientSend(mode, options, clientInternal.subarray(resumeAt), []);
    const kept = join(disk).subarray(0, restOffset); // the server truncates the file at mmmm
    const second = new FrameDecoderStream(modeDecoder(mode, options, () => {}));
    const rest = await pipe(
      identity ? second : {
        writable: second.writable,
        readable: second.readable.pipeThrough(
          new RepresentationDecoder({ ...options, startOffset: restOffset }),
        ),
      },
      randomChunks(resumedWire, random, 999),
    );
    equal(hex(join([kept, rest])), hex(stored));
  });
}

/** The offset just after the first line or record end at or after `from`. */
function afterLineEnd(internal: Uint8Array, from: number): number {
  for (let i = from; i < internal.length; i++) {
    const byte = internal[i];
    if (byte === 0x0a || byte === 0x15) return i + 1; // LF (after CR), EBCDIC NL
    if (byte === 0xff && internal[i + 1] === 0x01) return i + 2; // EOR
    if (byte === 0xff) i++; // a data 0xFF
  }
  return internal.length;
}

/** A client sending internal-form data with its own markers ("c1", "c2", ...) at offsets. */
async function clientSend(
  mode: ModeName,
  options: RepresentationOptions,
  internal: Uint8Array,
  marks: number[],
): Promise<Uint8Array> {
  // The client's markers are its own texts; place them with a checkpoint queue of its own.
  const checkpoints = new CheckpointQueue();
  marks.forEach((at, i) => checkpoints.offer(at, i + 1));
  const encoder = mode === "block"
    ? new BlockEncoder({ structure: options.structure, restart: { interval: 1, checkpoints } })
    : new CompressedEncoder({
      filler: fillerFor(options.type),
      structure: options.structure,
      restart: { interval: 1, checkpoints },
    });
  const wire = await pipe(encoder, [internal]);
  // Rewrite the marker texts "1", "2", ... into "c1", "c2", ... as a client might name them.
  return rename(mode, wire);
}

function rename(mode: ModeName, wire: Uint8Array): Uint8Array {
  const out: number[] = [];
  if (mode === "block") {
    for (let i = 0; i < wire.length;) {
      const [descriptor, high, low] = wire.subarray(i, i + 3);
      const count = (high << 8) | low;
      const body = wire.subarray(i + 3, i + 3 + count);
      if (descriptor === 16) {
        const text = new TextEncoder().encode("c" + new TextDecoder().decode(body));
        out.push(16, 0, text.length, ...text);
      } else {
        out.push(descriptor, high, low, ...body);
      }
      i += 3 + count;
    }
    return new Uint8Array(out);
  }
  // Compressed: 0x00 0x10 n text → 0x00 0x10 n+1 "c" text (items before are copied as they are).
  for (let i = 0; i < wire.length;) {
    const header = wire[i];
    if (header === 0) {
      const descriptor = wire[i + 1];
      if (descriptor === 16) {
        const n = wire[i + 2];
        out.push(0, 16, n + 1, 0x63, ...wire.subarray(i + 3, i + 3 + n));
        i += 3 + n;
      } else {
        out.push(0, descriptor);
        i += 2;
      }
    } else if (header < 0x80) {
      out.push(...wire.subarray(i, i + 1 + header));
      i += 1 + header;
    } else if (header < 0xc0) {
      out.push(header, wire[i + 1]);
      i += 2;
    } else {
      out.push(header);
      i += 1;
    }
  }
  return new Uint8Array(out);
}

Deno.test("MarkReplies keeps at most 64 markers waiting for their bytes, dropping the oldest", () => {
  const sent: string[] = [];
  const marks = new MarkReplies((text) => sent.push(text));
  for (let i = 1; i <= 1000; i++) marks.add(`m${i}`, i);
  marks.written(1000);
  equal(sent.length, 64);
  equal(sent[0], "MARK m937 = 937");
  equal(sent.at(-1), "MARK m1000 = 1000");
});

Deno.test("MarkSender writes one 110 at a time and, meanwhile, keeps only the newest marker", async () => {
  const sent: string[] = [];
  let release = () => {};
  const marks = new MarkSender((text) => {
    sent.push(text);
    return new Promise<void>((resolve) => release = resolve);
  });
  marks.mark("MARK a = 1");
  for (let i = 2; i <= 1000; i++) marks.mark(`MARK x = ${i}`);
  equal(sent.length, 1, "the first is on its way, the rest wait");
  release();
  await new Promise((resolve) => setTimeout(resolve, 0));
  release();
  await marks.settled();
  equal(sent.join(" | "), "MARK a = 1 | MARK x = 1000");
});
