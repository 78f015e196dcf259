/**
 * Starts a real ftpgate server on 127.0.0.1:0 with a temporary root, for one test: the shipped
 * `startTestServer` (src/testing.ts) with this suite's default user.
 *
 * @module
 */

import type { ServeOptions } from "../../src/mod.ts";
import { startTestServer, type TestServer as ShippedTestServer } from "../../src/testing.ts";

/** A running test server and its root directory. */
export interface TestServer extends AsyncDisposable {
  server: ShippedTestServer["server"];
  /** Real path of the served directory (removed on dispose unless it was given). */
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
 * Serves a fresh temporary directory (seeded with `files`) with one read-write user, or `root`
 * when given. `await using` it: the server stops and the directory is removed at the end.
 */
export function startServer(
  options: Omit<ServeOptions, "root"> & {
    root?: string;
    files?: Record<string, string | Uint8Array>;
  } = {},
): TestServer {
  const test = startTestServer({
    users: [{ name: USER, password: PASSWORD }],
    ...options,
    storage: "disk",
  });
  return {
    server: test.server,
    root: test.root!,
    port: test.port,
    host: test.host,
    user: USER,
    password: PASSWORD,
    [Symbol.asyncDispose]: () => test[Symbol.asyncDispose](),
  };
}

/**
 * A {@linkcode TestServer} view of a server the test started itself, for one of its users (the
 * client helpers take a TestServer). Disposing it does nothing: the test stops the server.
 */
export function testServerAs(
  server: ShippedTestServer["server"],
  root: string,
  user: string,
  password: string,
): TestServer {
  return {
    server,
    root,
    port: server.addr.port,
    host: server.addr.hostname,
    user,
    password,
    [Symbol.asyncDispose]: () => Promise.resolve(),
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
