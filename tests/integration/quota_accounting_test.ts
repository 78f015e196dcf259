/**
 * A quota's count follows what is on disk, whatever the uploads, deletes and renames of the
 * user's sessions do meanwhile: uploads aborted before their first byte, a DELE or rename of a
 * file while an upload replaces it, an upload into a mount without atomic replacement. Each test
 * ends by checking the quota against the bytes really on disk (552 for what must not fit).
 */
import { equal } from "node:assert/strict";
import { serve, type UserConfig } from "../../src/mod.ts";
import { tempDir, usedBytes } from "../helpers/files.ts";
import { storCode } from "../helpers/hardening_helpers.ts";
import { waitFor } from "../helpers/protocol_helpers.ts";
import { loginAs, type RawClient, writeAllAndClose } from "../helpers/raw_client.ts";

const encoder = new TextEncoder();

/** ABORs the transfer under way and closes its data connection. */
async function abort(c: RawClient, data: Deno.Conn): Promise<void> {
  const reply = await c.command("ABOR");
  if (reply.code === 426) await c.read(); // the 226 of the ABOR
  data.close();
}

/** Opens an upload and ABORs it before any byte is sent. */
async function abortedBeforeFirstByte(c: RawClient, command: string): Promise<void> {
  const data = await c.epsv();
  await c.expect(command, 150);
  await abort(c, data);
}

/** A server of `root` with one user, q (password pw), whose quota is `limits`. */
function quotaServer(
  root: string,
  limits: NonNullable<UserConfig["limits"]>,
  options: { atomicUploads?: boolean } = {},
) {
  return serve({
    root,
    ...options,
    loginFailureDelayMs: 0,
    users: [{ name: "q", password: "pw", limits }],
  });
}

/** True once `path` holds `size` bytes (false while it does not exist). */
function hasSize(path: string, size: number): boolean {
  try {
    return Deno.statSync(path).size === size;
  } catch {
    return false;
  }
}

Deno.test("quota (files): uploads aborted before their first byte do not use up the file count", async () => {
  const root = tempDir("ftpgate-quota-");
  try {
    await using server = quotaServer(root, { quotaFiles: 2 });
    await using c = await loginAs(server.addr.port, "q", "pw");
    for (let i = 0; i < 2; i++) await abortedBeforeFirstByte(c, `STOR never-${i}.bin`);
    const onDisk = Array.from(Deno.readDirSync(root)).map((entry) => entry.name);
    equal(onDisk.length, 0, `files on disk: ${onDisk}`);
    equal(
      await storCode(c, "first-real.bin", 10),
      226,
      "no file exists, yet the quota of 2 is full",
    );
    equal(await storCode(c, "second-real.bin", 10), 226);
    equal(await storCode(c, "third-real.bin", 10), 552);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("quota (bytes, default non-atomic uploads): a STOR over a file aborted before its first byte frees nothing", async () => {
  const root = tempDir("ftpgate-quota-");
  Deno.writeTextFileSync(`${root}/big.bin`, "o".repeat(90_000));
  try {
    await using server = quotaServer(root, { quotaBytes: 100_000 });
    await using c = await loginAs(server.addr.port, "q", "pw");
    // Each STOR over big.bin counted its 90,000 bytes as freed; the ABOR left them on disk.
    for (let i = 0; i < 5; i++) await abortedBeforeFirstByte(c, "STOR big.bin");
    equal(Deno.statSync(`${root}/big.bin`).size, 90_000, "the old file is untouched");
    equal(
      await storCode(c, "more.bin", 300_000),
      552,
      `stored 300,000 more: ${usedBytes(root)} bytes on disk for a quota of 100,000`,
    );
    // What is left fits, and replacing big.bin frees its bytes once it really is replaced.
    equal(await storCode(c, "small.bin", 10_000), 226);
    equal(await storCode(c, "big.bin", 90_000), 226);
    equal(await storCode(c, "one-more.bin", 1), 552);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

for (const variant of ["DELE", "RNFR/RNTO"] as const) {
  Deno.test(`quota (atomic uploads): a ${variant} during a STOR over a file keeps the count of bytes on disk`, async () => {
    const root = tempDir("ftpgate-quota-");
    Deno.writeTextFileSync(`${root}/f.bin`, "o".repeat(50_000));
    try {
      await using server = quotaServer(root, { quotaBytes: 100_000 }, { atomicUploads: true });
      const port = server.addr.port;
      await using a = await loginAs(port, "q", "pw");
      await using b = await loginAs(port, "q", "pw");
      // A replaces f.bin; while its upload runs, B removes (or renames away) the old f.bin.
      const data = await a.epsv();
      await a.expect("STOR f.bin", 150);
      if (variant === "DELE") {
        await b.expect("DELE f.bin", 250);
      } else {
        await b.expect("RNFR f.bin", 350);
        await b.expect("RNTO g.bin", 250);
      }
      await writeAllAndClose(data, encoder.encode("n".repeat(50_000)));
      equal((await a.read()).code, 226);
      // On disk now: 50,000 (DELE) or 100,000 (rename) bytes; 90,000 or 40,000 more must not fit.
      const more = variant === "DELE" ? 90_000 : 40_000;
      equal(
        await storCode(a, "more.bin", more),
        552,
        `stored ${more} more: ${usedBytes(root)} bytes on disk for a quota of 100,000`,
      );
      // And exactly what is free still fits.
      equal(await storCode(a, "rest.bin", more - 40_000), 226, `${usedBytes(root)} bytes on disk`);
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  });
}

Deno.test("quota (atomic uploads): a file renamed onto one being replaced is replaced by the upload's commit", async () => {
  const root = tempDir("ftpgate-quota-");
  Deno.writeTextFileSync(`${root}/f.bin`, "o".repeat(10_000));
  Deno.writeTextFileSync(`${root}/g.bin`, "g".repeat(60_000));
  try {
    await using server = quotaServer(root, { quotaBytes: 100_000 }, { atomicUploads: true });
    const port = server.addr.port;
    await using a = await loginAs(port, "q", "pw");
    await using b = await loginAs(port, "q", "pw");
    const data = await a.epsv();
    await a.expect("STOR f.bin", 150);
    // g.bin (60,000) replaces the old f.bin (10,000); A's commit then replaces g.bin's bytes.
    await b.expect("RNFR g.bin", 350);
    await b.expect("RNTO f.bin", 250);
    await writeAllAndClose(data, encoder.encode("n".repeat(20_000)));
    equal((await a.read()).code, 226);
    equal(usedBytes(root), 20_000);
    equal(await storCode(a, "rest.bin", 80_000), 226, "80,000 bytes are free");
    equal(await storCode(a, "over.bin", 1), 552);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("quota (non-atomic uploads): a file being written in place cannot be deleted or renamed away (450), and is counted", async () => {
  const root = tempDir("ftpgate-quota-");
  Deno.mkdirSync(`${root}/dir`);
  try {
    await using server = quotaServer(root, { quotaBytes: 100_000 });
    const port = server.addr.port;
    await using a = await loginAs(port, "q", "pw");
    await using b = await loginAs(port, "q", "pw");
    const data = await a.epsv();
    await a.expect("STOR dir/f.bin", 150);
    await data.write(encoder.encode("n".repeat(30_000)));
    await waitFor(() => hasSize(`${root}/dir/f.bin`, 30_000), "the first bytes on disk");
    // The writes would follow the open file wherever it went, out of the count's sight.
    await b.expect("DELE dir/f.bin", 450);
    await b.expect("RNFR dir/f.bin", 350);
    await b.expect("RNTO dir/g.bin", 450);
    await b.expect("RNFR dir", 350);
    await b.expect("RNTO moved", 450);
    await writeAllAndClose(data, encoder.encode("n".repeat(30_000)));
    equal((await a.read()).code, 226);
    // Once the upload is done, the file is the user's to move and delete again.
    await b.expect("RNFR dir", 350);
    await b.expect("RNTO moved", 250);
    equal(await storCode(a, "more.bin", 40_001), 552, `${usedBytes(root)} bytes on disk`);
    await b.expect("DELE moved/f.bin", 250);
    equal(await storCode(a, "more.bin", 100_000), 226);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("quota (mounts): an upload aborted midway into a mount without atomic replacement counts what it left", async () => {
  const root = tempDir("ftpgate-quota-");
  const disk = tempDir("ftpgate-quota-");
  try {
    await using server = serve({
      root,
      loginFailureDelayMs: 0,
      users: [{
        name: "q",
        password: "pw",
        // Memory replaces atomically, the local disk (without atomicUploads) does not: the
        // mount table can do both, and each path is counted as its own mount does it.
        mounts: [{ path: "/", root: "memory:" }, { path: "/disk", root: disk }],
        limits: { quotaBytes: 100_000 },
      }],
    });
    await using c = await loginAs(server.addr.port, "q", "pw");
    for (let round = 0; round < 2; round++) {
      const data = await c.epsv();
      await c.expect(`STOR disk/partial-${round}.bin`, 150);
      await data.write(encoder.encode("p".repeat(40_000)));
      await waitFor(
        () => hasSize(`${disk}/partial-${round}.bin`, 40_000),
        "the partial upload on disk",
      );
      await abort(c, data);
    }
    equal(usedBytes(disk), 80_000, "the aborted uploads left their bytes");
    equal(await storCode(c, "disk/more.bin", 20_001), 552, `${usedBytes(disk)} bytes on disk`);
    equal(await storCode(c, "more.bin", 20_000), 226);
  } finally {
    Deno.removeSync(root, { recursive: true });
    Deno.removeSync(disk, { recursive: true });
  }
});

Deno.test("quota (memory root): an upload aborted midway counts the bytes the tree kept", async () => {
  // The memory back end writes in place, as a disk without atomic uploads does: whatever a
  // back end claims, what a failed upload left is read back.
  await using server = quotaServer("memory:", { quotaBytes: 100_000 });
  const port = server.addr.port;
  await using a = await loginAs(port, "q", "pw");
  await using b = await loginAs(port, "q", "pw");
  const data = await a.epsv();
  await a.expect("STOR partial.bin", 150);
  await data.write(encoder.encode("p".repeat(60_000)));
  let size = "";
  const deadline = Date.now() + 5000;
  while (size !== "60000" && Date.now() < deadline) {
    const reply = await b.command("SIZE partial.bin");
    size = reply.code === 213 ? reply.text : "";
    if (size !== "60000") await new Promise((resolve) => setTimeout(resolve, 10));
  }
  equal(size, "60000", "the partial upload in the tree");
  await abort(a, data);
  equal((await b.command("SIZE partial.bin")).text, "60000", "the aborted upload left its bytes");
  equal(await storCode(b, "more.bin", 40_001), 552);
  equal(await storCode(b, "more.bin", 40_000), 226);
});
