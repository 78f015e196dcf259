/**
 * The files served during the benchmark, created on first use under the temporary root.
 *
 * @module
 */

import { writeAll } from "../../src/io.ts";

/** Sizes of everything the benchmark creates or moves; `--quick` shrinks them. */
export interface Sizes {
  /** The big file (RETR, STOR, REST, ceiling). */
  bigBytes: number;
  /** Entries in the listed directory. */
  listEntries: number;
  /** Small files for small-retr and small-stor. */
  smallFiles: number;
  smallBytes: number;
  /** The text file of `mode-z` (MODE Z against MODE S). */
  textBytes: number;
  /** The file every concurrent session downloads, and how many sessions. */
  mediumBytes: number;
  concurrentSessions: number;
  /** Logged-in sessions held open for `idle`. */
  idleSessions: number;
  /** Duration of the timed loops (rest, logins). */
  loopSeconds: number;
  /** Timed LIST/MLSD runs per round, after the warm-ups. */
  listRuns: number;
  listWarmups: number;
  /** Starts per round for `startup`. */
  startups: number;
}

const MiB = 1024 * 1024;

/** The full benchmark. */
export const FULL: Sizes = {
  bigBytes: 1024 * MiB,
  listEntries: 10_000,
  smallFiles: 2_000,
  smallBytes: 4096,
  textBytes: 100 * MiB,
  mediumBytes: 16 * MiB,
  concurrentSessions: 64,
  idleSessions: 1_000,
  loopSeconds: 5,
  listRuns: 20,
  listWarmups: 2,
  startups: 10,
};

/** `--quick`: the same shape, smaller. */
export const QUICK: Sizes = {
  bigBytes: 128 * MiB,
  listEntries: 1_000,
  smallFiles: 200,
  smallBytes: 4096,
  textBytes: 16 * MiB,
  mediumBytes: 4 * MiB,
  concurrentSessions: 16,
  idleSessions: 200,
  loopSeconds: 1,
  listRuns: 5,
  listWarmups: 1,
  startups: 3,
};

/** Paths inside the served root (what clients ask for). */
export const PATHS = {
  big: "big.bin",
  list: "list",
  small: "small",
  medium: "m16.bin",
  text: "text.log",
  uploads: "uploads",
} as const;

/** One fixture a metric needs. */
export type FixtureName = "big" | "list" | "small" | "medium" | "text";

/** Creates fixtures under `root` the first time they are asked for. */
export class Fixtures {
  readonly root: string;
  readonly sizes: Sizes;
  readonly #made = new Set<FixtureName>();

  constructor(root: string, sizes: Sizes) {
    this.root = root;
    this.sizes = sizes;
  }

  /** The absolute path of a served file. */
  path(relative: string): string {
    return `${this.root}/${relative}`;
  }

  /** Makes sure every named fixture exists; returns a description of what had to be created. */
  async ensure(names: readonly FixtureName[]): Promise<string[]> {
    const created: string[] = [];
    for (const name of names) {
      if (this.#made.has(name)) continue;
      const started = performance.now();
      const what = await this.#create(name);
      this.#made.add(name);
      created.push(`${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
    return created;
  }

  async #create(name: FixtureName): Promise<string> {
    const s = this.sizes;
    switch (name) {
      case "big":
        await writeRandom(this.path(PATHS.big), s.bigBytes);
        return `${PATHS.big}: ${s.bigBytes / MiB} MiB of random bytes`;
      case "medium":
        await writeRandom(this.path(PATHS.medium), s.mediumBytes);
        return `${PATHS.medium}: ${s.mediumBytes / MiB} MiB of random bytes`;
      case "text":
        await writeText(this.path(PATHS.text), s.textBytes);
        return `${PATHS.text}: ${s.textBytes / MiB} MiB of log-like text`;
      case "list": {
        const dir = this.path(PATHS.list);
        await Deno.mkdir(dir, { recursive: true });
        const encoder = new TextEncoder();
        for (let i = 0; i < s.listEntries; i++) {
          const name = `entry-${String(i).padStart(5, "0")}.txt`;
          Deno.writeFileSync(`${dir}/${name}`, encoder.encode(`${name}\n`));
        }
        return `${PATHS.list}/: ${s.listEntries} small files`;
      }
      case "small": {
        const dir = this.path(PATHS.small);
        await Deno.mkdir(dir, { recursive: true });
        const block = new Uint8Array(s.smallBytes);
        for (let i = 0; i < s.smallFiles; i++) {
          fillRandom(block);
          Deno.writeFileSync(`${dir}/${smallName(i)}`, block);
        }
        return `${PATHS.small}/: ${s.smallFiles} × ${s.smallBytes / 1024} KiB files`;
      }
    }
  }
}

/** Name of the i-th small file; the C client builds it from `f%04d`. */
export function smallName(i: number): string {
  return `f${String(i).padStart(4, "0")}`;
}

/** printf format of {@linkcode smallName} for the C client. */
export const SMALL_FORMAT = "f%04d";

function fillRandom(buffer: Uint8Array): void {
  // getRandomValues takes at most 64 KiB at a time.
  for (let offset = 0; offset < buffer.length; offset += 65536) {
    crypto.getRandomValues(buffer.subarray(offset, Math.min(buffer.length, offset + 65536)));
  }
}

async function writeRandom(path: string, size: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(4 * MiB);
  for (let written = 0; written < size;) {
    const chunk = block.subarray(0, Math.min(block.length, size - written));
    fillRandom(chunk);
    await writeAll(file, chunk);
    written += chunk.length;
  }
}

/**
 * `size` bytes of log-like text (timestamps, levels, words, numbers; ~80 bytes a line), which
 * deflate shrinks about 4×, as it does real server logs: random bytes would measure nothing
 * but deflate's worst case, and a repeated line nothing but its best.
 */
async function writeText(path: string, size: number): Promise<void> {
  const words = ("session transfer upload download listing directory client server passive " +
    "connection accepted closed timeout retry quota bytes file record block marker deflate")
    .split(" ");
  const levels = ["INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"];
  let seed = 12345;
  const next = (n: number) => {
    // xorshift32: reproducible, fast
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const encoder = new TextEncoder();
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  let written = 0;
  let second = 0;
  while (written < size) {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      second += next(3);
      const time = new Date(Date.UTC(2026, 0, 1) + second * 1000).toISOString();
      const text = Array.from({ length: 4 + next(6) }, () => words[next(words.length)]).join(" ");
      lines.push(
        `${time} ${levels[next(levels.length)]} [s${next(5000)}] ${text} n=${next(1_000_000)}`,
      );
    }
    const chunk = encoder.encode(lines.join("\n") + "\n");
    const part = chunk.subarray(0, Math.min(chunk.length, size - written));
    await writeAll(file, part);
    written += part.length;
  }
}
