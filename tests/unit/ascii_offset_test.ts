import { deepEqual, equal } from "node:assert/strict";
import { fromNetworkAscii, toNetworkAscii } from "../../src/data/ascii.ts";
import { skipBytes, storedOffset } from "../../src/data/ascii_offset.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const stream = (text: string) => new Blob([encoder.encode(text)]).stream();
const collect = async (readable: ReadableStream<Uint8Array>) =>
  decoder.decode(new Uint8Array(await new Response(readable).arrayBuffer()));

Deno.test("storedOffset() maps a converted offset back to the stored file", async () => {
  // "a\nb\nc\n" is sent as "a\r\nb\r\nc\r\n".
  const cases: [number, { offset: number; heldCR: boolean } | null][] = [
    [0, { offset: 0, heldCR: false }],
    [1, { offset: 1, heldCR: false }],
    [2, { offset: 1, heldCR: false }], // between CR and LF: resume at the stored LF
    [3, { offset: 2, heldCR: false }],
    [4, { offset: 3, heldCR: false }],
    [9, { offset: 6, heldCR: false }],
    [10, null],
  ];
  for (const [wire, expected] of cases) {
    deepEqual(await storedOffset(stream("a\nb\nc\n"), wire), expected, `REST ${wire}`);
  }
});

Deno.test("storedOffset() resumes before a stored trailing CR, holding it", async () => {
  // An upload cut between CR and LF stored the CR alone.
  deepEqual(await storedOffset(stream("a\r"), 2), { offset: 1, heldCR: true });
  deepEqual(await storedOffset(stream("a\r\nb"), 3), { offset: 3, heldCR: false });
});

Deno.test("a download resumed anywhere in TYPE A gives the converted bytes after the marker", async () => {
  const text = "one\ntwo\r\nthree\n\nfour";
  const wire = await collect(stream(text).pipeThrough(toNetworkAscii()));
  for (let cut = 0; cut <= wire.length; cut++) {
    const tail = await collect(
      stream(text).pipeThrough(toNetworkAscii()).pipeThrough(skipBytes(cut)),
    );
    equal(wire.slice(0, cut) + tail, wire, `REST ${cut}`);
  }
});

Deno.test("an upload resumed anywhere in TYPE A stores what an uninterrupted one would", async () => {
  const text = "one\ntwo\nthree\n\nfour\n";
  const wire = await collect(stream(text).pipeThrough(toNetworkAscii()));
  for (let cut = 0; cut <= wire.length; cut++) {
    const first = await collect(stream(wire.slice(0, cut)).pipeThrough(fromNetworkAscii()));
    const at = await storedOffset(stream(first), cut);
    if (at === null) throw new Error(`no offset for ${cut}`);
    const rest = await collect(stream(wire.slice(cut)).pipeThrough(fromNetworkAscii(at.heldCR)));
    equal(first.slice(0, at.offset) + rest, text, `REST ${cut}`);
  }
});
