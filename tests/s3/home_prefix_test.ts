/**
 * On the real S3 server (Ceph RGW, scripts/s3_test_server.sh): a user's home with a `..`
 * segment does not take the session out of the user's key prefix. The home is normalised at
 * login, and the key mapping refuses dot segments whatever reaches it (a request URL's dot
 * segments are resolved by URL parsing).
 */
import { equal, match } from "node:assert/strict";
import { serve } from "../../src/mod.ts";
import { openS3Storage } from "../../src/storage/s3/mod.ts";
import { noRgw, rgw, rgwSettings, testBucket } from "./rgw.ts";
import { RawClient } from "../helpers/raw_client.ts";

Deno.test({
  name: "S3: a home of '/../bob' does not let alice read bob's keys beside her prefix",
  ignore: noRgw,
  async fn() {
    await using bucket = await testBucket("home-prefix");
    await bucket.storage.mkdir("/bob");
    const sink = await bucket.storage.write("/bob/secret.txt");
    const writer = sink.getWriter();
    await writer.write(new TextEncoder().encode("bob's secret"));
    await writer.close();
    await bucket.storage.mkdir("/alice");
    await using alice = await openS3Storage(
      `s3://${rgw!.bucket}/${bucket.prefix}alice/`,
      rgwSettings(),
    );
    // The storage itself refuses the path the home would have made.
    await alice.stat("/../bob/secret.txt").then(
      () => {
        throw new Error("stat of /../bob/secret.txt succeeded");
      },
      (error: unknown) => equal((error as { kind?: string }).kind, "invalid-name"),
    );
    await using server = serve({
      root: alice,
      loginFailureDelayMs: 0,
      users: [{ name: "alice", password: "pw", home: "/../bob" }],
    });
    await using c = await RawClient.connect(server.addr.port);
    await c.login("alice", "pw");
    await c.expect("TYPE I", 200);
    match((await c.command("PWD")).text, /^"\/bob" /);
    const data = await c.epsv();
    const reply = await c.command("RETR secret.txt");
    let got = "";
    if (reply.code === 150) {
      const buffer = new Uint8Array(1024);
      const n = await data.read(buffer);
      got = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
      await c.read();
    }
    data.close();
    equal(got, "", `alice read a key outside her prefix: ${reply.lines.join(" | ")}`);
    equal(reply.code, 550, reply.lines.join(" | "));
  },
});
