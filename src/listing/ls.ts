/**
 * `ls -l` lines for LIST and STAT (RFC 959 leaves the format open; every client parses this one).
 *
 * `drwxr-xr-x    1 ftp      ftp              4096 Nov 22 03:00 name`
 *
 * Owner and group are always `ftp`: real user names are none of a client's business. The size
 * column is 12 wide, so listings stay aligned up to a terabyte.
 *
 * Times are UTC. Like GNU ls, a time within the last six months shows `HH:MM`, anything older or
 * in the future shows the year instead; we allow one day of future for clock skew.
 *
 * @module
 */

import { singleLine } from "../protocol/reply.ts";
import type { FileStat } from "../storage/storage.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SIX_MONTHS_MS = 182.5 * 24 * 3600 * 1000;
const ONE_DAY_MS = 24 * 3600 * 1000;
/** `rwx` triples for each 3-bit value, precomputed. */
const TRIPLES = ["---", "--x", "-w-", "-wx", "r--", "r-x", "rw-", "rwx"];

/**
 * Formats one entry as an `ls -l` line, without line ending.
 *
 * @example
 * ```ts
 * import { formatLsLine } from "./ls.ts";
 * const entry = { name: "a.txt", type: "file" as const, size: 5, mode: 0o644, id: "1",
 *   mtime: new Date("2026-11-20T10:30:00Z") };
 * formatLsLine(entry, Date.parse("2026-11-22T00:00:00Z"));
 * // "-rw-r--r--    1 ftp      ftp                 5 Nov 20 10:30 a.txt"
 * ```
 */
export function formatLsLine(entry: FileStat, now: number): string {
  const mode = entry.mode;
  const perms = (entry.type === "dir" ? "d" : "-") + TRIPLES[(mode >> 6) & 7] +
    TRIPLES[(mode >> 3) & 7] + TRIPLES[mode & 7];
  const size = String(entry.size).padStart(12, " ");
  return `${perms}    1 ftp      ftp      ${size} ${formatLsDate(entry.mtime, now)} ${
    singleLine(entry.name)
  }`;
}

/** `Nov 20 10:30` for recent times, `Nov 20  2025` otherwise (UTC). */
export function formatLsDate(date: Date, now: number): string {
  const time = date.getTime();
  if (Number.isNaN(time)) return "Jan  1  1970";
  const month = MONTHS[date.getUTCMonth()] ?? "Jan";
  const day = String(date.getUTCDate()).padStart(2, " ");
  if (time > now - SIX_MONTHS_MS && time < now + ONE_DAY_MS) {
    return `${month} ${day} ${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}`;
  }
  return `${month} ${day}  ${date.getUTCFullYear()}`;
}

function pad2(value: number): string {
  return value < 10 ? "0" + value : String(value);
}
