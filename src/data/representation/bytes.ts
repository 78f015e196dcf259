/**
 * A growable byte buffer, for stages whose output size is not known up front.
 *
 * @module
 */

import { EMPTY } from "./stage.ts";

/** Appends bytes; hands them out with {@linkcode ByteBuffer.take}. */
export class ByteBuffer {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(Math.max(Math.ceil(capacity), 16));
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  append(input: Uint8Array, from = 0, to = input.length): void {
    this.reserve(to - from);
    this.bytes.set(input.subarray(from, to), this.length);
    this.length += to - from;
  }

  byte(value: number): void {
    if (this.length === this.bytes.length) this.reserve(1);
    this.bytes[this.length++] = value;
  }

  /** The contents as a new array (the buffer is reused); empties the buffer. */
  take(): Uint8Array {
    if (this.length === 0) return EMPTY;
    const out = this.bytes.slice(0, this.length);
    this.length = 0;
    return out;
  }

  /** The contents without a copy, for a buffer that is dropped afterwards. */
  view(): Uint8Array {
    return this.length === 0 ? EMPTY : this.bytes.subarray(0, this.length);
  }
}
