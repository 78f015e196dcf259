/**
 * A cache of directory listings for {@linkcode LocalStorage}, kept true by inotify.
 *
 * A LIST of 10,000 entries costs 10,000 `lstat` calls (~4 µs each through Deno) plus reading the
 * names; a client polling a large inbox every few seconds pays that every time. This cache keeps,
 * per directory, the names and stats of the last listing and an inotify watch on the directory;
 * an event marks the entry's name dirty, and the next listing re-stats only the dirty names.
 *
 * ## Why a listing never sees stale data
 * The kernel queues an inotify event inside the system call that makes the change, before that
 * call returns (`fsnotify()` runs in the VFS operation itself). So any change that completed
 * before a LIST arrived — one the client made, or was told about — is already in the inotify
 * queue when we serve the LIST. Every cached listing first *drains* that queue synchronously
 * (a non-blocking `read(2)` until `EAGAIN`) and applies what it read, in the same synchronous
 * step in which it takes the entries: nothing can be in flight between the two.
 *
 * That is why this module reads inotify itself, through FFI, instead of `Deno.watchFs`: Deno
 * delivers events asynchronously (a watcher thread, then a pending op), so there is no moment at
 * which "every event so far" is known to have arrived; and in Deno 2.9 one watcher serves every
 * `watchFs` of an isolate and hands events on with `try_send` into a channel of 16, dropping
 * events in a burst without a trace (runtime/ops/fs_events.rs). A dropped event is a stale
 * listing. So the cache needs `--allow-ffi`; without it (or off Linux glibc) nothing is cached.
 *
 * ## What is never cached (and so is read live, as without the cache)
 * - The jail: the directory is resolved and pinned by the caller on every listing, and the
 *   cache is keyed by its real path *and* its device and inode (a directory renamed away, with
 *   another put in its place, is not the cached one; a rename of a parent makes no event on the
 *   directory, but changes its real path, or the inode found there).
 * - Symlinks: resolved and checked against the root on every listing.
 * - Files with more than one hard link: a change through a name in another directory raises an
 *   event only on that directory (inotify reports children by the dentry they were reached by).
 * - `stat()` (SIZE, MDTM, MLST): live.
 *
 * ## Dropped on any doubt
 * A queue overflow (`IN_Q_OVERFLOW`: every directory), an event on the directory itself
 * (deleted, moved, its attributes, `IN_IGNORED`, an unmount), a read error, a watch that cannot
 * be placed (the inotify watch limit: not cached). Bounded in directories and in entries; the
 * least recently listed goes first. Used only on local filesystems where inotify sees every
 * change made on this machine (ext4, xfs, btrfs, tmpfs, …, from `/proc/self/mountinfo`): never
 * on NFS, CIFS or FUSE, where another machine's change makes no event here.
 *
 * @module
 */

import { openLibc } from "./libc.ts";
import type { FileStat } from "./storage.ts";

/** Filesystems where every change to a directory on this machine raises an inotify event. */
const LOCAL_FILESYSTEMS = new Set([
  "ext2",
  "ext3",
  "ext4",
  "xfs",
  "btrfs",
  "tmpfs",
  "f2fs",
  "zfs",
  "jfs",
  "reiserfs",
  "overlay",
  "bcachefs",
]);

// inotify(7)
const IN_MODIFY = 0x2;
const IN_ATTRIB = 0x4;
const IN_CLOSE_WRITE = 0x8;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_DELETE = 0x200;
const IN_DELETE_SELF = 0x400;
const IN_MOVE_SELF = 0x800;
const IN_Q_OVERFLOW = 0x4000;
const IN_ONLYDIR = 0x01000000;
const IN_DONT_FOLLOW = 0x02000000;
const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
const EAGAIN = 11;
const EINTR = 4;
const WATCH_MASK = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
  IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW;
/** `struct inotify_event` without its name: wd, mask, cookie, len. */
const EVENT_HEADER = 16;
const READ_BUFFER = 64 * 1024;

const SYMBOLS = {
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  inotify_rm_watch: { parameters: ["i32", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Library = Deno.DynamicLibrary<typeof SYMBOLS>;
type Libc = Library["symbols"];

/**
 * libc through FFI, when this process may use it (Linux, glibc, `--allow-ffi` for it). Each
 * cache opens its own handle and closes it with itself (a library left loaded is a leak to Deno).
 */
function loadLibc(): Library | null {
  return openLibc(SYMBOLS);
}

/** Options for {@linkcode DirCache}. */
export interface DirCacheOptions {
  /** Directories with fewer entries are not cached (they list in well under a millisecond). Default 256. */
  minEntries?: number;
  /** Directories cached at once (one inotify watch each). Default 64. */
  maxDirectories?: number;
  /** Entries cached at once, over all directories. Default 200,000. */
  maxEntries?: number;
}

/**
 * One entry of a cached directory: its stat, or its name alone for an entry checked live on
 * every listing (a symlink, a hard-linked file). Kept this small on purpose: a 10,000-entry
 * listing held in the cache is promoted out of V8's young generation, and every object more per
 * entry was a millisecond more of garbage collection on the first (cold) listing.
 */
export type CachedEntry = FileStat | string;

/** How the cache learns about one entry: a live lstat, as an uncached listing makes it. */
export type EntryProbe = (name: string) => CachedEntry | null;

function nameOf(entry: CachedEntry): string {
  return typeof entry === "string" ? entry : entry.name;
}

/** A listing being filled: add what was listed, then commit once the whole directory is read. */
export interface CacheFill {
  add(entry: CachedEntry): void;
  commit(): void;
  abandon(): void;
}

/** A cached directory. */
interface Watched {
  readonly real: string;
  readonly id: string;
  readonly wd: number;
  /**
   * The entries in listing order; null until the first listing commits. Replaced, never
   * changed in place, so a listing in progress keeps reading the array it started with.
   */
  entries: CachedEntry[] | null;
  /** Names with events since they were last stat'ed. */
  readonly dirty: Set<string>;
}

/**
 * Listings of local directories, kept by inotify; see the module comment for why it is sound.
 *
 * @example
 * ```ts ignore
 * const cache = DirCache.open(root); // null where it cannot be sound
 * const entries = cache?.lookup(realDir, "2049:1234", probe); // null: list live and fill
 * ```
 */
export class DirCache {
  readonly #library: Library;
  readonly #libc: Libc;
  #fd: number;
  readonly #minEntries: number;
  readonly #maxDirectories: number;
  readonly #maxEntries: number;
  /** Cached directories by real path, least recently listed first. */
  readonly #dirs = new Map<string, Watched>();
  readonly #byWatch = new Map<number, Watched>();
  readonly #buffer = new Uint8Array(READ_BUFFER);
  readonly #view = new DataView(this.#buffer.buffer);
  #entries = 0;

  private constructor(library: Library, fd: number, options: DirCacheOptions) {
    this.#library = library;
    this.#libc = library.symbols;
    this.#fd = fd;
    this.#minEntries = options.minEntries ?? 256;
    this.#maxDirectories = options.maxDirectories ?? 64;
    this.#maxEntries = options.maxEntries ?? 200_000;
  }

  /**
   * A cache for the tree at `root` (a real path); null where it cannot be sound: no FFI (Linux,
   * glibc, `--allow-ffi`), no inotify instance left, or a filesystem where inotify misses
   * changes (or one that cannot be told from `/proc/self/mountinfo`).
   */
  static open(root: string, options: DirCacheOptions = {}): DirCache | null {
    if (!localFilesystem(root)) return null;
    const library = loadLibc();
    if (library === null) return null;
    const fd = library.symbols.inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0) return new DirCache(library, fd, options);
    library.close();
    return null;
  }

  /** Directories cached right now. */
  get size(): number {
    return this.#dirs.size;
  }

  /**
   * The entries of the directory at `real` (identified by `id`, its device and inode), brought
   * up to date with every change made so far, or null when it is not cached. `probe` stats a
   * name that changed.
   */
  lookup(real: string, id: string, probe: EntryProbe): readonly CachedEntry[] | null {
    if (this.#fd < 0) return null;
    this.#drain();
    const dir = this.#dirs.get(real);
    if (dir === undefined || dir.entries === null) return null;
    if (dir.id !== id) {
      this.#drop(dir);
      return null;
    }
    this.#dirs.delete(real); // most recently listed last
    this.#dirs.set(real, dir);
    if (dir.dirty.size > 0) {
      const before = dir.entries.length;
      const entries = this.#apply(dir.entries, dir.dirty, probe);
      dir.dirty.clear();
      dir.entries = entries;
      this.#entries += entries.length - before;
      if (entries.length < this.#minEntries || entries.length > this.#maxEntries) {
        this.#drop(dir);
        return entries;
      }
      this.#trim(dir);
    }
    return dir.entries;
  }

  /** A new array: the dirty names stat'ed again (dropped when gone), new ones at the end. */
  #apply(entries: CachedEntry[], dirty: Set<string>, probe: EntryProbe): CachedEntry[] {
    const pending = new Set(dirty);
    const out: CachedEntry[] = [];
    for (const entry of entries) {
      const name = nameOf(entry);
      if (!pending.has(name)) {
        out.push(entry);
        continue;
      }
      pending.delete(name);
      const fresh = probe(name);
      if (fresh !== null) out.push(fresh);
    }
    for (const name of pending) {
      const fresh = probe(name);
      if (fresh !== null) out.push(fresh);
    }
    return out;
  }

  /**
   * Starts caching the directory at `real` before it is read: the watch comes first, so that a
   * change made while the listing is read marks its name dirty. Null when it cannot be watched
   * (the inotify watch limit, a swap), or while another listing is filling it.
   */
  begin(real: string, id: string): CacheFill | null {
    if (this.#fd < 0) return null;
    const old = this.#dirs.get(real);
    if (old !== undefined) {
      if (old.id === id && old.entries === null) return null; // filling now
      this.#drop(old);
    }
    const wd = this.#libc.inotify_add_watch(this.#fd, cString(real), WATCH_MASK);
    if (wd < 0) return null;
    if (this.#byWatch.has(wd)) return null; // the same directory by another path (a bind mount)
    try {
      // The watch was placed by path: it must be on the directory the caller pinned.
      const info = Deno.statSync(real);
      if (`${info.dev}:${info.ino}` !== id) throw new Error("replaced");
    } catch {
      this.#libc.inotify_rm_watch(this.#fd, wd);
      return null;
    }
    const dir: Watched = { real, id, wd, entries: null, dirty: new Set() };
    this.#dirs.set(real, dir);
    this.#byWatch.set(wd, dir);
    let entries: CachedEntry[] = [];
    let overflow = false;
    return {
      add: (entry) => {
        if (overflow) return;
        entries.push(entry);
        if (entries.length > this.#maxEntries) {
          overflow = true;
          entries = [];
        }
      },
      commit: () => {
        if (this.#byWatch.get(wd) !== dir) return; // dropped while it was read
        if (overflow || entries.length < this.#minEntries) return this.#drop(dir);
        dir.entries = entries;
        this.#entries += entries.length;
        this.#trim(dir);
      },
      abandon: () => {
        if (dir.entries === null) this.#drop(dir);
      },
    };
  }

  /** Forgets every directory and closes the inotify instance. Safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    this.#dirs.clear();
    this.#byWatch.clear();
    this.#entries = 0;
    this.#libc.close(this.#fd);
    this.#fd = -1;
    this.#library.close();
  }

  /** Forgets one directory and removes its watch. */
  #drop(dir: Watched): void {
    if (this.#byWatch.get(dir.wd) !== dir) return;
    this.#byWatch.delete(dir.wd);
    if (this.#dirs.get(dir.real) === dir) this.#dirs.delete(dir.real);
    if (dir.entries !== null) this.#entries -= dir.entries.length;
    dir.entries = null;
    this.#libc.inotify_rm_watch(this.#fd, dir.wd); // its IN_IGNORED finds no directory
  }

  #dropAll(): void {
    for (const dir of [...this.#dirs.values()]) this.#drop(dir);
  }

  /** Evicts the least recently listed directories until the bounds hold (never `keep`). */
  #trim(keep: Watched): void {
    for (const dir of this.#dirs.values()) {
      if (this.#dirs.size <= this.#maxDirectories && this.#entries <= this.#maxEntries) return;
      if (dir !== keep) this.#drop(dir);
    }
  }

  /** Reads every queued event (non-blocking) and applies it. */
  #drain(): void {
    const lib = this.#libc;
    const buffer = this.#buffer;
    const view = this.#view;
    for (;;) {
      const n = Number(lib.read(this.#fd, buffer, BigInt(READ_BUFFER)));
      if (n < 0) {
        const errno = new Deno.UnsafePointerView(lib.__errno_location()!).getInt32();
        if (errno === EINTR) continue;
        if (errno !== EAGAIN) this.#dropAll(); // a read we cannot trust: forget everything
        return;
      }
      if (n === 0) return;
      for (let at = 0; at + EVENT_HEADER <= n;) {
        const wd = view.getInt32(at, true);
        const mask = view.getUint32(at + 4, true);
        const length = view.getUint32(at + 12, true);
        const nameStart = at + EVENT_HEADER;
        at = nameStart + length;
        if (mask & IN_Q_OVERFLOW) {
          this.#dropAll(); // events were lost
          continue;
        }
        const dir = this.#byWatch.get(wd);
        if (dir === undefined) continue; // a watch removed already
        let end = nameStart;
        while (end < nameStart + length && buffer[end] !== 0) end++;
        if (end === nameStart) {
          this.#drop(dir); // the directory itself: deleted, moved, changed, unwatched
          continue;
        }
        const name = decoder.decode(buffer.subarray(nameStart, end));
        // A name that is not UTF-8 cannot be matched to its entry: forget the directory.
        if (name.includes("\uFFFD")) this.#drop(dir);
        else dir.dirty.add(name);
      }
    }
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cString(text: string): Uint8Array {
  return encoder.encode(`${text}\0`);
}

/**
 * True when `path` is on a filesystem where inotify sees every change made on this machine,
 * judged from `/proc/self/mountinfo` (the mount with the longest matching mount point). False
 * when that cannot be read.
 */
export function localFilesystem(path: string): boolean {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return false;
  }
  let best = "";
  let type = "";
  for (const line of text.split("\n")) {
    // id parent major:minor root mount-point options [optional fields] - type source super
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (fields.length < 5 || dash < 0) continue;
    const point = fields[4].replace(
      /\\([0-7]{3})/g,
      (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
    );
    const inside = point === "/" || path === point || path.startsWith(point + "/");
    if (inside && point.length >= best.length) {
      best = point;
      type = fields[dash + 1] ?? "";
    }
  }
  return LOCAL_FILESYSTEMS.has(type);
}
