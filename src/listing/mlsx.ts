/**
 * Machine-readable listings: MLSD and MLST fact lines (RFC 3659 §7).
 *
 * `type=file;size=5;modify=20261120103000;perm=adfrw;unix.mode=0644;unique=801g2a; a.txt`
 *
 * @module
 */

import type { Permission } from "../identity/rules.ts";
import { singleLine } from "../protocol/reply.ts";
import type { FileStat, StorageCapabilities } from "../storage/storage.ts";

/** Facts we can report, in the order we report them. */
export const MLST_FACTS = ["type", "size", "modify", "perm", "unix.mode", "unique"] as const;
/** One fact name. */
export type MlstFact = typeof MLST_FACTS[number];

/**
 * The facts a back end can report truthfully: `unix.mode` needs permission bits (chmod) and
 * `unique` ids that survive renames.
 */
export function availableFacts(capabilities: StorageCapabilities): MlstFact[] {
  return MLST_FACTS.filter((fact) =>
    (fact !== "unix.mode" || capabilities.chmod) && (fact !== "unique" || capabilities.uniqueIds)
  );
}

/** The FEAT line: every available fact, `*` marking those enabled (RFC 3659 §7.8). */
export function mlstFeature(
  enabled: ReadonlySet<MlstFact>,
  available: readonly MlstFact[] = MLST_FACTS,
): string {
  return "MLST " + available.map((fact) => fact + (enabled.has(fact) ? "*;" : ";")).join("");
}

/**
 * Parses the argument of `OPTS MLST` into the facts to enable. Unknown facts are ignored, as
 * RFC 3659 §7.9 asks; the result lists the facts actually enabled.
 */
export function parseMlstOptions(arg: string): Set<MlstFact> {
  const wanted = new Set(arg.toLowerCase().split(";").map((fact) => fact.trim()));
  return new Set(MLST_FACTS.filter((fact) => wanted.has(fact)));
}

/** How an entry relates to the listed directory, for the `type` fact. */
export type EntryRole = "entry" | "cdir" | "pdir";

/**
 * Formats one fact line (without line ending, without the leading space MLST needs).
 *
 * @param perm the `perm` fact's value (see {@linkcode permFact}).
 *
 * @example
 * ```ts
 * import { formatFacts, MLST_FACTS } from "./mlsx.ts";
 * const entry = { name: "a.txt", type: "file" as const, size: 5, mode: 0o644, id: "801g2a",
 *   mtime: new Date("2026-11-20T10:30:00Z") };
 * formatFacts(entry, "a.txt", new Set(MLST_FACTS), "adfrw", "entry");
 * // "type=file;size=5;modify=20261120103000;perm=adfrw;unix.mode=0644;unique=801g2a; a.txt"
 * ```
 */
export function formatFacts(
  entry: FileStat,
  name: string,
  facts: ReadonlySet<MlstFact>,
  perm: string,
  role: EntryRole,
): string {
  let out = "";
  if (facts.has("type")) out += `type=${role === "entry" ? entry.type : role};`;
  if (facts.has("size")) out += `size=${entry.size};`;
  if (facts.has("modify")) out += `modify=${formatTimeVal(entry.mtime)};`;
  if (facts.has("perm")) out += `perm=${perm};`;
  if (facts.has("unix.mode")) out += `unix.mode=0${(entry.mode & 0o7777).toString(8)};`;
  if (facts.has("unique")) out += `unique=${entry.id};`;
  return `${out} ${singleLine(name)}`;
}

/** RFC 3659 §2.3 time-val: `YYYYMMDDHHMMSS` in UTC (used by MDTM and the modify fact). */
export function formatTimeVal(date: Date): string {
  const time = date.getTime();
  if (Number.isNaN(time)) return "19700101000000";
  return date.toISOString().slice(0, 19).replace(/[-T:]/g, "");
}

/**
 * Parses a time-val (`YYYYMMDDHHMMSS[.fraction]`, UTC) as sent with MFMT; null when malformed or
 * not a real date (month 13, February 30). RFC 3659 §2.3 allows any number of fraction digits
 * (we keep milliseconds) and second 60 for a leap second (kept as :59, as Date cannot hold it).
 */
export function parseTimeVal(text: string): Date | null {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?$/.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, rawSecond] = match.slice(1, 7).map(Number);
  const second = rawSecond === 60 ? 59 : rawSecond;
  const millis = match[7] ? Number(match[7].slice(0, 3).padEnd(3, "0")) : 0;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  if (
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59
  ) return null;
  return date;
}

/**
 * The RFC 3659 §7.5.5 perm fact: what this user may do with the entry, from the same rules and
 * capabilities the commands check. Files: a (APPE), d (DELE), f (RNFR), r (RETR), w (STOR over
 * it). Directories: c (create files in it), d (RMD), e (CWD, always), f (RNFR), l (LIST), m (MKD
 * in it), p (delete entries in it).
 *
 * @example
 * ```ts
 * import { permFact } from "./mlsx.ts";
 * import { FULL_CAPABILITIES } from "../storage/storage.ts";
 * permFact("dir", new Set(["upload"]), FULL_CAPABILITIES); // "ce": a drop box
 * ```
 */
export function permFact(
  type: FileStat["type"],
  permissions: ReadonlySet<Permission>,
  capabilities: StorageCapabilities,
): string {
  const has = (permission: Permission) => permissions.has(permission);
  if (type === "dir") {
    return (has("upload") ? "c" : "") + (has("rmdir") ? "d" : "") + "e" +
      (has("rename") && capabilities.renameDirectory ? "f" : "") + (has("list") ? "l" : "") +
      (has("mkdir") ? "m" : "") + (has("delete") ? "p" : "");
  }
  return (has("append") && capabilities.append ? "a" : "") + (has("delete") ? "d" : "") +
    (has("rename") && capabilities.renameFile ? "f" : "") + (has("download") ? "r" : "") +
    (has("overwrite") ? "w" : "");
}
