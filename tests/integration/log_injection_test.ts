/**
 * Log injection: what a client sends (user names, paths) reaches the operator's terminal and log
 * files only escaped. A real server (`deno run main.ts`) in each log format, hostile commands over
 * a raw socket, and its whole stderr checked byte by byte.
 */

import { equal, ok } from "node:assert/strict";
import { memoryCliLog } from "../helpers/cli_helpers.ts";
import { RawClient, writeAllAndClose } from "../helpers/raw_client.ts";

/** ESC [2J clears the screen, ESC [H homes the cursor, ESC ]0; sets the window title. */
const CLEAR = "\x1b[2J\x1b[H";
const HOSTILE_USER = `${CLEAR}evil\x7f\u009b31m\u202e\u2028x`;
const HOSTILE_PATH = "\x1b]0;pwned\x07\u0085name\x1b[8m.txt";

/** Bytes that must never be written raw: C0 controls but LF, DEL, and C1 controls (as UTF-8). */
function rawControls(bytes: Uint8Array): string[] {
  const found: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if ((byte < 0x20 && byte !== 0x0a) || byte === 0x7f) found.push(`0x${byte.toString(16)}@${i}`);
    // U+0080–U+009F encode as C2 80–C2 9F; U+2028/2029 and U+202A–202E as E2 80 A8–AE.
    if (byte === 0xc2 && bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x9f) found.push(`C1@${i}`);
    if (byte === 0xe2 && bytes[i + 1] === 0x80 && bytes[i + 2] >= 0xa8 && bytes[i + 2] <= 0xae) {
      found.push(`U+20${bytes[i + 2].toString(16)}@${i}`);
    }
  }
  return found;
}

/** Runs the hostile session against a server logging in `format`; returns its stderr bytes. */
function hostileSessionLog(format: "text" | "json"): Promise<string> {
  return memoryCliLog("alice:right", ["--log-format", format], async (port) => {
    await using raw = await RawClient.connect(port);
    await raw.expect(`USER ${HOSTILE_USER}`, 331);
    await raw.expect("PASS wrong", 530);
    // Invalid UTF-8, and a surrogate encoded as UTF-8 (CESU): refused, and no broken record.
    for (const bytes of [[0xff, 0xfe, 0x1b], [0xed, 0xa0, 0x80], [0xc0, 0x80]]) {
      await raw.sendRaw(new Uint8Array([...new TextEncoder().encode("USER "), ...bytes, 13, 10]));
      equal((await raw.read()).code, 501);
    }
    await raw.login("alice", "right");
    await raw.expect("TYPE I", 200);
    const data = await raw.epsv();
    await raw.expect(`STOR ${HOSTILE_PATH}`, 150);
    await writeAllAndClose(data, new TextEncoder().encode("payload"));
    equal((await raw.read()).code, 226);
    await raw.expect("QUIT", 221);
  });
}

Deno.test("--log-format text escapes control characters in user names and paths", async () => {
  const log = await hostileSessionLog("text");
  const bytes = new TextEncoder().encode(log);
  equal(rawControls(bytes).join(" "), "", log);
  ok(
    log.includes(
      'Login failed from 127.0.0.1: user "\\x1b[2J\\x1b[Hevil\\x7f\\x9b31m\\u202e\\u2028x"',
    ),
    log,
  );
  ok(log.includes('"/\\x1b]0;pwned\\x07\\x85name\\x1b[8m.txt"'), `the path, escaped:\n${log}`);
  for (const line of log.trimEnd().split("\n")) {
    ok(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[(DBG|INF|WRN|ERR)\] ftpgate\.\w+: /.test(line), line);
  }
});

Deno.test("--log-format json stays valid JSON lines with hostile user names and paths", async () => {
  const log = await hostileSessionLog("json");
  equal(rawControls(new TextEncoder().encode(log)).join(" "), "", log);
  const records = log.trimEnd().split("\n").map((line) => JSON.parse(line));
  const failed = records.find((record) => record.message.startsWith("Login failed"));
  equal(failed?.properties.user, HOSTILE_USER, "the raw value survives, JSON-escaped");
  // The session's number comes after the user name (log.ts adds it; the prefix stays fixed).
  equal(
    failed?.message,
    'Login failed from 127.0.0.1: user "\\x1b[2J\\x1b[Hevil\\x7f\\x9b31m\\u202e\\u2028x" ' +
      `[session=${failed?.properties.session}]`,
  );
  const stored = records.find((record) => record.logger === "ftpgate.transfer");
  equal(stored?.properties.path, `/${HOSTILE_PATH}`);
});
