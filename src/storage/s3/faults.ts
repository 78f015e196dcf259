/**
 * Fault injection at the S3 layer, for people who want to see how their FTP clients cope with
 * a flaky object store: S3 throttling (503 SlowDown bursts), a failing UploadPart, slow GETs.
 * The faults wrap the transport the S3 client sends with, so retries, back-off, error mapping and the
 * abort of multipart uploads all run for real; the faulty answers are made up locally and
 * never sent, so the store itself is untouched.
 *
 * @module
 */

import { sleep } from "./client.ts";
import type { Transport } from "./transport.ts";

/** Ways for the S3 back end to misbehave. Every field is optional. */
export interface S3Faults {
  /**
   * In every window of `every` requests, the last `count` are answered with 503 SlowDown (so
   * the first `every - count` requests, the start-up check among them, go through). With
   * `count` below the retry attempts the client absorbs a burst; at or above, clients see 421.
   */
  slowDown?: { count: number; every: number };
  /** UploadPart number N of every multipart upload fails with 500, on every attempt: 451. */
  failUploadPart?: number;
  /** Every object GET waits this long before it is sent. */
  slowGetMs?: number;
}

/**
 * Parses the `--fault` values that belong to the S3 layer and ignores the others:
 * `s3-slowdown=COUNT[/EVERY]` (EVERY defaults to 100), `s3-fail-part=N`, `s3-slow-get=MS`.
 * Throws RangeError when one is malformed.
 *
 * @example
 * ```ts
 * import { parseS3Faults } from "./faults.ts";
 * parseS3Faults(["s3-slowdown=3/50", "delay=10"]); // { slowDown: { count: 3, every: 50 } }
 * ```
 */
export function parseS3Faults(specs: readonly string[]): S3Faults {
  const faults: S3Faults = {};
  for (const spec of specs) {
    const [name, value = ""] = spec.split("=", 2);
    switch (name) {
      case "s3-slowdown": {
        const match = /^(\d+)(?:\/(\d+))?$/.exec(value);
        if (!match || Number(match[1]) < 1) {
          throw new RangeError(`--fault s3-slowdown: expected COUNT[/EVERY], got "${value}"`);
        }
        const count = Number(match[1]);
        const every = Number(match[2] ?? 100);
        if (every <= count) throw new RangeError("--fault s3-slowdown: EVERY must exceed COUNT");
        faults.slowDown = { count, every };
        break;
      }
      case "s3-fail-part":
        if (!/^[1-9]\d*$/.test(value)) {
          throw new RangeError(`--fault s3-fail-part: expected a part number, got "${value}"`);
        }
        faults.failUploadPart = Number(value);
        break;
      case "s3-slow-get":
        if (!/^\d+$/.test(value)) {
          throw new RangeError(`--fault s3-slow-get: expected milliseconds, got "${value}"`);
        }
        faults.slowGetMs = Number(value);
        break;
    }
  }
  return faults;
}

function errorAnswer(status: number, code: string): Response {
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>Injected fault</Message></Error>`,
    { status, headers: { "content-type": "application/xml" } },
  );
}

/**
 * Wraps `inner` so that it misbehaves as `faults` says.
 *
 * @example
 * ```ts
 * import { withS3Faults } from "./faults.ts";
 * import { DefaultTransport } from "./transport.ts";
 * const transport = new DefaultTransport();
 * const flaky = withS3Faults(transport.send, { slowDown: { count: 2, every: 10 } });
 * ```
 */
export function withS3Faults(inner: Transport, faults: S3Faults): Transport {
  let requests = 0;
  return async (request) => {
    const index = requests++;
    const url = new URL(request.url);
    const slowDown = faults.slowDown;
    if (slowDown && index % slowDown.every >= slowDown.every - slowDown.count) {
      return errorAnswer(503, "SlowDown");
    }
    const partNumber = url.searchParams.get("partNumber");
    if (
      faults.failUploadPart !== undefined && request.method === "PUT" &&
      partNumber === String(faults.failUploadPart) && !request.headers.has("x-amz-copy-source")
    ) {
      return errorAnswer(500, "InternalError");
    }
    const objectGet = request.method === "GET" && !url.searchParams.has("list-type") &&
      !url.searchParams.has("uploads");
    if (faults.slowGetMs && objectGet) await sleep(faults.slowGetMs, request.signal);
    return inner(request);
  };
}
