/**
 * The unit the representation pipeline is built from: a synchronous, incremental byte
 * converter. Stages are chained inside one TransformStream (see `representation.ts`) rather
 * than as one TransformStream each, for two reasons: a chunk crosses three stages with one
 * stream hop instead of three, and the pipeline can ask every stage at once whether it is at a
 * restart point ({@linkcode Stage.clean}), which separate streams running at their own pace
 * could not answer.
 *
 * @module
 */

/** An incremental converter: bytes in, bytes out, state carried across chunk boundaries. */
export interface Stage {
  /**
   * Converts the next input bytes. Returns the output so far (possibly empty, possibly `input`
   * itself when nothing changes). Throws a `CodecError` on input it cannot convert.
   */
  push(input: Uint8Array): Uint8Array;
  /** The input has ended: returns what was held back; throws if the input ended mid-unit. */
  flush(): Uint8Array;
  /**
   * True when the stage holds no input and its state equals its initial state: a fresh stage
   * started at this point of the input would produce exactly the rest of the output. Restart
   * markers are only placed (and only answered) where every stage is clean.
   */
  readonly clean: boolean;
}

export const EMPTY: Uint8Array = new Uint8Array(0);

/** Stages run one after the other, as one stage. */
export class Chain implements Stage {
  readonly #stages: readonly Stage[];
  constructor(stages: readonly Stage[]) {
    this.#stages = stages;
  }
  push(input: Uint8Array): Uint8Array {
    let bytes = input;
    for (const stage of this.#stages) bytes = stage.push(bytes);
    return bytes;
  }
  flush(): Uint8Array {
    const parts: Uint8Array[] = [];
    let length = 0;
    // Each stage's flush output still has to pass through the stages after it.
    for (let i = 0; i < this.#stages.length; i++) {
      let bytes = this.#stages[i].flush();
      for (let j = i + 1; j < this.#stages.length; j++) bytes = this.#stages[j].push(bytes);
      if (bytes.length > 0) {
        parts.push(bytes);
        length += bytes.length;
      }
    }
    return concat(parts, length);
  }
  get clean(): boolean {
    return this.#stages.every((stage) => stage.clean);
  }
}

/** Joins byte arrays (returns the only one as is). */
export function concat(parts: readonly Uint8Array[], length?: number): Uint8Array {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0];
  const total = length ?? parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
