/**
 * Computes a file's digest from a storage read stream, chunk by chunk: memory stays at one chunk
 * whatever the file's size, and any back end that can `read()` (disk, memory, S3) can be hashed.
 * SHA-* and MD5 come from `node:crypto`, CRC32 from `node:zlib`'s `crc32` (Deno ships it); both
 * are imported on the first hash, so that start-up does not pay for them.
 *
 * @module
 */

import type { HashAlgorithm } from "./hash_syntax.ts";

/** Feeds bytes in, gives the digest out as lower-case hex. */
interface Digester {
  update(bytes: Uint8Array): void;
  hex(): string;
}

const NODE_NAMES: Record<Exclude<HashAlgorithm, "CRC32">, string> = {
  "SHA-256": "sha256",
  "SHA-512": "sha512",
  "SHA-1": "sha1",
  "MD5": "md5",
};

async function digester(algorithm: HashAlgorithm): Promise<Digester> {
  if (algorithm === "CRC32") {
    const { crc32 } = await import("node:zlib");
    let value = 0;
    return {
      update: (bytes) => (value = crc32(bytes, value)),
      hex: () => (value >>> 0).toString(16).padStart(8, "0"),
    };
  }
  const { createHash } = await import("node:crypto");
  const hash = createHash(NODE_NAMES[algorithm]);
  return {
    update: (bytes) => hash.update(bytes),
    hex: () => hash.digest("hex"),
  };
}

/** How {@linkcode digestStream} reads. */
export interface DigestOptions {
  /** Bytes at the stream's start that are not part of the range (a back end without offsets). */
  skip?: number;
  /** Bytes to hash after the skipped ones; undefined: to the end of the stream. */
  length?: number;
  /** Aborting it stops the read (the stream is cancelled) and rejects with its reason. */
  signal?: AbortSignal;
  /** Called with the number of bytes hashed so far, after each chunk. */
  progress?: (bytes: number) => void;
}

/**
 * Hands the event loop back after this long without a wait: the local back end reads with
 * `readSync` and memory resolves at once, so a hash would otherwise keep the control connection
 * unread, and a STAT or an ABOR would wait for the whole file. A zero timer, not a message port
 * (`yieldToIo`): only a timer turn lets the loop poll the sockets (measured: a STAT sent during
 * a 1 GiB hash took 800 ms with message-port yields every 4 MiB, under 50 ms with timers).
 */
const YIELD_EVERY_MS = 10;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * The digest of `readable` (from `skip`, for `length` bytes) as lower-case hex. The stream is
 * read to its end or to the range's end, and cancelled when it is not read to the end.
 *
 * @example
 * ```ts ignore
 * const { readable } = await storage.read("/a.iso", { signal });
 * await digestStream(readable, "SHA-256", { signal }); // "e3b0c442..."
 * ```
 */
export async function digestStream(
  readable: ReadableStream<Uint8Array>,
  algorithm: HashAlgorithm,
  options: DigestOptions = {},
): Promise<string> {
  const { signal, progress } = options;
  const reader = readable.getReader();
  let finished = false;
  // A read that never returns (a stalled storage) must not outlive an ABOR: cancelling the
  // stream ends the pending read at once.
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const digest = await digester(algorithm);
    let skip = options.skip ?? 0;
    let left = options.length ?? Infinity;
    let hashed = 0;
    let lastYield = performance.now();
    while (left > 0) {
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await nextTurn();
        lastYield = performance.now();
      }
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      let chunk = value;
      if (skip > 0) {
        const dropped = Math.min(skip, chunk.length);
        skip -= dropped;
        chunk = chunk.subarray(dropped);
      }
      if (chunk.length > left) chunk = chunk.subarray(0, left);
      if (chunk.length === 0) continue;
      digest.update(chunk);
      left -= chunk.length;
      hashed += chunk.length;
      progress?.(hashed);
    }
    signal?.throwIfAborted();
    return digest.hex();
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
