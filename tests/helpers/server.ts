/**
 * Starts a real ftpgate server on 127.0.0.1:0 with a temporary root, for one test.
 *
 * @module
 */

import { type FtpServer, serve, type ServeOptions } from "../../src/mod.ts";

/** A running test server and its root directory. */
export interface TestServer extends AsyncDisposable {
  server: FtpServer;
  /** Real path of the served directory (removed on dispose). */
  root: string;
  port: number;
  host: string;
  user: string;
  password: string;
}

/** The default test user. */
export const USER = "tester";
/** The default test user's password. */
export const PASSWORD = "s3cret pass";

/**
 * Serves a fresh temporary directory (seeded with `files`) with one read-write user.
 * `await using` it: the server stops and the directory is removed at the end of the scope.
 */
export function startServer(
  options: ServeOptions & { files?: Record<string, string | Uint8Array> } = {},
): TestServer {
  const root = Deno.makeTempDirSync({ prefix: "ftpgate-test-" });
  for (const [path, content] of Object.entries(options.files ?? {})) {
    const full = `${root}/${path}`;
    Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") Deno.writeTextFileSync(full, content);
    else Deno.writeFileSync(full, content);
  }
  const { files: _files, ...serveOptions } = options;
  const server = serve({
    root,
    users: [{ name: USER, password: PASSWORD }],
    ...serveOptions,
  });
  return {
    server,
    root: Deno.realPathSync(root),
    port: server.addr.port,
    host: server.addr.hostname,
    user: USER,
    password: PASSWORD,
    async [Symbol.asyncDispose]() {
      await server.shutdown({ graceMs: 0 });
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

/** `size` random bytes (deterministic for a given seed). */
export function randomBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    // xorshift32: fast, reproducible, good enough to catch any byte out of place
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Joins byte chunks. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
