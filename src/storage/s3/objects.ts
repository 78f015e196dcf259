/**
 * The S3 operations the back end uses, typed: HEAD, GET (ranged, ETag-pinned), PUT, DELETE,
 * DeleteObjects, CopyObject, ListObjectsV2, and the multipart calls (including UploadPartCopy).
 * Each says whether it is idempotent, which decides what the client may retry.
 *
 * @module
 */

import { encodeRfc3986, type S3Client } from "./client.ts";
import { S3Error } from "./errors.ts";
import {
  escapeXml,
  type ListedUpload,
  type ListPage,
  parseDate,
  parseDeleteErrors,
  parseEtag,
  parseListPage,
  parseUploadId,
  parseUploads,
} from "./xml.ts";

/** What HEAD says about an object. */
export interface ObjectInfo {
  /** Size in bytes. */
  size: number;
  /** As S3 sends it, quotes included. */
  etag: string;
  /** S3's Last-Modified. */
  lastModified: Date;
  /** `x-amz-meta-*` values, by lower-case name without the prefix. */
  metadata: Record<string, string>;
  /** Content-Type, if any. */
  contentType: string | null;
}

/** A finished part of a multipart upload. */
export interface UploadedPart {
  /** Part number, from 1. */
  partNumber: number;
  /** The part's ETag, as CompleteMultipartUpload wants it. */
  etag: string;
}

const META = "x-amz-meta-";

/** Reads the object facts from response headers. */
function infoOf(headers: Headers): ObjectInfo {
  const metadata: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith(META)) metadata[name.slice(META.length)] = value;
  }
  return {
    size: Number(headers.get("content-length") ?? 0),
    etag: headers.get("etag") ?? "",
    lastModified: parseDate(headers.get("last-modified")),
    metadata,
    contentType: headers.get("content-type"),
  };
}

/** Headers that set user metadata. */
export function metadataHeaders(metadata: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) headers[META + name] = value;
  return headers;
}

/** The typed S3 calls on one bucket. */
export class S3Objects {
  /** The signed-request layer underneath. */
  readonly client: S3Client;
  /** Cleared when the store answers a conditional write with 501 (OpenStack Swift's s3api). */
  conditionalWrites = true;
  /** Cleared when the store answers DeleteObjects with 501. */
  multiDelete = true;
  #md5: Promise<(data: Uint8Array) => string> | undefined;

  /** Typed calls over `client`. */
  constructor(client: S3Client) {
    this.client = client;
  }

  /** HEAD: the object's facts, or null when there is no such key. */
  async head(key: string, signal?: AbortSignal): Promise<ObjectInfo | null> {
    const { status, headers } = await this.client.send({
      method: "HEAD",
      key,
      idempotent: true,
      accept: [404],
      ...(signal ? { signal } : {}),
    });
    return status === 404 ? null : infoOf(headers);
  }

  /**
   * GET from `start` (to the end, or to `end` inclusive), only if the object still has `etag`.
   * Returns null for a start at or beyond the end (416); a changed object throws S3Error 412.
   */
  async get(
    key: string,
    options: { start?: number; end?: number; etag?: string; signal?: AbortSignal } = {},
  ): Promise<{ response: Response; info: ObjectInfo } | null> {
    const headers: Record<string, string> = {};
    const start = options.start ?? 0;
    if (start > 0 || options.end !== undefined) {
      headers.range = `bytes=${start}-${options.end ?? ""}`;
    }
    if (options.etag) headers["if-match"] = options.etag;
    const response = await this.client.open({
      method: "GET",
      key,
      headers,
      idempotent: true,
      accept: [404, 416],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.status === 404) {
      await response.body?.cancel();
      throw new S3Error(404, "NoSuchKey");
    }
    if (response.status === 416) {
      await response.body?.cancel();
      return null;
    }
    const info = infoOf(response.headers);
    // A ranged answer's length is the range's; the object's size is after the slash.
    const range = /\/(\d+)$/.exec(response.headers.get("content-range") ?? "");
    if (range) info.size = Number(range[1]);
    return { response, info };
  }

  /** PutObject of a whole body; `exclusive` adds `If-None-Match: *` where the store has it. */
  async put(
    key: string,
    body: Uint8Array,
    options: { metadata?: Record<string, string>; exclusive?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    const headers = metadataHeaders(options.metadata ?? {});
    const conditional = options.exclusive === true && this.conditionalWrites;
    if (conditional) headers["if-none-match"] = "*";
    try {
      await this.client.send({
        method: "PUT",
        key,
        headers,
        body,
        // Replaying a conditional PUT after a lost answer would report its own success as
        // "exists"; a plain PUT replayed writes the same bytes again.
        idempotent: !conditional,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (conditional && error instanceof S3Error && error.status === 501) {
        this.conditionalWrites = false;
        return this.put(key, body, options);
      }
      throw error;
    }
  }

  /** DELETE of one key (S3 answers 204 whether or not it existed). */
  async delete(key: string, signal?: AbortSignal): Promise<void> {
    await this.client.send({
      method: "DELETE",
      key,
      idempotent: true,
      accept: [404],
      ...(signal ? { signal } : {}),
    });
  }

  /** DeleteObjects of up to 1,000 keys; throws when S3 reports any key as not deleted. */
  async deleteMany(keys: readonly string[], signal?: AbortSignal): Promise<void> {
    if (keys.length === 0) return;
    const xml = `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>${
      keys.map((key) => `<Object><Key>${escapeXml(key)}</Key></Object>`).join("")
    }</Delete>`;
    const body = new TextEncoder().encode(xml);
    // S3 (and Swift's s3api) require a body digest on this call.
    this.#md5 ??= import("node:crypto").then((crypto) => (data: Uint8Array) =>
      crypto.createHash("md5").update(data).digest("base64")
    );
    const md5 = (await this.#md5)(body);
    const answer = await this.client.text({
      method: "POST",
      query: { delete: "" },
      headers: { "content-md5": md5, "content-type": "application/xml" },
      body,
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    const failed = (await parseDeleteErrors(answer.text)).filter((e) => e.code !== "NoSuchKey");
    if (failed.length > 0) throw new S3Error(500, failed[0].code || "InternalError");
  }

  /**
   * CopyObject (≤ 5 GiB), only if the source still has `etag`. With `metadata` the copy gets
   * exactly that metadata (REPLACE), otherwise the source's.
   */
  async copy(
    source: string,
    target: string,
    options: { etag?: string; metadata?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<void> {
    const headers: Record<string, string> = { "x-amz-copy-source": this.#copySource(source) };
    if (options.etag) headers["x-amz-copy-source-if-match"] = options.etag;
    if (options.metadata) {
      Object.assign(headers, metadataHeaders(options.metadata));
      headers["x-amz-metadata-directive"] = "REPLACE";
    }
    const answer = await this.client.text({
      method: "PUT",
      key: target,
      headers,
      idempotent: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await parseEtag(answer.text); // a 200 answer can still carry an <Error>
  }

  /** One page of ListObjectsV2. */
  async list(
    options: {
      prefix: string;
      delimiter?: string;
      token?: string;
      maxKeys?: number;
      signal?: AbortSignal;
    },
  ): Promise<ListPage> {
    const query: Record<string, string> = {
      "list-type": "2",
      "encoding-type": "url",
      prefix: options.prefix,
    };
    if (options.delimiter) query.delimiter = options.delimiter;
    if (options.token) query["continuation-token"] = options.token;
    if (options.maxKeys) query["max-keys"] = String(options.maxKeys);
    const answer = await this.client.text({
      method: "GET",
      query,
      idempotent: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return parseListPage(answer.text);
  }

  /** CreateMultipartUpload: the new upload's id. */
  async createUpload(
    key: string,
    metadata: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<string> {
    const answer = await this.client.text({
      method: "POST",
      key,
      query: { uploads: "" },
      headers: metadataHeaders(metadata),
      // Not idempotent: a replay after a lost answer would leave an upload nobody aborts.
      idempotent: false,
      ...(signal ? { signal } : {}),
    });
    return parseUploadId(answer.text);
  }

  /** UploadPart (sending the same part number again replaces it: idempotent). */
  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    signal?: AbortSignal,
  ): Promise<UploadedPart> {
    const { headers } = await this.client.send({
      method: "PUT",
      key,
      query: { partNumber: String(partNumber), uploadId },
      body,
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    return { partNumber, etag: headers.get("etag") ?? "" };
  }

  /** UploadPartCopy of bytes `start..end` (inclusive) of `source`, if it still has `etag`. */
  async uploadPartCopy(
    key: string,
    uploadId: string,
    partNumber: number,
    source: { key: string; start: number; end: number; etag: string },
    signal?: AbortSignal,
  ): Promise<UploadedPart> {
    const answer = await this.client.text({
      method: "PUT",
      key,
      query: { partNumber: String(partNumber), uploadId },
      headers: {
        "x-amz-copy-source": this.#copySource(source.key),
        "x-amz-copy-source-range": `bytes=${source.start}-${source.end}`,
        "x-amz-copy-source-if-match": source.etag,
      },
      idempotent: true,
      ...(signal ? { signal } : {}),
    });
    return { partNumber, etag: await parseEtag(answer.text) };
  }

  /** CompleteMultipartUpload; `exclusive` adds `If-None-Match: *` where the store has it. */
  async complete(
    key: string,
    uploadId: string,
    parts: readonly UploadedPart[],
    options: { exclusive?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    const xml = `<CompleteMultipartUpload>${
      parts.map((part) =>
        `<Part><PartNumber>${part.partNumber}</PartNumber><ETag>${
          escapeXml(part.etag)
        }</ETag></Part>`
      ).join("")
    }</CompleteMultipartUpload>`;
    const headers: Record<string, string> = { "content-type": "application/xml" };
    const conditional = options.exclusive === true && this.conditionalWrites;
    if (conditional) headers["if-none-match"] = "*";
    try {
      const answer = await this.client.text({
        method: "POST",
        key,
        query: { uploadId },
        headers,
        body: new TextEncoder().encode(xml),
        idempotent: !conditional,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      // RGW sends an empty ETag here; S3 may send an <Error> with status 200.
      await parseEtag(answer.text);
    } catch (error) {
      if (conditional && error instanceof S3Error && error.status === 501) {
        this.conditionalWrites = false;
        return this.complete(key, uploadId, parts, { ...options, exclusive: false });
      }
      throw error;
    }
  }

  /** AbortMultipartUpload; an upload already gone is fine. */
  async abortUpload(key: string, uploadId: string, signal?: AbortSignal): Promise<void> {
    await this.client.send({
      method: "DELETE",
      key,
      query: { uploadId },
      idempotent: true,
      accept: [404],
      ...(signal ? { signal } : {}),
    });
  }

  /** Every multipart upload in progress under `prefix` (all pages). */
  async listUploads(prefix: string, signal?: AbortSignal): Promise<ListedUpload[]> {
    const out: ListedUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const query: Record<string, string> = { uploads: "", prefix, "encoding-type": "url" };
      if (keyMarker !== undefined) query["key-marker"] = keyMarker;
      if (uploadIdMarker !== undefined) query["upload-id-marker"] = uploadIdMarker;
      const answer = await this.client.text({
        method: "GET",
        query,
        idempotent: true,
        ...(signal ? { signal } : {}),
      });
      const page = await parseUploads(answer.text);
      out.push(...page.uploads);
      if (page.nextKeyMarker === undefined) return out;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
  }

  /** HEAD of the bucket: does it exist and may we use it? */
  async probe(signal?: AbortSignal): Promise<void> {
    await this.client.send({ method: "HEAD", idempotent: true, ...(signal ? { signal } : {}) });
  }

  #copySource(key: string): string {
    return `/${encodeRfc3986(this.client.bucket)}/${key.split("/").map(encodeRfc3986).join("/")}`;
  }
}
