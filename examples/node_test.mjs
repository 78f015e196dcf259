// Testing FTP client code from Node with ftpgate as a throwaway server. No npm install needed:
// node:test, node:assert, node:child_process and node:net only. Run:
//
//     node --test examples/node_test.mjs
//
// With Vitest it is the same code; only the first import changes:
//
//     import { afterAll as after, beforeAll as before, test } from "vitest";

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createConnection } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** @type {import("node:child_process").ChildProcess} */
let server;
/** The JSON ready line: { event, url, host, port, pid, user, password }. */
let ready;

before(async () => {
  server = spawn("deno", [
    "run",
    "-A",
    MAIN,
    "--root",
    "memory:",
    "--port",
    "0",
    "--user",
    "random",
    "--ready-file",
    "-",
    // If this test process dies, the server sees its stdin close and exits too.
    "--stdin-lifeline",
  ], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: server.stdout });
  const timeout = AbortSignal.timeout(15_000);
  const [line] = await Promise.race([
    once(lines, "line", { signal: timeout }),
    once(server, "exit").then(([code]) => {
      throw new Error(`ftpgate exited with ${code} before it was ready`);
    }),
  ]);
  lines.close();
  server.stdout.resume(); // keep draining stdout so the server never blocks on a full pipe
  ready = JSON.parse(line);
});

after(async () => {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = once(server, "exit");
  server.stdin.end(); // --stdin-lifeline: a closed stdin shuts the server down cleanly
  const timer = setTimeout(() => server.kill("SIGKILL"), 5_000);
  const [code] = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, "ftpgate exits 0 when its stdin closes");
});

/** A minimal FTP control connection: `send(line)` resolves with the next complete reply. */
async function connect(host, port) {
  const socket = createConnection({ host, port });
  socket.setEncoding("utf8");
  socket.setTimeout(10_000, () => socket.destroy(new Error("FTP server timed out")));
  let buffer = "";
  let waiting = null;
  const tryResolve = () => {
    // "NNN text" is a whole reply; "NNN-text" opens a multi-line one that ends with a line
    // "NNN text" (RFC 959 §4.2).
    const first = /^(\d{3})([ -])[^\r\n]*\r\n/.exec(buffer);
    if (!waiting || !first) return;
    let end = first[0].length;
    if (first[2] === "-") {
      const last = new RegExp(`\\r\\n${first[1]} [^\\r\\n]*\\r\\n`).exec(buffer);
      if (!last) return;
      end = last.index + last[0].length;
    }
    const text = buffer.slice(0, end).trimEnd();
    buffer = buffer.slice(end);
    const { resolve } = waiting;
    waiting = null;
    resolve({ code: Number(first[1]), text });
  };
  socket.on("data", (chunk) => {
    buffer += chunk;
    tryResolve();
  });
  socket.on("error", (error) => waiting?.reject(error));
  socket.on("close", () => waiting?.reject(new Error("connection closed")));
  const next = () =>
    new Promise((resolve, reject) => {
      waiting = { resolve, reject };
      tryResolve();
    });
  await once(socket, "connect");
  return {
    greeting: await next(),
    send(line) {
      socket.write(line + "\r\n");
      return next();
    },
    close: () => socket.destroy(),
  };
}

test("log in and print the working directory", async () => {
  assert.equal(ready.event, "ready");
  assert.match(ready.url, /^ftp:\/\/[^:]+:[^@]+@127\.0\.0\.1:\d+\/$/);
  const ftp = await connect(ready.host, ready.port);
  try {
    assert.equal(ftp.greeting.code, 220);
    assert.equal((await ftp.send(`USER ${ready.user}`)).code, 331);
    assert.equal((await ftp.send(`PASS ${ready.password}`)).code, 230);
    const pwd = await ftp.send("PWD");
    assert.equal(pwd.code, 257);
    assert.match(pwd.text, /^257 "\/"/);
    const feat = await ftp.send("FEAT");
    assert.equal(feat.code, 211);
    assert.match(feat.text, /\r\n EPSV\r\n/);
    assert.equal((await ftp.send("QUIT")).code, 221);
  } finally {
    ftp.close();
  }
});
