/**
 * A throwaway FTP server for a test: one call, a known user, files seeded, everything removed at
 * the end of the scope.
 *
 * ```ts
 * import { startTestServer } from "./testing.ts";
 *
 * await using ftp = startTestServer({ files: { "in/hello.txt": "hi" } });
 * // ... point the client under test at ftp.url (ftp://test:test@127.0.0.1:PORT/) ...
 * ```
 *
 * @module
 */

import "./tls/mod.ts"; // a test server can be asked for TLS
import type { UserConfig } from "./identity/static.ts";
import type { ServeOptions } from "./options.ts";
import { type FtpServer, serve } from "./server.ts";
import { MemoryStorage } from "./storage/memory.ts";
import type { Storage } from "./storage/storage.ts";
import { resolvePath } from "./storage/vpath.ts";

/** Options for {@linkcode startTestServer}. */
export interface TestServerOptions extends Omit<ServeOptions, "root" | "users"> {
  /**
   * A directory of your own to serve instead of a fresh temporary one (it is seeded with
   * `files` too, and left in place at the end).
   */
  root?: string;
  /** Files to create before the first client connects: path → text or bytes (disk and memory). */
  files?: Record<string, string | Uint8Array>;
  /** Users; default one read-write user `test` with password `test`. */
  users?: UserConfig[];
  /**
   * Where files live: `"disk"` (default, a temporary directory), `"memory"` (no disk, no
   * permissions needed), or a {@linkcode Storage} of your own.
   */
  storage?: "disk" | "memory" | Storage;
}

/** A running test server. */
export interface TestServer extends AsyncDisposable {
  /** `ftp://user:password@127.0.0.1:PORT/` */
  url: string;
  /** The first user's name. */
  user: string;
  /** The first user's password. */
  password: string;
  /** The temporary directory served, or undefined for memory and custom storage. */
  root: string | undefined;
  /** Where the server listens. */
  addr: Deno.NetAddr;
  /** The address, as a host name for clients (`127.0.0.1`). */
  host: string;
  /** The port. */
  port: number;
  /** The server itself (transcript, shutdown, session count). */
  server: FtpServer;
  /** The storage behind it. */
  storage: Storage;
  /** Bytes of a file, e.g. what a client uploaded. */
  readFile(path: string): Promise<Uint8Array>;
  /** A file's text (UTF-8). */
  readText(path: string): Promise<string>;
  /** True when the path exists. */
  exists(path: string): Promise<boolean>;
  /** Every file path under the root, sorted: `["/a.txt", "/dir/b.bin"]`. */
  list(): Promise<string[]>;
}

const DEFAULT_USER: UserConfig = { name: "test", password: "test" };

/**
 * Starts a server on 127.0.0.1 on a free port. It is listening when this returns.
 *
 * @example Check what a client uploaded
 * ```ts
 * import { startTestServer } from "./testing.ts";
 *
 * await using ftp = startTestServer({ storage: "memory" });
 * // ... the code under test uploads report.csv to ftp.url ...
 * const uploaded = await ftp.exists("/report.csv"); // false until it does
 * ```
 */
export function startTestServer(options: TestServerOptions = {}): TestServer {
  const {
    files = {},
    users = [DEFAULT_USER],
    storage: where = "disk",
    root: ownRoot,
    ...serveOptions
  } = options;
  let root: string | undefined;
  let storage: Storage;
  if (where === "disk") {
    root = ownRoot ?? Deno.makeTempDirSync({ prefix: "ftpgate-" });
    for (const [path, content] of Object.entries(files)) {
      const full = root + resolvePath("/", path);
      Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      if (typeof content === "string") Deno.writeTextFileSync(full, content);
      else Deno.writeFileSync(full, content);
    }
    root = Deno.realPathSync(root);
  }
  if (where === "memory") storage = MemoryStorage.from(files);
  else if (where !== "disk") {
    // startTestServer is synchronous; a Storage of your own is seeded by you, before or after.
    if (Object.keys(files).length > 0) throw new TypeError("files: seed a custom storage yourself");
    storage = where;
  }
  let server: FtpServer;
  try {
    server = serve({
      hostname: "127.0.0.1",
      port: 0,
      ...serveOptions,
      root: root ?? storage!,
      users,
    });
  } catch (error) {
    if (root && ownRoot === undefined) Deno.removeSync(root, { recursive: true });
    throw error;
  }
  storage = server.storage;
  const readFile = async (path: string) => {
    const { readable } = await storage.read(resolvePath("/", path));
    return new Uint8Array(await new Response(readable).arrayBuffer());
  };
  return {
    url: server.url,
    user: users[0]?.name ?? "anonymous",
    password: users[0]?.password ?? "",
    root,
    addr: server.addr,
    host: server.addr.hostname,
    port: server.addr.port,
    server,
    storage,
    readFile,
    readText: async (path) => new TextDecoder().decode(await readFile(path)),
    exists: (path) => storage.stat(resolvePath("/", path)).then(() => true, () => false),
    list: () => listFiles(storage, "/"),
    async [Symbol.asyncDispose]() {
      await server.shutdown({ graceMs: 0 });
      if (root && ownRoot === undefined) {
        await Deno.remove(root, { recursive: true }).catch(() => {});
      }
    },
  };
}

async function listFiles(storage: Storage, dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of storage.list(dir)) {
    const path = dir === "/" ? `/${entry.name}` : `${dir}/${entry.name}`;
    if (entry.type === "dir") out.push(...await listFiles(storage, path));
    else out.push(path);
  }
  return out.sort();
}
