/**
 * A {@linkcode Stage} as a TransformStream.
 *
 * @module
 */

import type { Stage } from "./stage.ts";

/**
 * Runs `stage` over a byte stream. Empty outputs are not enqueued (a reader would take them for
 * progress).
 *
 * @example
 * ```ts
 * import { stageStream } from "./stream.ts";
 * import { LfToCrlf } from "./ascii.ts";
 * const text = await new Response(
 *   new Blob(["a\n"]).stream().pipeThrough(stageStream(new LfToCrlf())),
 * ).text(); // "a\r\n"
 * ```
 */
export function stageStream(stage: Stage): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      const out = stage.push(chunk);
      if (out.length > 0) controller.enqueue(out);
    },
    flush(controller) {
      const out = stage.flush();
      if (out.length > 0) controller.enqueue(out);
    },
  });
}
