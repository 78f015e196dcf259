/**
 * Server-side copies of whole objects: CopyObject up to 5 GiB, a multipart copy of
 * UploadPartCopy ranges above (S3 refuses a single CopyObject beyond 5 GiB). The bytes never
 * pass through ftpgate.
 *
 * @module
 */

import { runBounded } from "./bounded.ts";
import type { ObjectInfo, S3Objects, UploadedPart } from "./objects.ts";
import { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from "./settings.ts";

/** Part size for multipart copies: large parts, few requests. */
const COPY_PART_SIZE = 512 * 1024 * 1024;

/**
 * The byte ranges (inclusive ends) to copy `size` bytes in parts of at most 5 GiB, at least
 * `MIN_PART_SIZE` each (the last may be smaller), and at most 10,000 of them.
 *
 * @example
 * ```ts
 * import { copyRanges } from "./copy.ts";
 * copyRanges(10, 4); // [[0, 3], [4, 7], [8, 9]]
 * ```
 */
export function copyRanges(size: number, partSize: number = COPY_PART_SIZE): [number, number][] {
  let step = Math.max(partSize, Math.ceil(size / MAX_PARTS));
  step = Math.min(step, MAX_PART_SIZE);
  const ranges: [number, number][] = [];
  for (let start = 0; start < size; start += step) {
    ranges.push([start, Math.min(size, start + step) - 1]);
  }
  return ranges;
}

/**
 * The ranges for the kept prefix of an append or restart: parts of at most 5 GiB, each at
 * least 5 MiB because more parts follow it. `keep` must be at least `MIN_PART_SIZE`.
 */
export function prefixRanges(keep: number): [number, number][] {
  const count = Math.ceil(keep / MAX_PART_SIZE);
  const step = Math.ceil(keep / count);
  const ranges: [number, number][] = [];
  for (let start = 0; start < keep; start += step) {
    ranges.push([start, Math.min(keep, start + step) - 1]);
  }
  if (ranges.some(([start, end]) => end - start + 1 < MIN_PART_SIZE)) {
    throw new RangeError("a kept prefix part would be below the S3 minimum");
  }
  return ranges;
}

/** Copies `source` (as HEAD described it) to `target`, pinned to the source's ETag. */
export async function copyObject(
  objects: S3Objects,
  source: { key: string; info: ObjectInfo },
  target: string,
  options: { metadata?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<void> {
  const { info } = source;
  if (info.size <= MAX_PART_SIZE) {
    await objects.copy(source.key, target, {
      etag: info.etag,
      ...(options.metadata ? { metadata: options.metadata } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return;
  }
  // A multipart copy starts with no metadata: carry the source's over (a listing has none).
  const metadata = options.metadata ??
    (await objects.head(source.key, options.signal))?.metadata ?? info.metadata;
  const uploadId = await objects.createUpload(target, metadata, options.signal);
  try {
    const parts: UploadedPart[] = [];
    const ranges = copyRanges(info.size).map((range, index) => ({ range, index }));
    // A few ranges at once: each is a server-side copy of up to 512 MiB.
    await runBounded(ranges, 4, async ({ range: [start, end], index }, signal) => {
      parts[index] = await objects.uploadPartCopy(
        target,
        uploadId,
        index + 1,
        { key: source.key, start, end, etag: info.etag },
        signal,
      );
    }, options.signal);
    await objects.complete(
      target,
      uploadId,
      parts,
      options.signal ? { signal: options.signal } : {},
    );
  } catch (error) {
    await objects.abortUpload(target, uploadId).catch(() => {});
    throw error;
  }
}
