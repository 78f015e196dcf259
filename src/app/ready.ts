/**
 * The ready line: what scripts and test harnesses wait for. Plain text (`ftp://… [ftps://…]
 * [sha256=…] [http://…]`, the URL first) or, with `--ready-file`, one JSON line printed and
 * written to a file whole or not at all, readable by its owner only (it may hold a password),
 * and removed at exit.
 *
 * @module
 */

import { connectableHost } from "../server.ts";
import type { App } from "./start.ts";

/** Writes a line to stdout through the event loop, so that a client already waiting is served first. */
async function sayAsync(line: string): Promise<void> {
  const bytes = new TextEncoder().encode(line + "\n");
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
}

/**
 * The JSON ready line for --ready-file: what a test harness in any language needs. Without
 * `withPassword` the user is named but the password left out: that is the copy printed on
 * stdout beside a ready file, since stdout goes to the journal or `docker logs`.
 */
export function readyJson(app: App, { withPassword = true } = {}): string {
  const { server, ops } = app;
  const user = app.settings.readyUser;
  // Not server.url: that holds the first user's password, which may be a config file's secret.
  const credentials = user
    ? `${encodeURIComponent(user.name)}${
      withPassword ? `:${encodeURIComponent(user.password)}` : ""
    }@`
    : "";
  return JSON.stringify({
    event: "ready",
    url: `ftp://${credentials}${connectableHost(server.addr.hostname)}:${server.addr.port}/`,
    host: connectableHost(server.addr.hostname).replace(/^\[|\]$/g, ""),
    port: server.addr.port,
    pid: Deno.pid,
    ...(user ? { user: user.name } : {}),
    ...(user && withPassword ? { password: user.password } : {}),
    ...(server.implicitTlsAddr ? { implicitTlsPort: server.implicitTlsAddr.port } : {}),
    ...(server.tlsFingerprint ? { tlsFingerprint: server.tlsFingerprint } : {}),
    ...(ops?.http ? { httpUrl: ops.http.url, httpPort: ops.http.addr.port } : {}),
  });
}

let readyFileWritten: { path: string; text: string } | undefined;

/**
 * Writes the ready file whole or not at all (a reader polling for it never sees half a line),
 * readable by its owner only: it holds a password. The temporary file beside it is made new
 * (never a file or symlink someone left there) and has a fixed name, so that `deno task start`
 * can grant exactly these two paths.
 */
function writeReadyFile(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  try {
    Deno.removeSync(temporary);
  } catch { /* none left over */ }
  Deno.writeTextFileSync(temporary, text, { createNew: true, mode: 0o600 });
  Deno.renameSync(temporary, path);
  readyFileWritten = { path, text };
}

/** Removes the ready file on the way out, unless another process has replaced it meanwhile. */
export function removeReadyFile(): void {
  if (readyFileWritten === undefined) return;
  const { path, text } = readyFileWritten;
  readyFileWritten = undefined;
  try {
    if (Deno.readTextFileSync(path) === text) Deno.removeSync(path);
  } catch { /* gone already */ }
}

/** Prints the ready line (and writes the ready file). */
export async function announce(app: App): Promise<void> {
  const { server, ops } = app;
  const readyFile = app.settings.run.readyFile;
  if (readyFile !== undefined) {
    // `--ready-file -` asks for the secret on stdout; beside a file, stdout gets the line
    // without it (the file is 0600, stdout may be a log anyone in group adm reads).
    if (readyFile === "-") return await sayAsync(readyJson(app));
    writeReadyFile(readyFile, readyJson(app) + "\n");
    return await sayAsync(readyJson(app, { withPassword: false }));
  }
  // Scripts take the URL from the first word. A random user's password is told nowhere else,
  // so its credentials are in the URL.
  const random = app.settings.randomUser;
  const credentials = random
    ? `${encodeURIComponent(random.name)}:${encodeURIComponent(random.password)}@`
    : "";
  const words = [
    `ftp://${credentials}${connectableHost(server.addr.hostname)}:${server.addr.port}/`,
  ];
  if (server.implicitTlsAddr) {
    words.push(
      `ftps://${connectableHost(server.implicitTlsAddr.hostname)}:${server.implicitTlsAddr.port}/`,
    );
  }
  if (server.tlsFingerprint) words.push(`sha256=${server.tlsFingerprint}`);
  if (ops?.http) words.push(ops.http.url);
  await sayAsync(words.join(" "));
}
