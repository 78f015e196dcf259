/**
 * Reading S3's XML answers: a compliant parser (`@rgrove/parse-xml`, no entity expansion, no
 * DTD loading, zero dependencies, ~4 ms to load) loaded on first use, and typed readers for the
 * few documents the back end needs. An `<Error>` document, which S3 may send even with status
 * 200 (CompleteMultipartUpload, CopyObject), is thrown as an {@linkcode S3Error}.
 *
 * @module
 */

import type { XmlElement } from "npm:@rgrove/parse-xml@5.0.0";
import { S3Error } from "./errors.ts";

type ParseXml = typeof import("npm:@rgrove/parse-xml@5.0.0").parseXml;
let parser: Promise<ParseXml> | undefined;

function loadParser(): Promise<ParseXml> {
  parser ??= import("npm:@rgrove/parse-xml@5.0.0").then((module) => module.parseXml);
  return parser;
}

/** The root element of an S3 answer; an `<Error>` root is thrown as an S3Error. */
export async function parseRoot(text: string, status: number): Promise<XmlElement> {
  const parseXml = await loadParser();
  let root: XmlElement | undefined;
  try {
    root = parseXml(text).root ?? undefined;
  } catch (error) {
    // A truncated or garbled answer (a proxy's HTML page, a cut connection).
    throw new S3Error(status >= 300 ? status : 500, "MalformedResponse", { cause: error });
  }
  if (root === undefined) throw new S3Error(status >= 300 ? status : 500, "MalformedResponse");
  if (root.name === "Error") throw new S3Error(status >= 300 ? status : 500, text1(root, "Code"));
  return root;
}

/** The S3 error code in an error answer's body, or `""`. */
export async function errorCode(text: string): Promise<string> {
  if (!text.includes("<Error")) return "";
  try {
    await parseRoot(text, 400);
  } catch (error) {
    if (error instanceof S3Error) return error.code;
  }
  return "";
}

/** Child elements named `name`. */
export function elements(parent: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of parent.children) {
    if (child.type === "element" && (child as XmlElement).name === name) {
      out.push(child as XmlElement);
    }
  }
  return out;
}

/** Text of the first child element named `name`, or `""`. */
export function text1(parent: XmlElement, name: string): string {
  return elements(parent, name)[0]?.text ?? "";
}

/** One object in a listing. */
export interface ListedObject {
  /** Full key. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** S3's Last-Modified. */
  lastModified: Date;
  /** ETag, quotes included. */
  etag: string;
}

/** One page of ListObjectsV2. */
export interface ListPage {
  /** Objects (files), in key order. */
  objects: ListedObject[];
  /** Common prefixes (sub-directories), each ending in the delimiter. */
  prefixes: string[];
  /** Where the next page starts; absent on the last page. */
  continuationToken?: string;
}

/**
 * Decodes a value of a listing requested with `encoding-type=url`. S3 encodes like an HTML
 * form (a space is `+`); asking for it keeps keys with control characters, which XML 1.0
 * cannot carry, intact.
 */
function urlDecode(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll("+", " "));
  } catch {
    return value;
  }
}

/** Reads a ListObjectsV2 answer (requested with `encoding-type=url`). */
export async function parseListPage(text: string): Promise<ListPage> {
  const root = await parseRoot(text, 200);
  const encoded = text1(root, "EncodingType") === "url";
  const decode = encoded ? urlDecode : (value: string) => value;
  const objects = elements(root, "Contents").map((element) => ({
    key: decode(text1(element, "Key")),
    size: Number(text1(element, "Size")) || 0,
    lastModified: parseDate(text1(element, "LastModified")),
    etag: text1(element, "ETag"),
  }));
  const prefixes = elements(root, "CommonPrefixes").map((element) =>
    decode(text1(element, "Prefix"))
  );
  const truncated = text1(root, "IsTruncated") === "true";
  const token = text1(root, "NextContinuationToken");
  return { objects, prefixes, ...(truncated && token !== "" ? { continuationToken: token } : {}) };
}

/** A date from S3 (ISO 8601 in XML, RFC 7231 in headers); the epoch when unreadable. */
export function parseDate(value: string | null): Date {
  const date = value ? new Date(value) : new Date(0);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}

/** The `UploadId` of an InitiateMultipartUpload answer. */
export async function parseUploadId(text: string): Promise<string> {
  const id = text1(await parseRoot(text, 200), "UploadId");
  if (id === "") throw new S3Error(500, "MalformedResponse");
  return id;
}

/** The `ETag` of a CopyObject / UploadPartCopy / CompleteMultipartUpload answer (may be `""`). */
export async function parseEtag(text: string): Promise<string> {
  return text1(await parseRoot(text, 200), "ETag");
}

/** The keys a DeleteObjects answer reports as failed, with their codes. */
export async function parseDeleteErrors(text: string): Promise<{ key: string; code: string }[]> {
  const root = await parseRoot(text, 200);
  return elements(root, "Error").map((element) => ({
    key: text1(element, "Key"),
    code: text1(element, "Code"),
  }));
}

/** An in-progress multipart upload, from ListMultipartUploads. */
export interface ListedUpload {
  /** The object key the upload will create. */
  key: string;
  /** The upload's id. */
  uploadId: string;
}

/** Reads a ListMultipartUploads answer. */
export async function parseUploads(
  text: string,
): Promise<{ uploads: ListedUpload[]; nextKeyMarker?: string; nextUploadIdMarker?: string }> {
  const root = await parseRoot(text, 200);
  const encoded = text1(root, "EncodingType") === "url";
  const decode = encoded ? urlDecode : (value: string) => value;
  const uploads = elements(root, "Upload").map((element) => ({
    key: decode(text1(element, "Key")),
    uploadId: text1(element, "UploadId"),
  }));
  if (text1(root, "IsTruncated") !== "true") return { uploads };
  return {
    uploads,
    nextKeyMarker: decode(text1(root, "NextKeyMarker")),
    nextUploadIdMarker: text1(root, "NextUploadIdMarker"),
  };
}

/** Escapes text for an XML element body. */
export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
