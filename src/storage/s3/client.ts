/**
 * The S3 wire: signed HTTP requests with retries, timeouts and cancellation.
 *
 * Signing is `aws4fetch`'s SigV4 signer (a 2 ms, 96 KB, dependency-free import; the AWS SDK's
 * S3 client costs ~100 ms and ~27 MB to load, see docs/s3.md), loaded on the first request.
 * Requests go through a {@linkcode Transport} (`transport.ts`: `fetch` for downloads,
 * `node:http` for uploads), both with pooled keep-alive connections.
 *
 * - Bodies are always sized byte arrays: some S3-compatible stores (Ceph RGW) refuse chunked
 *   uploads without a Content-Length, so the upload layer cuts streams into parts first.
 * - Payloads are signed as `UNSIGNED-PAYLOAD` (hashing 8 MiB parts twice would cost more CPU
 *   than the transfer; TLS protects integrity on the wire).
 * - Retries: a request that S3 refused without acting on it (503 SlowDown, 429, a refused
 *   connection) is sent again whatever its method; one whose effect is unknown (500, a reset
 *   connection, a timeout) only when the caller marked it idempotent. Waits are "full jitter"
 *   exponential back-off, so that many instances hitting the same throttle spread out.
 * - Timeouts: `timeoutMs` until the response headers, plus the time to send the request body
 *   at 32 KB/s; callers that stream a response body apply `timeoutMs` between chunks too.
 * - Cancellation: the caller's signal aborts the request in flight and any back-off wait.
 *
 * @module
 */

import type { AwsV4Signer } from "npm:aws4fetch@1.0.20";
import { S3Error, S3TimeoutError } from "./errors.ts";
import type { ResolvedS3Settings, S3Location } from "./settings.ts";
import type { HttpRequest, Transport } from "./transport.ts";
import { errorCode } from "./xml.ts";

/** One S3 request. */
export interface S3Request {
  /** HTTP method. */
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  /** Object key; absent for a request on the bucket (listings, bucket probes). */
  key?: string;
  /** Query parameters; `""` values are sent bare (`?uploads`). */
  query?: Record<string, string>;
  /** Extra headers (signed with the rest). */
  headers?: Record<string, string>;
  /** A sized body. */
  body?: Uint8Array;
  /** Safe to send again when its effect is unknown (the same request twice = once). */
  idempotent: boolean;
  /** Aborts the request and any back-off wait. */
  signal?: AbortSignal;
  /** Statuses that are answers for the caller rather than errors (404 for HEAD, 412, 416). */
  accept?: readonly number[];
}

/** An answer whose body was read as text. */
export interface TextAnswer {
  /** HTTP status. */
  status: number;
  /** Response headers. */
  headers: Headers;
  /** The body as text. */
  text: string;
}

/** The slowest upload rate a request body is given time for: 32 KB/s. */
const MIN_UPLOAD_BYTES_PER_MS = 32;

/** Longest error body read to find S3's error code; the rest is dropped. */
const MAX_ERROR_BODY = 64 * 1024;

type SignerClass = typeof AwsV4Signer;
let signerClass: Promise<SignerClass> | undefined;

function loadSigner(): Promise<SignerClass> {
  signerClass ??= import("npm:aws4fetch@1.0.20").then((module) => module.AwsV4Signer);
  return signerClass;
}

/** RFC 3986 encoding as SigV4 canonicalises it (encodeURIComponent leaves `!'()*` alone). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Classifies a `fetch` failure without keeping its message, which quotes the URL. A refused
 * connection never reached S3, so it is safe to send again whatever the request.
 */
function transportError(error: unknown): S3Error {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : "";
  if (/refused|tcp connect|dns error|connect error/i.test(text)) {
    return new S3Error(0, "ConnectionRefused");
  }
  return new S3Error(0, "ConnectionFailed");
}

/** Signed requests to one bucket. */
export class S3Client {
  readonly #settings: ResolvedS3Settings;
  readonly #bucket: string;
  readonly #transport: Transport;
  readonly #signingCache = new Map<string, ArrayBuffer>();
  readonly #base: string;

  /** Signs for `location` with `settings`, sends through `transport`. */
  constructor(settings: ResolvedS3Settings, location: S3Location, transport: Transport) {
    this.#settings = settings;
    this.#bucket = location.bucket;
    this.#transport = transport;
    const endpoint = settings.endpoint;
    const path = endpoint.pathname.replace(/\/+$/, "");
    this.#base = settings.pathStyle
      ? `${endpoint.protocol}//${endpoint.host}${path}/${encodeRfc3986(this.#bucket)}`
      : `${endpoint.protocol}//${this.#bucket}.${endpoint.host}${path}`;
  }

  /** The bucket's name. */
  get bucket(): string {
    return this.#bucket;
  }

  /** The URL of a request: the key encoded segment by segment, the query sorted. */
  url(key: string | undefined, query: Record<string, string> = {}): string {
    const path = key === undefined ? "/" : "/" + key.split("/").map(encodeRfc3986).join("/");
    const search = Object.entries(query)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) =>
        value === "" ? encodeRfc3986(name) : `${encodeRfc3986(name)}=${encodeRfc3986(value)}`
      )
      .join("&");
    return `${this.#base}${path}${search === "" ? "" : `?${search}`}`;
  }

  /**
   * Sends a request and returns the response with its body unread: the caller must read or
   * cancel it. Error statuses (except `accept`ed ones) are thrown as {@linkcode S3Error}.
   */
  open(request: S3Request): Promise<Response> {
    return this.#withRetries(request, (response) => Promise.resolve(response), false);
  }

  /** Sends a request and reads its body as text (an XML answer). Retried as a whole. */
  text(request: S3Request): Promise<TextAnswer> {
    return this.#withRetries(request, async (response) => ({
      status: response.status,
      headers: response.headers,
      text: await response.text(),
    }), true);
  }

  /** Sends a request and discards the body. */
  async send(request: S3Request): Promise<{ status: number; headers: Headers }> {
    const answer = await this.#withRetries(request, async (response) => {
      await response.body?.cancel();
      return { status: response.status, headers: response.headers };
    }, true);
    return answer;
  }

  async #withRetries<T>(
    request: S3Request,
    read: (response: Response) => Promise<T>,
    timeBody: boolean,
  ): Promise<T> {
    const { maxAttempts, retryBaseMs, retryMaxMs } = this.#settings;
    for (let attempt = 1;; attempt++) {
      request.signal?.throwIfAborted();
      try {
        return await this.#attempt(request, read, timeBody);
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason;
        if (!(error instanceof S3Error) || attempt >= maxAttempts || !retryable(error, request)) {
          throw error;
        }
        const cap = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
        await sleep(Math.random() * cap, request.signal);
      }
    }
  }

  async #attempt<T>(
    request: S3Request,
    read: (response: Response) => Promise<T>,
    timeBody: boolean,
  ): Promise<T> {
    const timeout = new AbortController();
    // S3 answers an upload only once it has the whole body: allow for sending it at a slow
    // uplink's pace (an 8 MiB part gets 256 s more), or slow links would time out every part.
    const budget = this.#settings.timeoutMs + (request.body?.length ?? 0) / MIN_UPLOAD_BYTES_PER_MS;
    const timer = setTimeout(() => timeout.abort(new S3TimeoutError()), budget);
    const signal = request.signal
      ? AbortSignal.any([request.signal, timeout.signal])
      : timeout.signal;
    try {
      const signed = await this.#sign(request, signal);
      let response: Response;
      try {
        response = await this.#transport(signed);
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason;
        if (timeout.signal.aborted) throw timeout.signal.reason;
        throw transportError(error);
      }
      if (!timeBody) clearTimeout(timer);
      if (response.ok || request.accept?.includes(response.status)) {
        try {
          return await read(response);
        } catch (error) {
          if (error instanceof S3Error) throw error;
          if (request.signal?.aborted) throw request.signal.reason;
          if (timeout.signal.aborted) throw timeout.signal.reason;
          throw transportError(error);
        }
      }
      throw await errorOf(response);
    } finally {
      clearTimeout(timer);
    }
  }

  async #sign(request: S3Request, signal: AbortSignal): Promise<HttpRequest> {
    const Signer = await loadSigner();
    const { credentials, region } = this.#settings;
    const signer = new Signer({
      method: request.method,
      url: this.url(request.key, request.query),
      headers: request.headers ?? {},
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
      service: "s3",
      region,
      cache: this.#signingCache,
    });
    const signed = await signer.sign();
    return {
      method: request.method,
      url: signed.url.toString(),
      headers: signed.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal,
    };
  }
}

/** The S3Error of an error response; reads at most {@linkcode MAX_ERROR_BODY} of its body. */
async function errorOf(response: Response): Promise<S3Error> {
  let text = "";
  if (response.body !== null) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      while (text.length < MAX_ERROR_BODY) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // a cut error body still has its status
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
  return new S3Error(response.status, await errorCode(text));
}

/** Whether a failed request may be sent again. */
function retryable(error: S3Error, request: S3Request): boolean {
  // Refused without effect: S3's throttle, or a connection that never opened.
  if (error.status === 503 || error.status === 429 || error.code === "SlowDown") return true;
  if (error.status === 0 && error.code === "ConnectionRefused") return true;
  if (!request.idempotent) return false;
  if (error.status === 0) return true; // reset, timed out: effect unknown
  return error.status === 500 || error.status === 502 || error.status === 504 ||
    error.code === "RequestTimeout" || error.code === "InternalError";
}
