/**
 * Byte encodings that password hash strings use, and the constant-time comparison of derived
 * keys. Pure: no I/O, no dependencies, so that the main thread can validate hashes without
 * loading any hashing library.
 *
 * @module
 */

const STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < STANDARD.length; i++) DECODE[STANDARD.charCodeAt(i)] = i;
// passlib's "adapted base64" (ab64) writes "." for "+": accept both, they cannot be confused.
DECODE[".".charCodeAt(0)] = 62;

/**
 * Decodes the B64 of the PHC string format (standard alphabet, no `=` padding), also accepting
 * padding and passlib's `.` for `+`. Returns null for anything else, including a length that no
 * byte string encodes to (one character left over).
 *
 * @example
 * ```ts
 * import { decodeB64 } from "./encoding.ts";
 * new TextDecoder().decode(decodeB64("c29tZXNhbHQ")!); // "somesalt"
 * ```
 */
export function decodeB64(text: string): Uint8Array | null {
  const body = text.replace(/={1,2}$/, "");
  if (body.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let index = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    const digit = code < 128 ? DECODE[code] : -1;
    if (digit < 0) return null;
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * Encodes bytes as PHC B64: standard alphabet, no padding.
 *
 * @example
 * ```ts
 * import { encodeB64 } from "./encoding.ts";
 * encodeB64(new TextEncoder().encode("somesalt")); // "c29tZXNhbHQ"
 * ```
 */
export function encodeB64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const chunk = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += STANDARD[(chunk >> (18 - 6 * j)) & 0x3f];
  }
  return out;
}

/**
 * True when both byte strings are equal, in time that depends only on their lengths: every byte
 * is compared whatever the first difference, so that the time taken does not tell an attacker
 * how many leading bytes of a derived key were right. (Lengths are public: they follow from the
 * stored hash's scheme.)
 *
 * @example
 * ```ts
 * import { constantTimeEqual } from "./encoding.ts";
 * constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
