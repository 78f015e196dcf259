/**
 * Carries out one {@linkcode WorkRequest}: the same code in a worker and inline, so that both
 * answer alike. Only `format.ts` is loaded up front; `compute.ts` and its libraries on first use.
 *
 * @module
 */

import { parseHash } from "./format.ts";
import type { WorkRequest, WorkResponse } from "./protocol.ts";

/**
 * The response to `request`. Never throws: a failure becomes `ok: false` with the error's name
 * and message (never the password).
 *
 * @example
 * ```ts
 * import { perform } from "./work.ts";
 * const hash = "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA";
 * (await perform({ id: 1, op: "verify", hash, password: "Hello world!" })).ok; // true
 * ```
 */
export async function perform(request: WorkRequest): Promise<WorkResponse> {
  try {
    const compute = await import("./compute.ts");
    const value = request.op === "verify"
      ? await compute.verifyParsed(parseHash(request.hash), request.password)
      : await compute.hashArgon2id(request.password, request.params);
    return { id: request.id, ok: true, value };
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    return { id: request.id, ok: false, name, message };
  }
}
