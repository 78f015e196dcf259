import { deepEqual, equal } from "node:assert/strict";
import {
  EBCDIC_NL,
  EBCDIC_SUB,
  EbcdicToUtf8,
  Utf8ToEbcdic,
} from "../../src/data/representation/ebcdic.ts";
import { type CodePage, codePageTable } from "../../src/data/representation/ebcdic_tables.ts";
import {
  bytes,
  chunkings,
  decoder,
  encoder,
  hex,
  Random,
  randomChunks,
  run,
  runStage,
} from "./codec_helpers.ts";

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** The code points of all 256 bytes, as python3 or iconv decode them. */
async function referenceTable(page: CodePage): Promise<number[]> {
  // Python has cp037 built in; IBM-1047 comes from glibc's iconv (Python has no cp1047).
  const utf8 = page === "037"
    ? await run("python3", [
      "-c",
      "import sys; sys.stdout.buffer.write(bytes(range(256)).decode('cp037').encode('utf-8'))",
    ], new Uint8Array())
    : await run("iconv", ["-f", "IBM1047", "-t", "UTF-8"], ALL_BYTES);
  return [...decoder.decode(utf8)].map((char) => char.codePointAt(0)!);
}

/** What stored text a byte of EBCDIC is, by the RFC rule: NL is the line end. */
function expectedText(page: CodePage, ebcdic: Uint8Array): string {
  const table = codePageTable(page);
  return [...ebcdic].map((byte) => {
    if (byte === EBCDIC_NL) return "\n";
    if (byte === 0x25) return "\u0085";
    return String.fromCodePoint(table[byte]);
  }).join("");
}

/** The oracle for UTF-8 → EBCDIC: the WHATWG decoder, then one table lookup per code point. */
function expectedEbcdic(page: CodePage, utf8: Uint8Array): { bytes: Uint8Array; subs: number } {
  const table = codePageTable(page);
  const inverse = new Map(table.map((codePoint, byte) => [codePoint, byte]));
  inverse.set(0x0a, EBCDIC_NL);
  inverse.set(0x85, 0x25);
  let subs = 0;
  const out = [...decoder.decode(utf8)].map((char) => {
    const byte = inverse.get(char.codePointAt(0)!);
    if (byte === undefined) subs++;
    return byte ?? EBCDIC_SUB;
  });
  return { bytes: new Uint8Array(out), subs };
}

for (const page of ["037", "1047"] as const) {
  Deno.test(`codePageTable("${page}") matches the reference decoder for every byte`, async () => {
    deepEqual([...codePageTable(page)], await referenceTable(page));
  });

  Deno.test(`codePageTable("${page}") is a permutation of Latin-1`, () => {
    deepEqual([...codePageTable(page)].sort((a, b) => a - b), [...ALL_BYTES]);
  });

  Deno.test(`EbcdicToUtf8(${page}) decodes every byte value, NL as the line end`, () => {
    const out = runStage(new EbcdicToUtf8(page), [ALL_BYTES]);
    equal(decoder.decode(out), expectedText(page, ALL_BYTES));
    // Spot checks that do not depend on the table code: the line end and letters.
    deepEqual(
      runStage(new EbcdicToUtf8(page), [bytes(0xc1, 0x81, 0xf0, 0x15, 0x25)]),
      bytes("Aa0\n\u0085"),
    );
  });

  Deno.test(`Utf8ToEbcdic(${page}) inverts EbcdicToUtf8 for every byte value`, () => {
    const text = runStage(new EbcdicToUtf8(page), [ALL_BYTES]);
    const stats = { substituted: 0 };
    deepEqual(runStage(new Utf8ToEbcdic(page, stats), [text]), ALL_BYTES);
    equal(stats.substituted, 0);
  });

  Deno.test(`Utf8ToEbcdic(${page}) matches the WHATWG decoder on random bytes at any chunking`, () => {
    const random = new Random(page === "037" ? 37 : 1047);
    // Bytes that make UTF-8 interesting: ASCII, continuation bytes, every kind of lead byte.
    const alphabet = [0x41, 0x0a, 0x80, 0xbf, 0x9f, 0xa0, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed];
    alphabet.push(0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x8f, 0x90, 0xc0, 0xc1);
    for (let round = 0; round < 300; round++) {
      const input = random.bytes(1 + random.int(12), alphabet);
      const { bytes: want, subs } = expectedEbcdic(page, input);
      for (const chunks of chunkings(input, 12)) {
        const stats = { substituted: 0 };
        const got = runStage(new Utf8ToEbcdic(page, stats), chunks);
        equal(hex(got), hex(want), `input ${hex(input)} in ${chunks.length} chunks`);
        equal(stats.substituted, subs, `SUB count for ${hex(input)}`);
      }
    }
  });
}

Deno.test("Utf8ToEbcdic() converts text with a table of cases", () => {
  const cases: [input: Uint8Array, want: number[], subs: number][] = [
    [bytes("AB\n"), [0xc1, 0xc2, 0x15], 0],
    [bytes("a b"), [0x81, 0x40, 0x82], 0],
    [bytes("é"), [0x51], 0], // C3 A9: Latin-1, mapped
    [bytes("\u0085"), [0x25], 0], // NEL takes LF's old place
    [bytes("\r\n"), [0x0d, 0x15], 0], // CR is data; only LF is the line end
    [bytes("€"), [0x3f], 1], // U+20AC: not in the code page
    [bytes("😀x"), [0x3f, 0xa7], 1], // an astral character is one SUB
    [bytes(0x80), [0x3f], 1], // a stray continuation byte
    [bytes(0xc3), [0x3f], 1], // a sequence cut off by the end of the file
    [bytes(0xe2, 0x82, 0x41), [0x3f, 0xc1], 1], // a broken sequence, then A afresh
    [bytes(0xed, 0xa0, 0x80), [0x3f, 0x3f, 0x3f], 3], // a surrogate: three maximal subparts
    [bytes(0xc0, 0xaf), [0x3f, 0x3f], 2], // an overlong form
    [bytes(0xf4, 0x90, 0x80, 0x80), [0x3f, 0x3f, 0x3f, 0x3f], 4], // above U+10FFFF
    [bytes(), [], 0],
  ];
  for (const [input, want, subs] of cases) {
    const stats = { substituted: 0 };
    deepEqual([...runStage(new Utf8ToEbcdic("037", stats), [input])], want, hex(input));
    equal(stats.substituted, subs, hex(input));
  }
});

Deno.test("Utf8ToEbcdic() holds a UTF-8 sequence split across chunks", () => {
  const stage = new Utf8ToEbcdic("037");
  deepEqual([...stage.push(bytes("x", 0xc3))], [0xa7]);
  equal(stage.clean, false);
  deepEqual([...stage.push(bytes(0xa9))], [0x51]);
  equal(stage.clean, true);
});

Deno.test("Utf8ToEbcdic() and 1047 differ from 037 exactly where the pages do", () => {
  const text = bytes("[]^¬Ý¨");
  deepEqual([...runStage(new Utf8ToEbcdic("037"), [text])], [0xba, 0xbb, 0xb0, 0x5f, 0xad, 0xbd]);
  deepEqual([...runStage(new Utf8ToEbcdic("1047"), [text])], [0xad, 0xbd, 0x5f, 0xb0, 0xba, 0xbb]);
});

Deno.test("EBCDIC conversion round-trips random Latin-1 text at random chunkings", () => {
  const random = new Random(7);
  for (const page of ["037", "1047"] as const) {
    for (let round = 0; round < 50; round++) {
      const text = Array.from(
        { length: random.int(300) },
        () => String.fromCodePoint(random.int(256)),
      )
        .join("");
      const utf8 = encoder.encode(text);
      const ebcdic = runStage(new Utf8ToEbcdic(page), randomChunks(utf8, random, 7));
      equal(ebcdic.length, text.length);
      const back = runStage(new EbcdicToUtf8(page), randomChunks(ebcdic, random, 7));
      equal(decoder.decode(back), text);
    }
  }
});
