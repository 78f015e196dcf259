/**
 * Storage in memory: a file tree that lives as long as the object, for tests and throwaway
 * servers that should need no disk and no `--allow-read`/`--allow-write` at all.
 *
 * Readers see a snapshot: a write never changes bytes a running download has yet to send,
 * because every write builds its own buffer (copy on open, append in place beyond any snapshot).
 *
 * @module
 */

import { StorageError } from "../errors.ts";
import {
  type FileStat,
  FULL_CAPABILITIES,
  type ReadHandle,
  type ReadOptions,
  type Storage,
  type StorageCapabilities,
  type WriteHandle,
  type WriteOptions,
} from "./storage.ts";
import { baseName, parentPath, resolvePath, splitPath } from "./vpath.ts";

interface FileNode {
  type: "file";
  /** Removed or replaced while an upload still writes to it: its bytes no longer count. */
  detached?: boolean;
  data: Uint8Array;
  size: number;
  mtime: Date;
  mode: number;
  id: number;
}

interface DirNode {
  type: "dir";
  children: Map<string, Node>;
  mtime: Date;
  mode: number;
  id: number;
}

type Node = FileNode | DirNode;

/** Options for {@linkcode MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Most bytes all files together may hold; a write beyond it fails with `no-space` (452). */
  maxBytes?: number;
}

/** Largest chunk a download is cut into. */
const CHUNK_SIZE = 256 * 1024;

/**
 * A {@linkcode Storage} held in memory.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./memory.ts";
 * const storage = MemoryStorage.from({ "docs/readme.txt": "hello" });
 * await storage.readFile("/docs/readme.txt"); // Uint8Array of "hello"
 * ```
 */
export class MemoryStorage implements Storage {
  readonly backend = "memory";
  /** Everything (a finished upload replaces the old bytes in one step). */
  readonly capabilities: StorageCapabilities = FULL_CAPABILITIES;
  readonly #root: DirNode;
  readonly #maxBytes: number;
  /** Paths with an upload in progress. */
  readonly #writing = new Set<string>();
  #usedBytes = 0;
  #nextId = 1;

  /** An empty tree. */
  constructor(options: MemoryStorageOptions = {}) {
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#root = this.#dir();
  }

  /** A storage seeded with files: `{ "dir/a.txt": "text", "b.bin": new Uint8Array([1]) }`. */
  static from(
    files: Record<string, string | Uint8Array>,
    options?: MemoryStorageOptions,
  ): MemoryStorage {
    const storage = new MemoryStorage(options);
    for (const [path, content] of Object.entries(files)) storage.writeFile(path, content);
    return storage;
  }

  /** Bytes held by all files. */
  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** Creates or replaces a file (and its parent directories) directly, outside any session. */
  writeFile(path: string, content: string | Uint8Array): void {
    const segments = splitPath(normalize(path));
    let dir = this.#root;
    for (const segment of segments.slice(0, -1)) {
      let child = dir.children.get(segment);
      if (child === undefined) {
        child = this.#dir();
        dir.children.set(segment, child);
      }
      if (child.type !== "dir") throw new StorageError("not-a-directory", path);
      dir = child;
    }
    const name = segments[segments.length - 1];
    if (name === undefined) throw new StorageError("is-a-directory", path);
    const data = typeof content === "string" ? new TextEncoder().encode(content) : content.slice();
    const existing = dir.children.get(name);
    if (existing?.type === "dir") throw new StorageError("is-a-directory", path);
    this.#usedBytes += data.length - (existing?.size ?? 0);
    dir.children.set(name, { ...this.#fileNode(), data, size: data.length });
  }

  /** The bytes of a file, e.g. to check what a client uploaded. */
  readFile(path: string): Promise<Uint8Array> {
    const node = this.#find(normalize(path));
    if (node.type !== "file") return Promise.reject(new StorageError("is-a-directory", path));
    return Promise.resolve(node.data.slice(0, node.size));
  }

  /** Every file path, sorted: a quick picture of the tree in a test. */
  paths(): string[] {
    const out: string[] = [];
    const walk = (dir: DirNode, prefix: string) => {
      for (const [name, node] of dir.children) {
        const path = `${prefix}/${name}`;
        if (node.type === "dir") walk(node, path);
        else out.push(path);
      }
    };
    walk(this.#root, "");
    return out.sort();
  }

  stat(path: string): Promise<FileStat> {
    return this.#run(() => toStat(baseName(path), this.#find(path)));
  }

  async *list(path: string): AsyncGenerator<FileStat> {
    // A snapshot of the names: entries added or removed while the listing is read do not
    // disturb the iteration.
    const children = [...this.#findDir(path).children];
    for (const [name, node] of children) yield toStat(name, node);
  }

  read(path: string, options: ReadOptions = {}): Promise<ReadHandle> {
    const offset = options.offset ?? 0;
    return this.#run(() => {
      const node = this.#find(path);
      if (node.type !== "file") throw new StorageError("is-a-directory", path);
      return { size: node.size, readable: bytesStream(node.data.subarray(0, node.size), offset) };
    });
  }

  write(path: string, options: WriteOptions = {}): Promise<WriteHandle> {
    return this.#run(() => {
      const parent = this.#findDir(parentPath(path));
      const name = baseName(path);
      const existing = parent.children.get(name);
      if (existing?.type === "dir") throw new StorageError("is-a-directory", path);
      if (existing !== undefined && options.exclusive) throw new StorageError("exists", path);
      if (existing === undefined && (options.offset ?? 0) > 0) {
        throw new StorageError("not-found", path);
      }
      if (this.#writing.has(path)) throw new StorageError("busy", path);
      // Nothing changes until the first byte or the end of the upload (as on disk).
      const start = (): FileNode => {
        let node = parent.children.get(name);
        if (node?.type === "dir") throw new StorageError("is-a-directory", path);
        if (node === undefined) {
          node = this.#fileNode();
          parent.children.set(name, node);
        }
        const keep = options.append ? node.size : Math.min(options.offset ?? 0, node.size);
        // Copy the kept part into a buffer of this write's own: running downloads keep theirs.
        const data = new Uint8Array(Math.max(keep, 64));
        data.set(node.data.subarray(0, keep));
        this.#usedBytes -= node.size - keep;
        node.data = data;
        node.size = keep;
        node.mtime = new Date();
        return node;
      };
      return this.#sink(start, path);
    });
  }

  mkdir(path: string): Promise<void> {
    return this.#run(() => {
      const parent = this.#findDir(parentPath(path));
      const name = baseName(path);
      if (path === "/" || parent.children.has(name)) throw new StorageError("exists", path);
      parent.children.set(name, this.#dir());
      parent.mtime = new Date();
    });
  }

  remove(path: string): Promise<void> {
    return this.#run(() => {
      const parent = this.#findDir(parentPath(path));
      const node = parent.children.get(baseName(path));
      if (node === undefined) throw new StorageError("not-found", path);
      if (node.type === "dir") throw new StorageError("is-a-directory", path);
      parent.children.delete(baseName(path));
      this.#usedBytes -= node.size;
      node.detached = true;
      parent.mtime = new Date();
    });
  }

  rmdir(path: string): Promise<void> {
    return this.#run(() => {
      if (path === "/") throw new StorageError("permission", path);
      const parent = this.#findDir(parentPath(path));
      const node = parent.children.get(baseName(path));
      if (node === undefined) throw new StorageError("not-found", path);
      if (node.type !== "dir") throw new StorageError("not-a-directory", path);
      if (node.children.size > 0) throw new StorageError("not-empty", path);
      parent.children.delete(baseName(path));
      parent.mtime = new Date();
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.#run(() => {
      if (from === "/" || to === "/") throw new StorageError("permission", from);
      const source = this.#findDir(parentPath(from));
      const node = source.children.get(baseName(from));
      if (node === undefined) throw new StorageError("not-found", from);
      const target = this.#findDir(parentPath(to));
      // A directory cannot move into itself (POSIX rename: EINVAL).
      if (node.type === "dir" && (to === from || to.startsWith(from + "/"))) {
        throw new StorageError("invalid-name", to);
      }
      const existing = target.children.get(baseName(to));
      if (existing !== undefined && existing !== node) {
        if (existing.type === "dir" && node.type !== "dir") {
          throw new StorageError("is-a-directory", to);
        }
        if (existing.type !== "dir" && node.type === "dir") {
          throw new StorageError("not-a-directory", to);
        }
        if (existing.type === "dir" && existing.children.size > 0) {
          throw new StorageError("not-empty", to);
        }
        if (existing.type === "file") {
          this.#usedBytes -= existing.size;
          existing.detached = true;
        }
      }
      source.children.delete(baseName(from));
      target.children.set(baseName(to), node);
      source.mtime = target.mtime = new Date();
    });
  }

  setMtime(path: string, mtime: Date): Promise<void> {
    return this.#run(() => {
      this.#find(path).mtime = mtime;
    });
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.#run(() => {
      this.#find(path).mode = mode & 0o777;
    });
  }

  /** Runs a synchronous operation as a promise, so that errors reject rather than throw. */
  #run<T>(operation: () => T): Promise<T> {
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #find(path: string): Node {
    let node: Node = this.#root;
    for (const segment of splitPath(path)) {
      if (node.type !== "dir") throw new StorageError("not-a-directory", path);
      const child: Node | undefined = node.children.get(segment);
      if (child === undefined) throw new StorageError("not-found", path);
      node = child;
    }
    return node;
  }

  #findDir(path: string): DirNode {
    const node = this.#find(path);
    if (node.type !== "dir") throw new StorageError("not-a-directory", path);
    return node;
  }

  #dir(): DirNode {
    return { type: "dir", children: new Map(), mtime: new Date(), mode: 0o755, id: this.#nextId++ };
  }

  #fileNode(): FileNode {
    return {
      type: "file",
      data: new Uint8Array(0),
      size: 0,
      mtime: new Date(),
      mode: 0o644,
      id: this.#nextId++,
    };
  }

  #sink(start: () => FileNode, path: string): WriteHandle {
    this.#writing.add(path);
    let node: FileNode | null = null;
    const release = () => {
      this.#writing.delete(path);
    };
    return new WritableStream<Uint8Array>({
      write: (chunk) => {
        node ??= start();
        const counted = !node.detached;
        if (counted && this.#usedBytes + chunk.length > this.#maxBytes) {
          release();
          throw new StorageError("no-space", path);
        }
        const needed = node.size + chunk.length;
        if (needed > node.data.length) {
          const grown = new Uint8Array(Math.max(needed, node.data.length * 2));
          grown.set(node.data.subarray(0, node.size));
          node.data = grown;
        }
        node.data.set(chunk, node.size);
        node.size = needed;
        node.mtime = new Date();
        if (counted) this.#usedBytes += chunk.length;
      },
      close: () => {
        node ??= start(); // an empty upload still creates or empties the file
        release();
      },
      abort: release,
    });
  }
}

/** A byte stream over a snapshot of a file, honouring BYOB reads (no copy per chunk twice). */
function bytesStream(data: Uint8Array, offset: number): ReadableStream<Uint8Array> {
  let position = Math.min(offset, data.length);
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (position >= data.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const request = controller.byobRequest;
      if (request?.view) {
        const view = new Uint8Array(
          request.view.buffer,
          request.view.byteOffset,
          request.view.byteLength,
        );
        const n = Math.min(view.length, data.length - position);
        view.set(data.subarray(position, position + n));
        position += n;
        request.respond(n);
      } else {
        const n = Math.min(CHUNK_SIZE, data.length - position);
        controller.enqueue(data.slice(position, position + n));
        position += n;
      }
    },
  });
}

function toStat(name: string, node: Node): FileStat {
  return {
    name,
    type: node.type,
    size: node.type === "file" ? node.size : 0,
    mtime: node.mtime,
    mode: node.mode,
    id: `m${node.id.toString(16)}`,
  };
}

/** Accepts `a/b` or `/a/b` from test code. */
function normalize(path: string): string {
  return resolvePath("/", path);
}
