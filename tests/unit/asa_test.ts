import { equal } from "node:assert/strict";
import { AsaDecoder, AsaEncoder } from "../../src/data/representation/asa.ts";
import { chunkings, decoder, encoder, Random, randomChunks, runStage } from "./codec_helpers.ts";

const text = (input: string) => encoder.encode(input);
const show = (input: string) => JSON.stringify(input);

function encode(stored: string, chunks?: Uint8Array[]): string {
  return decoder.decode(runStage(new AsaEncoder(), chunks ?? [text(stored)]));
}

function decode(asa: string, chunks?: Uint8Array[]): { stored: string; invalid: number } {
  const stats = { invalidControls: 0 };
  const stored = decoder.decode(runStage(new AsaDecoder(stats), chunks ?? [text(asa)]));
  return { stored, invalid: stats.invalidControls };
}

/** [ASA file, stored text]: pairs that convert into each other both ways. */
const PAIRS: [asa: string, stored: string][] = [
  ["", ""],
  [" one\n", "one\n"],
  [" one\n two\n", "one\ntwo\n"],
  [" one\n0two\n", "one\n\ntwo\n"], // double space: a blank line before
  [" one\n-two\n", "one\n\n\ntwo\n"], // triple space: two blank lines before
  [" one\n \n-two\n", "one\n\n\n\ntwo\n"], // three blank lines: one empty record, then "-"
  ["1page\n", "\fpage\n"], // new page: a form feed
  [" one\n1two\n", "one\n\ftwo\n"],
  [" \n1x\n", "\n\fx\n"], // a blank line and then a new page: the blank line is its own record
  [" abc\n+___\n", "abc\r___\n"], // overprint: the previous line ends with CR
  [" abc\n+___\n+...\n", "abc\r___\r...\n"],
  [" \n+x\n", "\rx\n"], // overprinting an empty first line
  [" abc\n+\n", "abc\r\n"], // a CRLF line end in a stored file survives as an empty overprint
  [" abc\n+", "abc\r"], // a file ending with CR: an empty overprint line without a line end
  [" last", "last"], // no line end at the end of the file: none at the end of the last record
  [" \n", "\n"],
  [" \n \n", "\n\n"], // trailing blank lines are empty records
  ["0x\n", "\nx\n"],
  ["1\n", "\f\n"],
  ["1\fx\n", "\f\fx\n"], // a second form feed is content
];

Deno.test("AsaEncoder() and AsaDecoder() convert a table of files both ways", () => {
  for (const [asa, stored] of PAIRS) {
    equal(encode(stored), asa, `encode ${show(stored)}`);
    const back = decode(asa);
    equal(back.stored, stored, `decode ${show(asa)}`);
    equal(back.invalid, 0, `decode ${show(asa)}`);
  }
});

Deno.test("AsaEncoder() and AsaDecoder() are chunk-boundary safe", () => {
  for (const [asa, stored] of PAIRS) {
    for (const chunks of chunkings(text(stored))) equal(encode(stored, chunks), asa, show(stored));
    for (const chunks of chunkings(text(asa))) equal(decode(asa, chunks).stored, stored, show(asa));
  }
});

Deno.test("AsaDecoder() stores other control characters as a space and counts them", () => {
  const cases: [asa: string, stored: string, invalid: number][] = [
    ["xabc\n", "abc\n", 1],
    [" a\n\n b\n", "a\n\nb\n", 1], // an empty record has no control character at all
    ["+first\n", "first\n", 0], // nothing to overprint: like a space, and not an error
    ["2two\n 3\n", "two\n3\n", 1],
  ];
  for (const [asa, stored, invalid] of cases) {
    const got = decode(asa);
    equal(got.stored, stored, show(asa));
    equal(got.invalid, invalid, show(asa));
  }
});

Deno.test("AsaDecoder() reads forms the encoder writes differently", () => {
  const cases: [asa: string, stored: string, normal: string][] = [
    [" a\n0", "a\n\n", " a\n \n"], // a "0" with nothing after it: a trailing blank line
    [" a\n \n b\n", "a\n\nb\n", " a\n0b\n"], // an empty record before a line: "0"
    [" \f\n", "\f\n", "1\n"], // a form feed as content of a space record: a "1" record
  ];
  for (const [asa, stored, normal] of cases) {
    equal(decode(asa).stored, stored, show(asa));
    equal(encode(stored), normal, show(asa));
  }
});

Deno.test("AsaDecoder() keeps UTF-8 content intact", () => {
  equal(decode(" grüße\n0€\n").stored, "grüße\n\n€\n");
  equal(encode("grüße\n\n€\n"), " grüße\n0€\n");
});

Deno.test("ASA: stored text → ASA → stored text gives back every file", () => {
  const random = new Random(133);
  const alphabet = [..."ab \n\n\r\f"].map((char) => char.charCodeAt(0));
  for (let round = 0; round < 2000; round++) {
    const stored = random.bytes(random.int(20), alphabet);
    const asa = runStage(new AsaEncoder(), randomChunks(stored, random, 4));
    const back = runStage(new AsaDecoder(), randomChunks(asa, random, 4));
    equal(decoder.decode(back), decoder.decode(stored), show(decoder.decode(stored)));
  }
});

Deno.test("ASA: a file in normal form comes back unchanged", () => {
  const random = new Random(134);
  const alphabet = [..."ab \n\n\r\f"].map((char) => char.charCodeAt(0));
  for (let round = 0; round < 1000; round++) {
    // Whatever the encoder writes is normal form.
    const asa = encode(decoder.decode(random.bytes(random.int(20), alphabet)));
    equal(encode(decode(asa).stored), asa, show(asa));
  }
});

Deno.test("AsaEncoder() is clean only between lines with nothing pending", () => {
  const stage = new AsaEncoder();
  equal(stage.clean, true);
  stage.push(text("abc"));
  equal(stage.clean, false); // inside a line
  stage.push(text("\n"));
  equal(stage.clean, true);
  stage.push(text("\n"));
  equal(stage.clean, false); // a blank line waits to become "0" or "-"
  stage.push(text("x\r"));
  equal(stage.clean, false); // the next line is an overprint
  stage.push(text("y\n"));
  equal(stage.clean, true);
});

Deno.test("AsaEncoder() writes a long run of empty lines as it goes, with the same bytes", () => {
  const blanks = (count: number) => " \n".repeat(count);
  /** The control of a line after `count` empty lines (plus the records before it). */
  const control = (count: number) =>
    count === 0 ? " " : count === 1 ? "0" : `${blanks(count - 2)}-`;
  for (const count of [0, 1, 2, 4095, 4096, 4097, 4098, 4099, 10_000, 100_000]) {
    const run = "\n".repeat(count);
    // What follows the run decides its last two lines: a "0"/"-" control, or records.
    const cases: [stored: string, asa: string][] = [
      [run, blanks(count)],
      [`${run}x\n`, `${control(count)}x\n`],
      [`${run}\fx\n`, `${blanks(count)}1x\n`],
      [`a\n${run}\rb`, ` a\n${control(count)}\n+b`], // an empty line overprinted by "b"
    ];
    for (const [stored, asa] of cases) {
      equal(encode(stored), asa, `${count} blank lines in ${show(stored.slice(-4))}`);
      // In pieces of 1000 bytes too.
      const bytes = text(stored);
      const chunks = [];
      for (let at = 0; at < bytes.length; at += 1000) chunks.push(bytes.subarray(at, at + 1000));
      equal(encode(stored, chunks), asa, `${count} blank lines in pieces`);
    }
  }
  // Memory: what is pushed comes out (as records), not held back until the run ends.
  const stage = new AsaEncoder();
  let out = 0;
  for (let i = 0; i < 64; i++) out += stage.push(new Uint8Array(64 * 1024).fill(0x0a)).length;
  const held = 64 * 64 * 1024 - out / 2;
  equal(held <= 4096, true, `${held} empty lines held back`);
});
