/**
 * `--root s3://BUCKET/PREFIX` through the real command line, against the Ceph RADOS Gateway
 * of scripts/s3_test_server.sh (skipped, loudly, when it cannot run here): bytes uploaded over
 * FTP read back through the S3 API, a user root in the bucket from a config file, /readyz
 * probing the bucket, S3 faults from --fault, and a missing bucket failing the start.
 */

import { equal, match, ok } from "node:assert/strict";
import {
  type CliProcess,
  connectFtp,
  downloadText,
  downloadTextAs,
  REPO,
  startCli,
  stopCli,
  uploadBytes,
} from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { noRgw, rgw, s3Get, testBucket } from "../s3/rgw.ts";

/** The AWS_* variables for the gateway: credentials never go on the command line. */
function awsEnv(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: rgw!.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
  };
}

/**
 * ftpgate serving `root` through the gateway (`--root ROOT --s3-endpoint ENDPOINT`, then `extra`,
 * then `--port 0 --ready-file -`), with the credentials in its environment.
 */
function startS3Cli(root: string, extra: string[]): CliProcess {
  return startCli([
    "--root",
    root,
    "--s3-endpoint",
    rgw!.endpoint,
    ...extra,
    "--port",
    "0",
    "--ready-file",
    "-",
  ], { env: awsEnv() });
}

Deno.test({
  name: "--root s3:// serves the bucket: FTP uploads read back through S3, /readyz probes it",
  ignore: noRgw,
  async fn() {
    await using bucket = await testBucket("cli root");
    const root = `s3://${rgw!.bucket}/${bucket.prefix}`;
    await using cli = startS3Cli(root, [
      "--s3-region",
      rgw!.region,
      "--s3-part-size",
      "5",
      "--user",
      "u:p",
      "--http-port",
      "0",
    ]);
    const line = await cli.ready() as Awaited<ReturnType<typeof cli.ready>> & { httpUrl: string };
    const big = crypto.getRandomValues(new Uint8Array(65536));
    const payload = new Uint8Array(6 * 1024 * 1024); // above one 5 MiB part: a multipart upload
    for (let i = 0; i < payload.length; i += big.length) payload.set(big, i);
    {
      await using client = await connectFtp(line.url);
      await client.ensureDir("/in");
      await uploadBytes(client, "/in/hello.txt", "hello, bucket");
      await uploadBytes(client, "/in/big.bin", payload);
      equal(await downloadText(client, "/in/hello.txt"), "hello, bucket");
      const names = (await client.list("/in")).map((entry) => `${entry.name}:${entry.size}`);
      equal(names.sort().join(" "), `big.bin:${payload.length} hello.txt:13`);
    }
    equal(new TextDecoder().decode(await s3Get(bucket.url("in/hello.txt"))), "hello, bucket");
    const stored = await s3Get(bucket.url("in/big.bin"));
    equal(stored.length, payload.length);
    ok(stored.every((byte, i) => byte === payload[i]), "the object is the uploaded bytes");
    const ready = await fetch(`${line.httpUrl}readyz`);
    equal(ready.status, 200, await ready.text());
    const cmdline = Deno.readTextFileSync(`/proc/${line.pid}/cmdline`);
    ok(!cmdline.includes(rgw!.secretAccessKey), "the secret key is not on the command line");
    const exit = await stopCli(cli, 15_000);
    ok(!exit.stderr.includes(rgw!.secretAccessKey), "nor in the logs");
  },
});

Deno.test({
  name: "a config file gives one user a tree in the bucket, another a local one",
  ignore: noRgw,
  async fn() {
    await using bucket = await testBucket("cli config");
    await using dir = localDir();
    Deno.mkdirSync(`${dir.path}/bob`);
    Deno.writeTextFileSync(`${dir.path}/bob/local.txt`, "on disk");
    const config = `${dir.path}/ftpgate.jsonc`;
    Deno.writeTextFileSync(
      config,
      JSON.stringify({
        allow_plaintext: true,
        users: [
          { name: "alice", password: "a", root: `s3://${rgw!.bucket}/${bucket.prefix}alice` },
          { name: "bob", password: "b", root: "bob" },
        ],
        s3: { endpoint: rgw!.endpoint, region: rgw!.region },
      }),
    );
    await using cli = startCli(["--config", config, "--port", "0", "--ready-file", "-"], {
      env: awsEnv(),
    });
    const line = await cli.ready();
    {
      await using client = await connectFtp({
        host: "127.0.0.1",
        port: line.port,
        user: "alice",
        password: "a",
      });
      await uploadBytes(client, "note.txt", "alice in the bucket");
    }
    equal(
      new TextDecoder().decode(await s3Get(bucket.url("alice/note.txt"))),
      "alice in the bucket",
    );
    equal(await downloadTextAs(line.port, "bob", "b", "local.txt"), "on disk");
    await stopCli(cli, 15_000);
  },
});

Deno.test({
  name: "--fault s3-slow-get slows downloads from the bucket",
  ignore: noRgw,
  async fn() {
    await using bucket = await testBucket("cli fault");
    await bucket.storage.objects.put(`${bucket.prefix}slow.txt`, new TextEncoder().encode("zzz"));
    await using cli = startS3Cli(`s3://${rgw!.bucket}/${bucket.prefix}`, [
      "--fault",
      "s3-slow-get=400",
    ]);
    const line = await cli.ready();
    {
      await using client = await connectFtp({
        host: "127.0.0.1",
        port: line.port,
        user: "anonymous",
      });
      const start = performance.now();
      equal(await downloadText(client, "slow.txt"), "zzz");
      const took = performance.now() - start;
      ok(took >= 380, `the GET waited ${took.toFixed(0)} ms`);
    }
    await stopCli(cli, 15_000);
  },
});

Deno.test({
  name: "a bucket that does not exist fails the start with exit 1 and says so",
  ignore: noRgw,
  async fn() {
    await using cli = startCli([
      "--root",
      "s3://no-such-bucket-ftpgate",
      "--s3-endpoint",
      rgw!.endpoint,
      "--port",
      "0",
    ], { env: awsEnv() });
    const exit = await cli.wait(30_000);
    equal(exit.code, 1, exit.stderr);
    match(exit.stderr, /^ftpgate: S3 bucket "no-such-bucket-ftpgate" does not exist\n$/);
  },
});

Deno.test({
  name:
    "deno task start --root s3:// runs under the launcher's exact grants (net to the endpoint, AWS_* env)",
  ignore: noRgw || Deno.build.os !== "linux",
  async fn() {
    await using bucket = await testBucket("cli launcher");
    await using dir = localDir();
    await using task = startCli([
      "task",
      "--config",
      `${REPO}deno.json`,
      "start",
      "--root",
      `s3://${rgw!.bucket}/${bucket.prefix}`,
      "--s3-endpoint",
      rgw!.endpoint,
      "--no-active",
      "--user",
      "u:p",
      "--port",
      "0",
      "--ready-file",
      "-",
    ], { executable: Deno.execPath(), cwd: dir.path, env: { ...awsEnv(), INIT_CWD: dir.path } });
    const line = await task.ready(30_000);
    const cmdline = Deno.readTextFileSync(`/proc/${line.pid}/cmdline`).split("\0");
    const net = cmdline.find((arg) => arg.startsWith("--allow-net="));
    equal(net, `--allow-net=127.0.0.1,${new URL(rgw!.endpoint).host}`);
    ok(!cmdline.some((arg) => arg.startsWith("--allow-write")), "no file access for an s3 root");
    {
      await using client = await connectFtp(line.url);
      await uploadBytes(client, "via-launcher.txt", "granted exactly");
      equal(await downloadText(client, "via-launcher.txt"), "granted exactly");
    }
    const exit = await stopCli(task, 15_000);
    ok(!/NotCapable|Requires .* access/.test(exit.stderr), exit.stderr);
  },
});

Deno.test({
  name: "--s3-list-cache S: a listing is served from memory (another instance's key shows late)",
  ignore: noRgw,
  async fn() {
    await using bucket = await testBucket("cli list cache");
    await using cli = startS3Cli(`s3://${rgw!.bucket}/${bucket.prefix}`, [
      "--s3-region",
      rgw!.region,
      "--s3-list-cache",
      "60",
      "--user",
      "u:p",
    ]);
    const line = await cli.ready();
    await using client = await connectFtp(line.url);
    await uploadBytes(client, "/a.txt", "a");
    const names = async () => (await client.list("/")).map((entry) => entry.name).sort().join(" ");
    equal(await names(), "a.txt");
    // Another gateway (the bucket's storage used directly) adds a key: within the TTL, not shown.
    const writer = (await bucket.storage.write("/b.txt")).getWriter();
    await writer.write(new TextEncoder().encode("b"));
    await writer.close();
    equal(await names(), "a.txt", "served from the cache");
    await uploadBytes(client, "/c.txt", "c"); // this instance's own change drops it
    equal(await names(), "a.txt b.txt c.txt");
    await stopCli(cli, 15_000);
  },
});
