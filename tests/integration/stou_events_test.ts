/**
 * What the transfer event of a STOU names (the upload hook, the webhook and the transfer log
 * all read it): the unique file STOU stored, not the name it was asked for.
 */
import { equal, match } from "node:assert/strict";
import { attachOps } from "../../src/ops/mod.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { startServer } from "../helpers/server.ts";

const encoder = new TextEncoder();

Deno.test("upload hook: STOU reports the unique name it stored, not the name it was asked for", async () => {
  const out = Deno.makeTempFileSync({ prefix: "ftpgate-stou-hook-" });
  try {
    await using t = startServer({ files: { "report.txt": "old" } });
    const ops = await attachOps(t.server, {
      onUpload: { command: ["sh", "-c", `printf '%s\\n' "$FTPGATE_PATH" >> ${out}`] },
    });
    try {
      await using c = await RawClient.connect(t.port);
      await c.login(t.user, t.password);
      await c.expect("TYPE I", 200);
      const reply = await c.upload("STOU report.txt", encoder.encode("new"));
      match(reply.text, /report\.txt\.1/);
      const deadline = Date.now() + 5000;
      while (Deno.readTextFileSync(out) === "" && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await ops.close();
    }
    equal(Deno.readTextFileSync(out).trim(), "/report.txt.1");
    equal(Deno.readTextFileSync(`${t.root}/report.txt`), "old");
  } finally {
    Deno.removeSync(out);
  }
});

Deno.test("the transfer event of a STOU names the stored file; a plain STOR keeps its own", async () => {
  await using t = startServer({ files: { "a.txt": "old" } });
  const paths: string[] = [];
  const unsubscribe = t.server.events.on((event) => {
    if (event.type === "transfer" && event.direction === "in") {
      paths.push(`${event.command} ${event.path}`);
    }
  });
  try {
    await using c = await RawClient.connect(t.port);
    await c.login(t.user, t.password);
    await c.expect("TYPE I", 200);
    await c.upload("STOU a.txt", encoder.encode("1"));
    await c.upload("STOU a.txt", encoder.encode("2"));
    await c.upload("STOR b.txt", encoder.encode("3"));
    await c.expect("NOOP", 200);
  } finally {
    unsubscribe();
  }
  equal(paths.join(", "), "STOU /a.txt.1, STOU /a.txt.2, STOR /b.txt");
});
