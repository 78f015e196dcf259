/**
 * Users of the HTTP identity hook get one tree per root, shared by all their logins, as
 * configured users do: one quota for all of a user's sessions, one "file busy" guard per file,
 * one count of the tree rather than one per login.
 */
import { equal, notEqual } from "node:assert/strict";
import { LocalStorage, serve } from "../../src/mod.ts";
import { hookIdentity, json, startAuthHook } from "../helpers/auth_hook.ts";
import { tempDir, usedBytes } from "../helpers/files.ts";
import { storCode } from "../helpers/hardening_helpers.ts";
import { loginAs, writeAllAndClose } from "../helpers/raw_client.ts";

const encoder = new TextEncoder();
const context = { remoteAddress: "127.0.0.1", secure: false };

for (const shape of ["root", "mounts"] as const) {
  Deno.test(`quota (HTTP identity hook, ${shape}): two sessions of one user share one quota`, async () => {
    const top = tempDir("ftpgate-hook-trees-");
    Deno.mkdirSync(`${top}/alice`);
    const tree = shape === "root"
      ? { root: `${top}/alice` }
      : { mounts: [{ path: "/", root: `${top}/alice` }] };
    await using hook = startAuthHook(() => json({ ...tree, quota: { bytes: 100_000 } }));
    const identity = hookIdentity(hook.url, top);
    try {
      await using server = serve({ identity, root: top, loginFailureDelayMs: 0 });
      const port = server.addr.port;
      await using a = await loginAs(port, "alice", "pw");
      await using b = await loginAs(port, "alice", "pw");
      equal(await storCode(a, "one.bin", 80_000), 226);
      equal(
        await storCode(b, "two.bin", 80_000),
        552,
        `the second session stored 80,000 more: ${usedBytes(`${top}/alice`)} bytes on disk ` +
          `for a quota of 100,000`,
      );
      // A later login finds the same count (and does not walk the tree again to get it).
      await using c = await loginAs(port, "alice", "pw");
      equal(await storCode(c, "three.bin", 20_001), 552);
      equal(await storCode(c, "three.bin", 20_000), 226);
    } finally {
      identity.close();
      Deno.removeSync(top, { recursive: true });
    }
  });
}

Deno.test("HTTP identity hook: a second session's STOR of a file being uploaded gets 450, as with configured users", async () => {
  const top = tempDir("ftpgate-hook-trees-");
  Deno.mkdirSync(`${top}/alice`);
  await using hook = startAuthHook(() => json({ root: `${top}/alice` }));
  const identity = hookIdentity(hook.url, top);
  try {
    await using server = serve({ identity, root: top, loginFailureDelayMs: 0 });
    const port = server.addr.port;
    await using a = await loginAs(port, "alice", "pw");
    await using b = await loginAs(port, "alice", "pw");
    const first = await a.epsv();
    await a.expect("STOR same.txt", 150);
    await first.write(encoder.encode("A".repeat(1000)));
    const second = await b.epsv();
    const opening = await b.command("STOR same.txt");
    if (opening.code === 150) {
      await writeAllAndClose(second, encoder.encode("B".repeat(500)));
      await b.read();
    } else {
      second.close();
    }
    await writeAllAndClose(first, encoder.encode("A".repeat(1000)));
    await a.read();
    equal(
      opening.code,
      450,
      `two uploads wrote one file at once: ${
        JSON.stringify(Deno.readTextFileSync(`${top}/alice/same.txt`).slice(0, 40))
      }...`,
    );
    equal(Deno.readTextFileSync(`${top}/alice/same.txt`), "A".repeat(2000));
  } finally {
    identity.close();
    Deno.removeSync(top, { recursive: true });
  }
});

Deno.test("HttpIdentityProvider opens each real root once for all the logins that use it", async () => {
  const top = tempDir("ftpgate-hook-trees-");
  Deno.mkdirSync(`${top}/alice`);
  Deno.mkdirSync(`${top}/bob`);
  await using hook = startAuthHook((call) => json({ root: `${top}/${call.body.user}` }));
  let opened = 0;
  const identity = hookIdentity(hook.url, top, {
    openRoot: (root) => {
      opened++;
      return new LocalStorage(root);
    },
  });
  try {
    const one = await identity.authenticate("alice", "pw", context);
    // The same root through another spelling of it (a symbolic link) is the same tree.
    Deno.symlinkSync(`${top}/alice`, `${top}/alias`);
    const two = await identity.authenticate("alias", "pw", context);
    const bob = await identity.authenticate("bob", "pw", context);
    equal(one!.storage, two!.storage);
    notEqual(one!.storage, bob!.storage);
    equal(opened, 2);
  } finally {
    identity.close();
    Deno.removeSync(top, { recursive: true });
  }
});
