/**
 * HASH and the X-commands on an object store: the same streamed read as RETR (a ranged GET for
 * a RANG start), checked against `sha256sum` and `md5sum`. Skipped, loudly, without a gateway.
 */
import { equal } from "node:assert/strict";
import { loginAs } from "../helpers/raw_client.ts";
import { randomBytes } from "../helpers/server.ts";
import { noRgw, serveS3, testBucket } from "./rgw.ts";

async function digest(tool: string, bytes: Uint8Array): Promise<string> {
  const child = new Deno.Command(tool, { args: ["-"], stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  return new TextDecoder().decode((await child.output()).stdout).split(" ")[0];
}

Deno.test({
  name: "HASH, RANG and XMD5 on S3 match sha256sum and md5sum",
  ignore: noRgw,
  fn: async () => {
    await using bucket = await testBucket("hash");
    const bytes = randomBytes(3 * 1024 * 1024 + 17, 5);
    const writer = (await bucket.storage.write("/f.bin")).getWriter();
    await writer.write(bytes);
    await writer.close();
    await using t = serveS3(bucket.storage);
    await using c = await loginAs(t.port, t.user, t.password, t.host);
    equal(
      (await c.expect("HASH f.bin", 213)).text,
      `SHA-256 0-${bytes.length - 1} ${await digest("sha256sum", bytes)} f.bin`,
    );
    await c.expect("RANG 1000 200000", 350);
    equal(
      (await c.expect("HASH f.bin", 213)).text,
      `SHA-256 1000-200000 ${await digest("sha256sum", bytes.subarray(1000, 200001))} f.bin`,
    );
    equal((await c.expect("XMD5 f.bin", 250)).text, await digest("md5sum", bytes));
    await c.expect("HASH missing.bin", 550);
  },
});
