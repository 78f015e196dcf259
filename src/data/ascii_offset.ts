/**
 * REST in TYPE A (RFC 3659 §5): a restart marker counts bytes of the data *as transmitted*, and
 * in ASCII the transmitted form (CRLF line ends) is longer than the stored one (LF). A client
 * that received `a\r\nb` of `a\nb\nc\n` sends `REST 4` and must get `\r\nc\r\n` — not the
 * stored file's bytes from offset 4. So a download skips that many converted bytes, and an
 * upload resumes at the stored offset whose conversion is that long.
 *
 * @module
 */

const CR = 0x0d;
const LF = 0x0a;

/**
 * Drops the first `count` bytes of a stream (the converted bytes a client already has).
 *
 * @example
 * ```ts
 * import { skipBytes } from "./ascii_offset.ts";
 * const tail = await new Response(
 *   new Blob(["a\r\nb\r\nc\r\n"]).stream().pipeThrough(skipBytes(4)),
 * ).text(); // "\nb\r\nc\r\n"
 * ```
 */
export function skipBytes(count: number): TransformStream<Uint8Array, Uint8Array> {
  let left = count;
  return new TransformStream({
    transform(chunk, controller) {
      if (left === 0) return controller.enqueue(chunk);
      if (chunk.length <= left) {
        left -= chunk.length;
        return;
      }
      controller.enqueue(chunk.subarray(left));
      left = 0;
    },
  });
}

/**
 * The stored offset at which an ASCII upload resumes when the client has sent `wireOffset`
 * bytes of its CRLF form: reads the stored file from its start, counting one byte per stored
 * byte and one more for each LF that conversion would turn into CRLF. Resolves to null when
 * the converted file is shorter than `wireOffset` (the marker lies beyond its end: 554).
 *
 * A marker that falls between the CR and the LF of a converted line end maps to the stored LF
 * itself: the client's next byte is that LF, which arrives and is stored as one. A stored file
 * that ends in a CR (an upload cut between a CR and its LF stores the CR alone) resumes before
 * that CR, with `heldCR`: the upload goes on as if the CR had just arrived (a CRLF becomes LF).
 *
 * @example
 * ```ts
 * import { storedOffset } from "./ascii_offset.ts";
 * await storedOffset(new Blob(["a\nb\nc\n"]).stream(), 4); // { offset: 3, heldCR: false }
 * ```
 */
export async function storedOffset(
  stored: ReadableStream<Uint8Array>,
  wireOffset: number,
): Promise<{ offset: number; heldCR: boolean } | null> {
  let wire = 0;
  let position = 0;
  let previous = 0;
  const at = (offset: number) =>
    previous === CR ? { offset: offset - 1, heldCR: true } : { offset, heldCR: false };
  const reader = stored.getReader();
  try {
    if (wireOffset === 0) return { offset: 0, heldCR: false };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return wire === wireOffset ? at(position) : null;
      for (let i = 0; i < value.length; i++) {
        const byte = value[i];
        const width = byte === LF && previous !== CR ? 2 : 1;
        // A marker inside this byte's conversion (after the inserted CR): resume at the LF.
        if (wire + width > wireOffset) return { offset: position, heldCR: false };
        wire += width;
        position++;
        previous = byte;
        if (wire === wireOffset) return at(position);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
