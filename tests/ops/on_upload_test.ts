import { deepEqual, equal, ok } from "node:assert/strict";
import { EventHub, type TransferEvent } from "../../src/events.ts";
import { UploadHook } from "../../src/ops/on_upload.ts";

const UPLOAD: TransferEvent = {
  type: "transfer",
  session: 3,
  remote: "198.51.100.4",
  user: "carol",
  anonymous: false,
  command: "STOR",
  direction: "in",
  path: "/in/report.csv",
  bytes: 42,
  offset: 0,
  durationMs: 15,
  result: "ok",
  code: 226,
  representation: "binary",
  secure: false,
};

/** A program that records its FTPGATE_ variables, one file per run. */
function recorder(dir: string, body = ""): string {
  const script = `${dir}/record.sh`;
  Deno.writeTextFileSync(
    script,
    `#!/bin/sh\n${body}\nenv | grep '^FTPGATE_' | sort > "$1/run.$$"\n`,
  );
  Deno.chmodSync(script, 0o755);
  return script;
}

function runs(dir: string): Record<string, string>[] {
  return [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("run.")).map((e) => {
    const env: Record<string, string> = {};
    for (const line of Deno.readTextFileSync(`${dir}/${e.name}`).trim().split("\n")) {
      const eq = line.indexOf("=");
      env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return env;
  });
}

Deno.test("UploadHook runs the program once per completed upload with the upload's variables", async () => {
  const dir = await Deno.makeTempDir();
  const events = new EventHub();
  const hook = new UploadHook(events, { command: [recorder(dir), dir] });
  try {
    // A hostile name reaches the program as data in a variable, never through a shell.
    const hostile = `/in/$(touch ${dir}/pwned); touch ${dir}/pwned2 'x'.csv`;
    events.emit(
      {
        ...UPLOAD,
        path: hostile,
        realPath: "/srv/ftp/in/x.csv",
        sha256: "ab".repeat(32),
      } as TransferEvent,
    );
    events.emit({ ...UPLOAD, result: "aborted", code: 426 }); // never for an aborted upload
    events.emit({ ...UPLOAD, result: "failed", code: 451 }); // nor a failed one
    events.emit({ ...UPLOAD, direction: "out", command: "RETR" }); // nor a download
    events.emit({ ...UPLOAD, direction: "list", command: "LIST" });
    await hook.idle();
    const all = runs(dir);
    equal(all.length, 1);
    const env = all[0];
    equal(env.FTPGATE_EVENT, "upload.completed");
    equal(env.FTPGATE_PATH, hostile);
    equal(env.FTPGATE_REAL_PATH, "/srv/ftp/in/x.csv");
    equal(env.FTPGATE_USER, "carol");
    equal(env.FTPGATE_SIZE, "42");
    equal(env.FTPGATE_BYTES, "42");
    equal(env.FTPGATE_OFFSET, "0");
    equal(env.FTPGATE_COMMAND, "STOR");
    equal(env.FTPGATE_REMOTE_ADDRESS, "198.51.100.4");
    equal(env.FTPGATE_SESSION, "3");
    equal(env.FTPGATE_ANONYMOUS, "0");
    equal(env.FTPGATE_SECURE, "0");
    equal(env.FTPGATE_SHA256, "ab".repeat(32));
    ok(!Number.isNaN(Date.parse(env.FTPGATE_TIME)));
    ok(!(await exists(`${dir}/pwned`)) && !(await exists(`${dir}/pwned2`)));
    deepEqual(hook.stats, { ok: 1, failed: 0, timeout: 0, dropped: 0 });
  } finally {
    await hook.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UploadHook: APPE has no FTPGATE_SIZE, REST adds the offset", async () => {
  const dir = await Deno.makeTempDir();
  const events = new EventHub();
  const hook = new UploadHook(events, { command: `${recorder(dir)} '${dir}'`, concurrency: 1 });
  try {
    events.emit({ ...UPLOAD, session: 1, command: "APPE" });
    events.emit({ ...UPLOAD, session: 2, offset: 100 });
    await hook.idle();
    const bySession = Object.fromEntries(runs(dir).map((env) => [env.FTPGATE_SESSION, env]));
    equal(bySession["1"].FTPGATE_SIZE, undefined);
    equal(bySession["2"].FTPGATE_SIZE, "142");
    equal(bySession["2"].FTPGATE_OFFSET, "100");
  } finally {
    await hook.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UploadHook: FTPGATE_SIZE is the stored size the server reports, never the bytes of a TYPE A upload", async () => {
  const dir = await Deno.makeTempDir();
  const events = new EventHub();
  const hook = new UploadHook(events, { command: `${recorder(dir)} '${dir}'`, concurrency: 1 });
  try {
    // TYPE A: 17 bytes on the wire ("one\r\ntwo\r\nthree\r\n"), 14 stored.
    const ascii: TransferEvent = { ...UPLOAD, bytes: 17, representation: "ascii" };
    events.emit({ ...ascii, session: 1, size: 14 } as TransferEvent);
    events.emit({ ...ascii, session: 2 }); // without the stored size: none rather than 17
    // MODE B: 8 framed bytes for 5 stored; the server's size wins over the binary guess.
    events.emit({ ...UPLOAD, session: 3, bytes: 8, size: 5 } as TransferEvent);
    events.emit({ ...UPLOAD, session: 4, command: "APPE", size: 90 } as TransferEvent);
    await hook.idle();
    const bySession = Object.fromEntries(runs(dir).map((env) => [env.FTPGATE_SESSION, env]));
    equal(bySession["1"].FTPGATE_SIZE, "14");
    equal(bySession["2"].FTPGATE_SIZE, undefined);
    equal(bySession["2"].FTPGATE_BYTES, "17");
    equal(bySession["3"].FTPGATE_SIZE, "5");
    equal(bySession["4"].FTPGATE_SIZE, "90");
  } finally {
    await hook.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UploadHook runs at most `concurrency` programs at once and never blocks the emitter", async () => {
  const dir = await Deno.makeTempDir();
  const events = new EventHub();
  const hook = new UploadHook(events, {
    command: [
      recorder(
        dir,
        `echo start $(date +%s%N) >> "$1/times.$$"; sleep 0.3; echo end $(date +%s%N) >> "$1/times.$$"`,
      ),
      dir,
    ],
    concurrency: 2,
  });
  try {
    const started = performance.now();
    for (let i = 1; i <= 5; i++) events.emit({ ...UPLOAD, session: i });
    const emitMs = performance.now() - started;
    ok(emitMs < 20, `emitting 5 uploads took ${emitMs} ms`);
    ok(hook.running <= 2 && hook.queueLength >= 3);
    await hook.idle();
    equal(runs(dir).length, 5);
    const intervals = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("times.")).map(
      (e) => {
        const [start, end] = Deno.readTextFileSync(`${dir}/${e.name}`).trim().split("\n").map((l) =>
          Number(l.split(" ")[1])
        );
        return [start, end];
      },
    );
    let most = 0;
    for (const [start] of intervals) {
      most = Math.max(most, intervals.filter(([s, e]) => s <= start && start < e).length);
    }
    ok(most <= 2, `${most} ran at once`);
  } finally {
    await hook.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UploadHook kills a program after the time-out and counts failures", async () => {
  const dir = await Deno.makeTempDir();
  const events = new EventHub();
  const slow = new UploadHook(events, { command: ["/bin/sleep", "30"], timeoutMs: 200 });
  const failing = new UploadHook(events, { command: ["/bin/sh", "-c", "echo oops >&2; exit 3"] });
  const missing = new UploadHook(events, { command: [`${dir}/no-such-program`] });
  try {
    const started = Date.now();
    events.emit(UPLOAD);
    await Promise.all([slow.idle(), failing.idle(), missing.idle()]);
    ok(Date.now() - started < 3000);
    deepEqual(slow.stats, { ok: 0, failed: 0, timeout: 1, dropped: 0 });
    deepEqual(failing.stats, { ok: 0, failed: 1, timeout: 0, dropped: 0 });
    deepEqual(missing.stats, { ok: 0, failed: 1, timeout: 0, dropped: 0 });
  } finally {
    await Promise.all([slow.close(), failing.close(), missing.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UploadHook drops the oldest waiting upload when its queue is full, and close() ends it", async () => {
  const events = new EventHub();
  const hook = new UploadHook(events, {
    command: ["/bin/sleep", "0.2"],
    concurrency: 1,
    maxQueue: 2,
  });
  for (let i = 1; i <= 5; i++) events.emit({ ...UPLOAD, session: i });
  equal(hook.stats.dropped, 2); // 1 running, 2 waiting, 2 dropped
  await hook.close(0);
  equal(hook.running, 0);
  equal(hook.stats.dropped, 4); // and the 2 still waiting at close
});

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
