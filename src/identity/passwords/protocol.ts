/**
 * The messages between the password verifier and its workers. Structured-clonable plain data.
 *
 * @module
 */

import type { Argon2idParams } from "./compute.ts";

/** Work for one worker: verify a password against a hash, or make a new argon2id hash. */
export type WorkRequest =
  | { id: number; op: "verify"; hash: string; password: string }
  | { id: number; op: "hash"; password: string; params: Argon2idParams };

/** A worker's answer to the request with the same id. */
export type WorkResponse =
  | { id: number; ok: true; value: boolean | string }
  | { id: number; ok: false; name: string; message: string };
