/**
 * Comparison of secrets in time that does not depend on where they differ.
 *
 * @module
 */

/**
 * True when both byte strings are equal. The loop runs over all of `expected` whatever `given`
 * is; the lengths are compared arithmetically, not with an early return. (No node:crypto
 * timingSafeEqual: loading node:crypto costs 25 ms of every start, and it refuses different
 * lengths with an exception.)
 *
 * @example
 * ```ts
 * import { constantTimeEqual } from "./constant_time.ts";
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * constantTimeEqual(bytes("secret"), bytes("secret")); // true
 * ```
 */
export function constantTimeEqual(expected: Uint8Array, given: Uint8Array): boolean {
  let difference = expected.length ^ given.length;
  for (let i = 0; i < expected.length; i++) {
    difference |= expected[i] ^ (i < given.length ? given[i] : ~expected[i]);
  }
  return difference === 0;
}
