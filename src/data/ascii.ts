/**
 * TYPE A (ASCII) conversion between the local newline (LF) and the network's CRLF
 * (RFC 959 §3.1.1.1), as TransformStreams that carry state across chunk boundaries.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;

/**
 * LF → CRLF for sending. An LF already preceded by CR is left alone, so a file that already has
 * CRLF line ends is not turned into CR CR LF.
 *
 * @example
 * ```ts
 * import { toNetworkAscii } from "./ascii.ts";
 * const out = await new Response(
 *   new Blob(["a\nb\r\n"]).stream().pipeThrough(toNetworkAscii()),
 * ).text(); // "a\r\nb\r\n"
 * ```
 */
export function toNetworkAscii(): TransformStream<Uint8Array, Uint8Array> {
  let previous = 0;
  return new TransformStream({
    transform(chunk, controller) {
      let lineFeeds = 0;
      let before = previous;
      for (const byte of chunk) {
        if (byte === LF && before !== CR) lineFeeds++;
        before = byte;
      }
      if (lineFeeds === 0) {
        previous = before;
        controller.enqueue(chunk);
        return;
      }
      const out = new Uint8Array(chunk.length + lineFeeds);
      let o = 0;
      before = previous;
      for (const byte of chunk) {
        if (byte === LF && before !== CR) out[o++] = CR;
        out[o++] = byte;
        before = byte;
      }
      previous = before;
      controller.enqueue(out);
    },
  });
}

/**
 * CRLF → LF for receiving. A CR that ends a chunk is held back until the next chunk shows whether
 * an LF follows; a lone CR is kept.
 */
export function fromNetworkAscii(): TransformStream<Uint8Array, Uint8Array> {
  let heldCR = false;
  return new TransformStream({
    transform(chunk, controller) {
      if (chunk.length === 0) return;
      const out = new Uint8Array(chunk.length + 1);
      let o = 0;
      let i = 0;
      if (heldCR) {
        heldCR = false;
        if (chunk[0] !== LF) out[o++] = CR;
      }
      for (; i < chunk.length; i++) {
        const byte = chunk[i];
        if (byte === CR) {
          if (i === chunk.length - 1) {
            heldCR = true;
            continue;
          }
          if (chunk[i + 1] === LF) continue;
        }
        out[o++] = byte;
      }
      if (o > 0) controller.enqueue(out.subarray(0, o));
    },
    flush(controller) {
      if (heldCR) controller.enqueue(new Uint8Array([CR]));
    },
  });
}
