/**
 * SHA-crypt (`$5$`, `$6$`): the scheme of /etc/shadow, `openssl passwd -5/-6`, vsftpd's PAM and
 * pure-ftpd's puredb, written from Ulrich Drepper's specification ("Unix crypt using SHA-256
 * and SHA-512", https://www.akkadia.org/drepper/SHA-crypt.txt) on node:crypto's SHA-2.
 *
 * Why not a package: the maintained one (unixcrypt 3.0.4) computes wrong hashes for every
 * password whose length is a multiple of the digest size (32 bytes for `$5$`, 64 for `$6$`): its
 * steps 10 and 16 add nothing where the spec adds a whole digest, so such a user could never
 * log in (tests/fixtures/passwords has openssl vectors of exactly those lengths). The others
 * handle SHA-512 only or are unmaintained. The algorithm is 60 lines; the numbered comments
 * follow the spec's steps.
 *
 * Runs in the verifier's worker: node:crypto costs ~25 ms to load, which the server's start-up
 * must not pay, and 5000 rounds take ~15 ms of CPU.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Which SHA-crypt. */
export type ShaCryptVariant = "sha256-crypt" | "sha512-crypt";

const ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * Step 22: the byte triples of the final digest, in the order the spec writes them (each triple
 * is 4 characters, the last group 3 for SHA-256 and 2 for SHA-512).
 */
const ORDER: Record<ShaCryptVariant, readonly (readonly number[])[]> = {
  "sha256-crypt": [
    [0, 10, 20],
    [21, 1, 11],
    [12, 22, 2],
    [3, 13, 23],
    [24, 4, 14],
    [15, 25, 5],
    [6, 16, 26],
    [27, 7, 17],
    [18, 28, 8],
    [9, 19, 29],
    [-1, 31, 30],
  ],
  "sha512-crypt": [
    [0, 21, 42],
    [22, 43, 1],
    [44, 2, 23],
    [3, 24, 45],
    [25, 46, 4],
    [47, 5, 26],
    [6, 27, 48],
    [28, 49, 7],
    [50, 8, 29],
    [9, 30, 51],
    [31, 52, 10],
    [53, 11, 32],
    [12, 33, 54],
    [34, 55, 13],
    [56, 14, 35],
    [15, 36, 57],
    [37, 58, 16],
    [59, 17, 38],
    [18, 39, 60],
    [40, 61, 19],
    [62, 20, 41],
    [-1, -1, 63],
  ],
};

/**
 * The hash part (after the last `$`) of a SHA-crypt string for this password, salt and rounds.
 * The salt is used as given (the caller has checked it is at most 16 characters); rounds are
 * assumed within 1000–999,999,999.
 *
 * @example
 * ```ts
 * import { shaCryptChecksum } from "./sha_crypt.ts";
 * const password = new TextEncoder().encode("Hello world!");
 * shaCryptChecksum("sha256-crypt", password, "saltstringsaltst", 10000);
 * // "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"
 * ```
 */
export function shaCryptChecksum(
  variant: ShaCryptVariant,
  password: Uint8Array,
  salt: string,
  rounds: number,
): string {
  const algorithm = variant === "sha512-crypt" ? "sha512" : "sha256";
  const size = variant === "sha512-crypt" ? 64 : 32;
  const s = new TextEncoder().encode(salt).subarray(0, 16);
  const digest = (...parts: Uint8Array[]): Uint8Array => {
    const hash = createHash(algorithm);
    for (const part of parts) hash.update(part);
    return new Uint8Array(hash.digest());
  };

  // Steps 4–8: digest B = H(password, salt, password).
  const b = digest(password, s, password);
  // Steps 1–3, 9–12: digest A.
  const a = createHash(algorithm);
  a.update(password);
  a.update(s);
  let count = password.length;
  for (; count > size; count -= size) a.update(b); // 9: one B per whole block of the password
  a.update(b.subarray(0, count)); // 10: then as many bytes of B as are left (a whole B at 64)
  for (let bits = password.length; bits > 0; bits >>= 1) {
    a.update(bits & 1 ? b : password); // 11: per bit of the length, B for 1, password for 0
  }
  let c = new Uint8Array(a.digest());
  // Steps 13–16: P, password.length bytes of H(password repeated password.length times).
  const dp = digest(...Array.from({ length: password.length }, () => password));
  const p = repeatTo(dp, password.length);
  // Steps 17–20: S, salt.length bytes of H(salt repeated 16 + A[0] times).
  const ds = digest(...Array.from({ length: 16 + c[0] }, () => s));
  const sSeq = repeatTo(ds, s.length);
  // Step 21: the rounds.
  for (let i = 0; i < rounds; i++) {
    const round = createHash(algorithm);
    round.update(i & 1 ? p : c);
    if (i % 3 !== 0) round.update(sSeq);
    if (i % 7 !== 0) round.update(p);
    round.update(i & 1 ? c : p);
    c = new Uint8Array(round.digest());
  }
  // Step 22: the permuted crypt base-64.
  let out = "";
  for (const group of ORDER[variant]) {
    const value = group.reduce((acc, index) => (acc << 8) | (index < 0 ? 0 : c[index]), 0);
    const chars = group[0] >= 0 ? 4 : group[1] >= 0 ? 3 : 2;
    for (let j = 0, v = value; j < chars; j++, v >>= 6) out += ALPHABET[v & 0x3f];
  }
  return out;
}

/** `length` bytes of `block` repeated (steps 16 and 20). */
function repeatTo(block: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += block.length) {
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset);
  }
  return out;
}
