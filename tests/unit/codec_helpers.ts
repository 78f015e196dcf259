/**
 * Shared helpers for the codec tests: chunked runs through stages and streams, chunkings of an
 * input at every boundary, and a seeded random source.
 *
 * @module
 */

import type { Stage } from "../../src/data/representation/stage.ts";

export const encoder: TextEncoder = new TextEncoder();
export const decoder: TextDecoder = new TextDecoder();

/** Bytes from numbers and strings (strings as UTF-8). */
export function bytes(...parts: (number | string | Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === "number") out.push(part);
    else if (typeof part === "string") out.push(...encoder.encode(part));
    else out.push(...part);
  }
  return new Uint8Array(out);
}

export function join(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Runs chunks through a fresh stage; returns all output. */
export function runStage(stage: Stage, chunks: readonly Uint8Array[]): Uint8Array {
  const parts = chunks.map((chunk) => stage.push(chunk));
  parts.push(stage.flush());
  return join(parts);
}

/** Pipes chunks through a stream stage; returns the output chunks. */
export async function pipeChunks(
  stage: ReadableWritablePair<Uint8Array, Uint8Array>,
  chunks: readonly Uint8Array[],
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  // Copies, so that a stage that keeps views into its input cannot be confused by the test.
  const source = ReadableStream.from(chunks.map((chunk) => chunk.slice()));
  for await (const chunk of source.pipeThrough(stage)) out.push(chunk);
  return out;
}

/** Pipes chunks through a stream stage; returns the output joined. */
export async function pipe(
  stage: ReadableWritablePair<Uint8Array, Uint8Array>,
  chunks: readonly Uint8Array[],
): Promise<Uint8Array> {
  return join(await pipeChunks(stage, chunks));
}

/**
 * Chunkings of `input` to try: whole, one byte at a time, split in two at every position, and
 * (for longer inputs) split in three at every pair of positions up to `pairLimit` bytes.
 */
export function chunkings(input: Uint8Array, pairLimit = 24): Uint8Array[][] {
  const out: Uint8Array[][] = [[input], [...input].map((byte) => new Uint8Array([byte]))];
  for (let i = 0; i <= input.length; i++) out.push([input.subarray(0, i), input.subarray(i)]);
  if (input.length <= pairLimit) {
    for (let i = 1; i < input.length; i++) {
      for (let j = i + 1; j < input.length; j++) {
        out.push([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
      }
    }
  }
  return out;
}

/** Splits `input` into random chunk sizes from 1 to `max`. */
export function randomChunks(input: Uint8Array, random: Random, max = 64): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < input.length;) {
    const size = 1 + random.int(max);
    out.push(input.subarray(i, i + size));
    i += size;
  }
  return out;
}

/** A small seeded PRNG (mulberry32), so that a failing case can be replayed. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = this.#state += 0x6d2b79f5;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** `length` bytes drawn from `alphabet` (every byte value without one). */
  bytes(length: number, alphabet?: readonly number[]): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      out[i] = alphabet ? alphabet[this.int(alphabet.length)] : this.int(256);
    }
    return out;
  }
}

/** Hex, for readable assertion messages. */
export function hex(input: Uint8Array): string {
  return [...input].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
}

/** Runs a command with `input` on stdin; returns stdout (throws on a non-zero exit). */
export async function run(command: string, args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  const written = writer.write(input).then(() => writer.close());
  const [output] = await Promise.all([child.output(), written]);
  if (!output.success) {
    throw new Error(`${command} failed: ${decoder.decode(output.stderr)}`);
  }
  return output.stdout;
}
