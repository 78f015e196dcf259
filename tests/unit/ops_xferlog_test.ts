import { deepEqual, equal, ok } from "node:assert/strict";
import { EventHub, type TransferEvent } from "../../src/events.ts";
import {
  ctime,
  formatTransferJson,
  formatXferlog,
  TransferLog,
  xferlogField,
} from "../../src/ops/xferlog.ts";

const UPLOAD: TransferEvent = {
  type: "transfer",
  session: 7,
  remote: "203.0.113.9",
  user: "alice",
  anonymous: false,
  command: "STOR",
  direction: "in",
  path: "/in/quarterly report.pdf",
  bytes: 1_048_576,
  offset: 0,
  durationMs: 2600,
  result: "ok",
  code: 226,
  representation: "binary",
  secure: true,
};
const AT = new Date(Date.UTC(2026, 0, 5, 7, 8, 9)); // a Monday, single-digit day

Deno.test("formatXferlog() writes the 18 whitespace-separated xferlog fields", () => {
  const line = formatXferlog(UPLOAD, { now: AT, utc: true })!;
  ok(line.endsWith("\n"));
  ok(!line.slice(0, -1).includes("\n"));
  // ctime pads the day with a space, so split on single spaces: the date is fields 1-6 then.
  equal(line.slice(0, 24), "Mon Jan  5 07:08:09 2026");
  const fields = line.slice(25, -1).split(" ");
  deepEqual(fields, [
    "3", // transfer-time: 2.6 s rounded
    "203.0.113.9", // remote-host
    "1048576", // file-size: bytes transferred
    "/in/quarterly_report.pdf", // filename: spaces become _
    "b", // transfer-type
    "_", // special-action-flag
    "i", // direction
    "r", // access-mode
    "alice", // username
    "ftp", // service-name
    "0", // authentication-method
    "*", // authenticated-user-id
    "c", // completion-status
  ]);
  // What log analysers do: split on runs of white space, 18 fields.
  equal(line.trim().split(/\s+/).length, 18);
});

Deno.test("formatXferlog() marks downloads, ASCII, anonymous users and incomplete transfers", () => {
  const line = formatXferlog({
    ...UPLOAD,
    command: "RETR",
    direction: "out",
    representation: "ascii",
    anonymous: true,
    user: "anonymous",
    result: "aborted",
    durationMs: 10,
  }, { now: AT, utc: true })!;
  const f = line.trim().split(/\s+/);
  equal(f[5], "1"); // at least one second, like vsftpd
  equal(f[9], "a");
  equal(f[11], "o");
  equal(f[12], "a");
  equal(f[13], "anonymous");
  equal(f[17], "i");
  equal(formatXferlog({ ...UPLOAD, direction: "list", command: "LIST" }), null);
});

Deno.test("formatXferlog() keeps a hostile file name in one field on one line", () => {
  const hostile =
    "/<img src=x onerror=alert(1)>\r\nFri Jan  1 00:00:00 2027 1 6.6.6.6 0 /forged b _ i r root ftp 0 * c\tx\u2028y\u0085z\u0000";
  const line = formatXferlog({ ...UPLOAD, path: hostile, user: "bad user\n" }, {
    now: AT,
    utc: true,
  })!;
  equal(line.split("\n").length, 2); // one line plus the final empty string
  const fields = line.trim().split(/\s+/);
  equal(fields.length, 18);
  equal(fields[8].startsWith("/<img_src=x_onerror=alert(1)>__Fri_Jan__1"), true);
  equal(fields[13], "bad_user_");
});

Deno.test("xferlogField() and ctime() edge cases", () => {
  equal(xferlogField(""), "*");
  equal(xferlogField("a b\tc"), "a_b_c");
  equal(xferlogField("é/ü"), "é/ü"); // UTF-8 is kept
  equal(ctime(new Date(Date.UTC(2026, 11, 31, 23, 59, 59)), true), "Thu Dec 31 23:59:59 2026");
  // Local time follows TZ (the default, as wu-ftpd and proftpd write it).
  const local = ctime(AT);
  equal(local.length, 24);
});

Deno.test("formatTransferJson() writes one JSON object per line with stable keys", () => {
  const line = formatTransferJson({ ...UPLOAD, path: "/a\nb\u2028c" }, { now: AT })!;
  equal(line.indexOf("\n"), line.length - 1);
  deepEqual(JSON.parse(line), {
    time: "2026-01-05T07:08:09.000Z",
    session: 7,
    remote: "203.0.113.9",
    user: "alice",
    anonymous: false,
    command: "STOR",
    direction: "in",
    path: "/a\nb\u2028c",
    bytes: 1_048_576,
    offset: 0,
    duration_ms: 2600,
    result: "ok",
    code: 226,
    type: "binary",
    secure: true,
  });
});

Deno.test("TransferLog writes lines and reopens after logrotate moved the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/xferlog`;
    const events = new EventHub();
    const log = await TransferLog.open(events, { path, utc: true });
    events.emit(UPLOAD);
    events.emit({ ...UPLOAD, direction: "list", command: "LIST" }); // not logged
    events.emit({
      type: "login",
      session: 1,
      remote: "x",
      user: "u",
      ok: true,
      anonymous: false,
      secure: false,
    });
    await log.flushed();
    await Deno.rename(path, `${path}.1`); // logrotate
    events.emit({ ...UPLOAD, path: "/second" });
    await log.flushed();
    await log.reopen(); // SIGHUP
    events.emit({ ...UPLOAD, path: "/third" });
    await log.close();
    events.emit({ ...UPLOAD, path: "/after-close" });
    const rotated = (await Deno.readTextFile(`${path}.1`)).trim().split("\n");
    const fresh = (await Deno.readTextFile(path)).trim().split("\n");
    equal(rotated.length, 2);
    ok(rotated[0].includes(" /in/quarterly_report.pdf "));
    ok(rotated[1].includes(" /second ")); // written to the moved file before the reopen
    deepEqual(fresh.map((l) => l.split(/\s+/)[8]), ["/third"]);
    equal(log.lost, 0);
    const mode = (await Deno.stat(path)).mode! & 0o777;
    equal(mode & 0o007, 0); // not world-readable
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TransferLog in JSON format", async () => {
  const path = await Deno.makeTempFile();
  try {
    const events = new EventHub();
    const log = await TransferLog.open(events, { path, format: "json" });
    events.emit(UPLOAD);
    events.emit({ ...UPLOAD, result: "failed", code: 451 });
    await log.close();
    const records = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
    deepEqual(records.map((r) => r.result), ["ok", "failed"]);
  } finally {
    await Deno.remove(path);
  }
});
