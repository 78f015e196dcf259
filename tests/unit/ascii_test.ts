import { deepEqual, equal } from "node:assert/strict";
import { fromNetworkAscii, toNetworkAscii } from "../../src/data/ascii.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Pipes `chunks` (kept as separate chunks) through `transform`; returns the output chunks. */
async function run(
  transform: TransformStream<Uint8Array, Uint8Array>,
  chunks: readonly string[],
): Promise<string[]> {
  const out: string[] = [];
  const stream = ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)))
    .pipeThrough(transform);
  for await (const chunk of stream) out.push(decoder.decode(chunk));
  return out;
}

async function joined(
  transform: TransformStream<Uint8Array, Uint8Array>,
  chunks: readonly string[],
): Promise<string> {
  return (await run(transform, chunks)).join("");
}

Deno.test("toNetworkAscii() turns LF into CRLF", async () => {
  const cases: [chunks: string[], expected: string][] = [
    [["a\nb\n"], "a\r\nb\r\n"],
    [["\n"], "\r\n"],
    [["\n\n\n"], "\r\n\r\n\r\n"],
    [["no newline"], "no newline"],
    [["a\n", "b\n"], "a\r\nb\r\n"],
    [["a", "\n", "b"], "a\r\nb"],
    [["\n", "\n"], "\r\n\r\n"],
    [[""], ""],
    [[], ""],
  ];
  for (const [chunks, expected] of cases) {
    equal(await joined(toNetworkAscii(), chunks), expected, JSON.stringify(chunks));
  }
});

Deno.test("toNetworkAscii() does not double an existing CRLF", async () => {
  const cases: [chunks: string[], expected: string][] = [
    [["a\r\nb\r\n"], "a\r\nb\r\n"],
    [["a\nb\r\n"], "a\r\nb\r\n"],
    [["a\r", "\nb"], "a\r\nb"], // CR ends one chunk, LF starts the next
    [["a\r", "", "\nb"], "a\r\nb"], // with an empty chunk between them
    [["\r", "\n", "\n"], "\r\n\r\n"],
    [["a\r\r\n"], "a\r\r\n"],
    [["a\rb"], "a\rb"], // a lone CR stays
    [["a\r", "b\n"], "a\rb\r\n"],
  ];
  for (const [chunks, expected] of cases) {
    equal(await joined(toNetworkAscii(), chunks), expected, JSON.stringify(chunks));
  }
});

Deno.test("toNetworkAscii() forgets a CR once a byte follows it", async () => {
  equal(await joined(toNetworkAscii(), ["\r", "x", "\n"]), "\rx\r\n");
  equal(await joined(toNetworkAscii(), ["\rx", "\n"]), "\rx\r\n");
});

Deno.test("toNetworkAscii() keeps every byte of binary-looking content", async () => {
  const input = new Uint8Array(256).map((_, i) => i);
  const chunks: Uint8Array[] = [];
  const stream = ReadableStream.from([input.slice(0, 100), input.slice(100)])
    .pipeThrough(toNetworkAscii());
  for await (const chunk of stream) chunks.push(chunk);
  const out = chunks.flatMap((chunk) => [...chunk]);
  equal(out.length, 257);
  deepEqual(out.slice(0, 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 10]);
  deepEqual(out.slice(12), [...input.slice(11)]);
});

Deno.test("fromNetworkAscii() turns CRLF into LF and keeps a lone CR", async () => {
  const cases: [chunks: string[], expected: string][] = [
    [["a\r\nb\r\n"], "a\nb\n"],
    [["a\nb\n"], "a\nb\n"], // bare LF passes
    [["a\rb"], "a\rb"],
    [["\r\r\n"], "\r\n"],
    [["\r\n\r\n"], "\n\n"],
    [["\n\r"], "\n\r"],
    [["no newline"], "no newline"],
    [[""], ""],
    [[], ""],
  ];
  for (const [chunks, expected] of cases) {
    equal(await joined(fromNetworkAscii(), chunks), expected, JSON.stringify(chunks));
  }
});

Deno.test("fromNetworkAscii() holds a CR that ends a chunk until the next chunk", async () => {
  const cases: [chunks: string[], expected: string][] = [
    [["a\r", "\nb"], "a\nb"],
    [["a\r", "b"], "a\rb"],
    [["a\r", "\r\n"], "a\r\n"],
    [["\r", "\r", "\n"], "\r\n"],
    [["\r", "\r", "\r"], "\r\r\r"],
    [["a\r", "", "\nb"], "a\nb"], // an empty chunk does not release the CR
    [["a\r", "", "", "b"], "a\rb"],
    [["a\r", "\n"], "a\n"],
  ];
  for (const [chunks, expected] of cases) {
    equal(await joined(fromNetworkAscii(), chunks), expected, JSON.stringify(chunks));
  }
});

Deno.test("fromNetworkAscii() emits a final held CR on flush", async () => {
  equal(await joined(fromNetworkAscii(), ["a\r"]), "a\r");
  equal(await joined(fromNetworkAscii(), ["a", "\r"]), "a\r");
  equal(await joined(fromNetworkAscii(), ["a\r", ""]), "a\r");
  equal(await joined(fromNetworkAscii(), ["\r"]), "\r");
});

Deno.test("fromNetworkAscii() emits no empty chunks", async () => {
  deepEqual(await run(fromNetworkAscii(), ["a\r", "\n", "", "b"]), ["a", "\n", "b"]);
  deepEqual(await run(fromNetworkAscii(), ["", "\r", ""]), ["\r"]);
});

Deno.test("fromNetworkAscii() undoes toNetworkAscii() at any chunk size", async () => {
  const text = "line one\nline two\r\n\nlone\rcr\n\r\nend\r";
  for (const size of [1, 2, 3, 7, 64]) {
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
    const network = await joined(toNetworkAscii(), chunks);
    equal(network, "line one\r\nline two\r\n\r\nlone\rcr\r\n\r\nend\r", `size ${size}`);
    const back = [];
    for (let i = 0; i < network.length; i += size) back.push(network.slice(i, i + size));
    equal(
      await joined(fromNetworkAscii(), back),
      "line one\nline two\n\nlone\rcr\n\nend\r",
      `size ${size}`,
    );
  }
});
