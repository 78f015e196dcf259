/**
 * What the upload hook (and the transfer event the webhook and the transfer log read) is told
 * about the size of an upload: the stored file's size, whatever crossed the wire.
 */
import { equal } from "node:assert/strict";
import { attachOps } from "../../src/ops/mod.ts";
import { RawClient, writeAllAndClose } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";

const encoder = new TextEncoder();

/** A server with an upload hook that appends "PATH SIZE" to a file; returns the lines. */
async function withHook(
  files: Record<string, string>,
  run: (c: RawClient) => Promise<void>,
  uploads = 1,
): Promise<string[]> {
  const out = Deno.makeTempFileSync({ prefix: "ftpgate-hook-size-" });
  try {
    await using t = startServer({ files });
    const ops = await attachOps(t.server, {
      onUpload: {
        command: ["sh", "-c", `printf '%s %s\\n' "$FTPGATE_PATH" "$FTPGATE_SIZE" >> ${out}`],
        concurrency: 1,
      },
    });
    try {
      await using c = await RawClient.connect(t.port);
      await c.login(t.user, t.password);
      await run(c);
      const deadline = Date.now() + 5000;
      while (lines(out).length < uploads && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await ops.close();
    }
    return lines(out);
  } finally {
    Deno.removeSync(out);
  }
}

function lines(file: string): string[] {
  const text = Deno.readTextFileSync(file).replace(/\n$/, "");
  return text === "" ? [] : text.split("\n");
}

Deno.test("upload hook: FTPGATE_SIZE of a TYPE A upload is the stored size, not the bytes on the wire", async () => {
  const found = await withHook({}, async (c) => {
    await c.expect("TYPE A", 200);
    await c.upload("STOR lines.txt", encoder.encode("one\r\ntwo\r\nthree\r\n"));
  });
  // Stored as "one\ntwo\nthree\n": 14 bytes; 17 crossed the wire.
  equal(found[0], "/lines.txt 14");
});

Deno.test("upload hook: FTPGATE_SIZE of a MODE B upload is the stored size, not the framed bytes", async () => {
  const found = await withHook({}, async (c) => {
    await c.expect("TYPE I", 200);
    await c.expect("MODE B", 200);
    const data = await c.epsv();
    await c.expect("STOR block.bin", 150);
    // One EOF block of 5 bytes: 8 bytes on the wire.
    await writeAllAndClose(data, new Uint8Array([64, 0, 5, 1, 2, 3, 4, 5]));
    equal((await c.read()).code, 250);
  });
  equal(found[0], "/block.bin 5");
});

Deno.test("upload hook: FTPGATE_SIZE after REST is the whole file's, and absent after APPE", async () => {
  const found = await withHook({ "r.bin": "0123456789", "a.bin": "abc" }, async (c) => {
    await c.expect("TYPE I", 200);
    await c.expect("REST 4", 350);
    await c.upload("STOR r.bin", encoder.encode("xyz"));
    await c.upload("APPE a.bin", encoder.encode("def"));
  }, 2);
  equal(found.join(","), "/r.bin 7,/a.bin ");
});
