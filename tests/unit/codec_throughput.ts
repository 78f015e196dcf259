/**
 * Throughput of each representation and mode codec on 64 MiB, through the TransformStream the
 * transfer pipeline uses, in 1 MiB chunks (the pump's read size). Not a test: run it with
 *
 *     deno run --allow-all tests/unit/codec_throughput.ts [MiB]
 *
 * and it prints one line per codec: MiB/s of input and of output, and both sizes.
 *
 * @module
 */

import { BlockDecoder, BlockEncoder } from "../../src/data/mode/block.ts";
import { CompressedDecoder, CompressedEncoder } from "../../src/data/mode/compressed.ts";
import { deflateEncoder, inflateDecoder } from "../../src/data/mode/deflate.ts";
import { FrameDecoderStream } from "../../src/data/mode/frames.ts";
import { CheckpointQueue } from "../../src/data/mode/restart.ts";
import {
  RepresentationDecoder,
  RepresentationEncoder,
} from "../../src/data/representation/representation.ts";

const MiB = 1 << 20;
const size = Number(Deno.args[0] ?? 64) * MiB;

function textFile(length: number): Uint8Array {
  // Log-like lines, some Latin-1, blank lines, runs of spaces (reports pad their columns).
  const words = ["record", "block", "mainframe", "Größe", "     ", "0001", "EBCDIC", "façade"];
  const out = new Uint8Array(length);
  const encoder = new TextEncoder();
  let seed = 7;
  let o = 0;
  while (o < length) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    let line = "";
    for (let i = 0; i < 4 + (seed % 9); i++) line += words[(seed >> (i + 3)) % words.length] + " ";
    const bytes = encoder.encode(line + (seed % 13 === 0 ? "\n\n" : "\n"));
    out.set(bytes.subarray(0, Math.min(bytes.length, length - o)), o);
    o += bytes.length;
  }
  return out;
}

function randomFile(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

function rdwFile(length: number): Uint8Array {
  // Records of 1,020 bytes behind their 4-byte RDW.
  const out = randomFile(length);
  for (let o = 0; o + 1024 <= length; o += 1024) out.set([1024 >> 8, 1024 & 0xff, 0, 0], o);
  return out.subarray(0, length - length % 1024);
}

function chunks(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += MiB) out.push(data.subarray(i, i + MiB));
  return out;
}

async function through(
  stage: ReadableWritablePair<Uint8Array, Uint8Array>,
  input: Uint8Array,
): Promise<{ output: Uint8Array[]; ms: number }> {
  const output: Uint8Array[] = [];
  const start = performance.now();
  for await (const chunk of ReadableStream.from(chunks(input)).pipeThrough(stage)) {
    output.push(chunk);
  }
  return { output, ms: performance.now() - start };
}

function joined(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let o = 0;
  for (const part of parts) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

async function measure(
  name: string,
  make: () => ReadableWritablePair<Uint8Array, Uint8Array>,
  input: Uint8Array,
): Promise<Uint8Array> {
  const { output, ms } = await through(make(), input);
  const out = joined(output);
  const seconds = ms / 1000;
  const rate = (bytes: number) => ((bytes / MiB) / seconds).toFixed(0).padStart(6);
  // deno-lint-ignore no-console
  console.log(
    `${name.padEnd(46)} in ${rate(input.length)} MiB/s, out ${rate(out.length)} MiB/s   (${
      (input.length / MiB).toFixed(1)
    } → ${(out.length / MiB).toFixed(1)} MiB)`,
  );
  return out;
}

const text = textFile(size);
const binary = randomFile(size);
const rdw = rdwFile(size);

// deno-lint-ignore no-console
console.log(`${size / MiB} MiB inputs, 1 MiB chunks, Deno ${Deno.version.deno}`);

// Representations: stored → internal (RETR) and back (STOR).
const asciiNet = await measure(
  "TYPE A N, STRU F: encode (LF→CRLF)",
  () => new RepresentationEncoder({ type: "ascii" }),
  text,
);
await measure(
  "TYPE A N, STRU F: decode (CRLF→LF)",
  () => new RepresentationDecoder({ type: "ascii" }),
  asciiNet,
);
const ebcdic = await measure(
  "TYPE E N, STRU F: encode (UTF-8→037)",
  () => new RepresentationEncoder({ type: "ebcdic" }),
  text,
);
await measure(
  "TYPE E N, STRU F: decode (037→UTF-8)",
  () => new RepresentationDecoder({ type: "ebcdic" }),
  ebcdic,
);
const asa = await measure(
  "TYPE A C, STRU F: encode (ASA)",
  () => new RepresentationEncoder({ type: "ascii", format: "asa" }),
  text,
);
await measure(
  "TYPE A C, STRU F: decode (ASA)",
  () => new RepresentationDecoder({ type: "ascii", format: "asa" }),
  asa,
);
const records = await measure(
  "TYPE A N, STRU R: encode (lines→records)",
  () => new RepresentationEncoder({ type: "ascii", structure: "record" }),
  text,
);
await measure(
  "TYPE A N, STRU R: decode",
  () => new RepresentationDecoder({ type: "ascii", structure: "record" }),
  records,
);
const ebcdicAsaRecords = await measure(
  "TYPE E C, STRU R: encode (all three stages)",
  () => new RepresentationEncoder({ type: "ebcdic", format: "asa", structure: "record" }),
  text,
);
await measure(
  "TYPE E C, STRU R: decode",
  () => new RepresentationDecoder({ type: "ebcdic", format: "asa", structure: "record" }),
  ebcdicAsaRecords,
);
const rdwRecords = await measure(
  "TYPE I, STRU R: encode (RDW→records)",
  () => new RepresentationEncoder({ type: "image", structure: "record" }),
  rdw,
);
await measure(
  "TYPE I, STRU R: decode (records→RDW)",
  () => new RepresentationDecoder({ type: "image", structure: "record" }),
  rdwRecords,
);
await measure(
  "TYPE E N encode with restart checkpoints",
  () => new RepresentationEncoder({ type: "ebcdic", checkpoints: new CheckpointQueue() }),
  text,
);

// Modes: internal → wire (RETR) and back (STOR).
const blocks = await measure(
  "MODE B, STRU F: encode",
  () => new BlockEncoder({ restart: { interval: MiB } }),
  binary,
);
await measure("MODE B, STRU F: decode", () => new FrameDecoderStream(new BlockDecoder()), blocks);
const recordBlocks = await measure(
  "MODE B, STRU R: encode",
  () => new BlockEncoder({ structure: "record" }),
  rdwRecords,
);
await measure(
  "MODE B, STRU R: decode",
  () => new FrameDecoderStream(new BlockDecoder({ structure: "record" })),
  recordBlocks,
);
const compressedText = await measure(
  "MODE C: encode (text)",
  () => new CompressedEncoder({ filler: 0x20 }),
  asciiNet,
);
await measure(
  "MODE C: decode (text)",
  () => new FrameDecoderStream(new CompressedDecoder({ filler: 0x20 })),
  compressedText,
);
const compressedBinary = await measure(
  "MODE C: encode (random bytes)",
  () => new CompressedEncoder({ filler: 0 }),
  binary,
);
await measure(
  "MODE C: decode (random bytes)",
  () => new FrameDecoderStream(new CompressedDecoder({ filler: 0 })),
  compressedBinary,
);
for (const level of [1, 6, 9]) {
  const deflated = await measure(
    `MODE Z level ${level}: deflate (text)`,
    () => deflateEncoder({ level }),
    asciiNet,
  );
  if (level === 6) await measure("MODE Z: inflate (text)", () => inflateDecoder(), deflated);
}
await measure(
  "CompressionStream('deflate') (text, for comparison)",
  () => new CompressionStream("deflate") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
  asciiNet,
);
