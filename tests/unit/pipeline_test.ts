import { deepEqual, equal, throws } from "node:assert/strict";
import { receiveFramed } from "../../src/data/mode/frames.ts";
import {
  type PipelineOptions,
  pipelineOptions,
  receivePipeline,
  sendPipeline,
  through,
  type TransferMode,
} from "../../src/data/mode/pipeline.ts";
import type { RestartMarker } from "../../src/data/mode/restart.ts";
import { ASCII, IMAGE } from "../../src/data/representation.ts";
import type { RepresentationOptions } from "../../src/data/representation/representation.ts";
import { hex, join, Random, randomChunks } from "./codec_helpers.ts";

const MODES: TransferMode[] = ["stream", "block", "compressed", "deflate"];

function representations(): RepresentationOptions[] {
  const out: RepresentationOptions[] = [{ type: "image" }];
  for (const structure of ["file", "record"] as const) {
    for (const format of ["non-print", "asa"] as const) {
      out.push({ type: "ascii", format, structure }, { type: "ebcdic", format, structure });
    }
  }
  out.push({ type: "image", structure: "record" }, {
    type: "image",
    structure: "record",
    binaryRecords: "single",
  });
  return out;
}

function storedFile(options: RepresentationOptions, random: Random): Uint8Array {
  if (options.type === "image") {
    if (options.structure !== "record" || options.binaryRecords === "single") {
      return random.bytes(random.int(5000));
    }
    const parts: number[] = [];
    for (let i = random.int(40); i > 0; i--) {
      const record = random.bytes(random.int(300));
      parts.push((record.length + 4) >> 8, (record.length + 4) & 0xff, 0, 0, ...record);
    }
    return new Uint8Array(parts);
  }
  const pieces = ["word", " ", "     ", "é", "\n", "\n", "\f", "ÿ"];
  if (!(options.type === "ascii" && options.structure !== "record")) pieces.push("\r");
  let text = "";
  for (let i = random.int(2000); i > 0; i--) text += pieces[random.int(pieces.length)];
  return new TextEncoder().encode(text);
}

/** A ByteReader over one buffer, in reads of random sizes. */
function connection(wire: Uint8Array, random: Random) {
  let offset = 0;
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      if (offset === wire.length) return Promise.resolve(null);
      const n = Math.min(buffer.length, wire.length - offset, 1 + random.int(3000));
      buffer.set(wire.subarray(offset, offset + n));
      offset += n;
      return Promise.resolve(n);
    },
  };
}

Deno.test("sendPipeline() and receivePipeline() round-trip every TYPE × STRU × MODE", async () => {
  const random = new Random(1985);
  for (const representation of representations()) {
    for (const mode of MODES) {
      const options: PipelineOptions = { ...representation, mode, restartInterval: 700, level: 3 };
      const label = JSON.stringify(options);
      // Two files back to back on one connection: block and compressed mode keep it open.
      const files = [storedFile(representation, random), storedFile(representation, random)];
      const framed = mode === "block" || mode === "compressed";
      const wires: Uint8Array[] = [];
      for (const file of framed ? files : files.slice(0, 1)) {
        const send = sendPipeline(options);
        equal(send.keepsConnection, framed);
        wires.push(
          await new Response(
            through(ReadableStream.from(randomChunks(file, random, 999)), send.stages),
          ).bytes(),
        );
      }
      const conn = connection(join(wires), random);
      let leftover: Uint8Array | undefined;
      for (const [n, wire] of wires.entries()) {
        const markers: RestartMarker[] = [];
        const receive = receivePipeline(options, { onMarker: (marker) => markers.push(marker) });
        let source: ReadableStream<Uint8Array>;
        let ended: Promise<Uint8Array> | undefined;
        if (receive.frames) {
          const framedReceive = receiveFramed(conn, receive.frames, { initial: leftover });
          source = framedReceive.readable;
          ended = framedReceive.ended;
        } else {
          source = ReadableStream.from(randomChunks(wire, random, 999));
        }
        const stored = await new Response(through(source, receive.stages)).bytes();
        equal(hex(stored), hex(files[n]), label);
        if (ended) leftover = await ended;
        // The server's own markers came through as the client sees them.
        if (framed && files[n].length > 3000) equal(markers.length > 0, true, `${label}: markers`);
        for (const marker of markers) equal(/^\d+$/.test(marker.text), true);
      }
      if (framed) deepEqual(leftover, new Uint8Array(0));
    }
  }
});

Deno.test("sendPipeline() has no stage for TYPE I, STRU F, MODE S", () => {
  deepEqual(sendPipeline({ type: "image", mode: "stream" }).stages, []);
  deepEqual(receivePipeline({ type: "image", mode: "stream" }).stages, []);
  equal(receivePipeline({ type: "image", mode: "stream" }).frames, null);
});

Deno.test("receivePipeline().locate() is the REST offset plus the data for binary files", async () => {
  const receive = receivePipeline({ type: "image", mode: "block", startOffset: 500 });
  equal(await receive.locate(20), 520);
});

Deno.test("pipelineOptions() maps the session's TYPE, STRU and MODE", () => {
  const ebcdicAsa = { type: "E", format: "C", byteSize: 8 } as const;
  deepEqual(pipelineOptions(ebcdicAsa, "R", "C", { codePage: "1047", restartInterval: 9 }), {
    type: "ebcdic",
    format: "asa",
    structure: "record",
    mode: "compressed",
    codePage: "1047",
    restartInterval: 9,
  });
  deepEqual(pipelineOptions(IMAGE, "F", "Z", { level: 1 }), {
    type: "image",
    format: "non-print",
    structure: "file",
    mode: "deflate",
    level: 1,
  });
  equal(pipelineOptions({ type: "L", format: "N", byteSize: 8 }, "F", "S").type, "image");
  equal(pipelineOptions(ASCII, "F", "S").format, "non-print");
  equal(pipelineOptions({ ...ASCII, format: "T" }, "F", "B").format, "telnet");
  // A listing: already network text; only the mode applies.
  deepEqual(sendPipeline(pipelineOptions(null, "R", "B")).stages.length, 1);
  throws(() => pipelineOptions(ASCII, "P", "S"), RangeError);
  throws(() => pipelineOptions({ type: "L", format: "N", byteSize: 36 }, "F", "S"), RangeError);
});
