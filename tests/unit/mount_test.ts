import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { FtpError, StorageError } from "../../src/errors.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { MountTable } from "../../src/storage/mount.ts";
import { collectList, FULL_CAPABILITIES } from "../../src/storage/storage.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function put(storage: MountTable, path: string, content: string): Promise<void> {
  const writer = (await storage.write(path)).getWriter();
  await writer.write(new TextEncoder().encode(content));
  await writer.close();
}

function table() {
  const home = MemoryStorage.from({ "a.txt": "home a" });
  const archive = MemoryStorage.from({ "old/x.csv": "x" });
  const deep = MemoryStorage.from({ "d.txt": "deep" });
  const tree = new MountTable([
    { path: "/", storage: home },
    { path: "/archive", storage: archive, readOnly: true },
    { path: "/shared/team", storage: deep },
  ]);
  return { home, archive, deep, tree };
}

Deno.test("MountTable routes each path to the mount with the longest prefix", async () => {
  const { tree, home, deep } = table();
  equal((await tree.stat("/archive/old/x.csv")).size, 1);
  await put(tree, "/shared/team/new.txt", "n");
  equal(text(await deep.readFile("/new.txt")), "n");
  await put(tree, "/b.txt", "b");
  equal(text(await home.readFile("/b.txt")), "b");
  // "/archivex" is not under "/archive".
  await rejects(
    tree.stat("/archivex"),
    (e: unknown) => e instanceof StorageError && e.kind === "not-found",
  );
});

Deno.test("MountTable lists mount points and the directories leading to them", async () => {
  const { tree } = table();
  const root = (await collectList(tree, "/")).map((e) => `${e.name}:${e.type}`).sort();
  deepEqual(root, ["a.txt:file", "archive:dir", "shared:dir"]);
  deepEqual((await collectList(tree, "/shared")).map((e) => e.name), ["team"]);
  equal((await tree.stat("/shared")).type, "dir");
  equal((await tree.stat("/archive")).name, "archive");
  deepEqual((await collectList(tree, "/shared/team")).map((e) => e.name), ["d.txt"]);
});

Deno.test("MountTable refuses changes in a read-only mount and to mount points", async () => {
  const { tree, archive } = table();
  const refused = (e: unknown) => e instanceof StorageError && e.kind === "permission";
  await rejects(tree.write("/archive/new.txt"), refused);
  await rejects(tree.remove("/archive/old/x.csv"), refused);
  await rejects(tree.mkdir("/archive/d"), refused);
  await rejects(tree.rmdir("/archive/old"), refused);
  await rejects(tree.setMtime("/archive/old/x.csv", new Date()), refused);
  await rejects(tree.rmdir("/archive"), refused);
  await rejects(tree.rmdir("/shared"), refused);
  await rejects(tree.rename("/archive", "/elsewhere"), refused);
  equal(text(await archive.readFile("/old/x.csv")), "x");
});

Deno.test("MountTable refuses a rename onto a mount point or a directory leading to one", async () => {
  const { tree, home } = table();
  await home.mkdir("/dir");
  await home.mkdir("/dir/team");
  const refused = (e: unknown) => e instanceof StorageError && e.kind === "permission";
  // /shared leads to /shared/team: /dir/team would lie shadowed below the mount.
  await rejects(tree.rename("/dir", "/shared"), refused);
  await rejects(tree.rename("/a.txt", "/shared"), refused);
  await rejects(tree.rename("/a.txt", "/archive"), refused);
  deepEqual((await collectList(home, "/")).map((e) => e.name).sort(), ["a.txt", "dir"]);
  await tree.rename("/dir", "/sharedx");
  equal((await tree.stat("/sharedx/team")).type, "dir");
});

Deno.test("MountTable refuses a rename across mounts with a reply that names both paths", async () => {
  const { tree } = table();
  await rejects(tree.rename("/a.txt", "/shared/team/a.txt"), (e: unknown) => {
    ok(e instanceof FtpError);
    equal(e.code, 550);
    ok(e.message.includes('"/a.txt"') && e.message.includes('"/shared/team/a.txt"'), e.message);
    return true;
  });
  await tree.rename("/a.txt", "/renamed.txt");
  equal((await tree.stat("/renamed.txt")).size, 6);
});

Deno.test("MountTable reports a mounted back end's errors with the client's path", async () => {
  const { tree } = table();
  await rejects(tree.stat("/shared/team/missing"), (e: unknown) => {
    ok(e instanceof StorageError);
    equal(e.path, "/shared/team/missing");
    return true;
  });
  await rejects(collectList(tree, "/shared/team/d.txt"), (e: unknown) => {
    ok(e instanceof StorageError);
    equal(e.kind, "not-a-directory");
    equal(e.path, "/shared/team/d.txt");
    return true;
  });
});

Deno.test("MountTable's capabilities: the union overall, each mount's at a path", () => {
  const limited = MemoryStorage.from({});
  Object.defineProperty(limited, "capabilities", {
    value: { ...FULL_CAPABILITIES, append: false },
  });
  const tree = new MountTable([
    { path: "/", storage: new MemoryStorage() },
    { path: "/s3", storage: limited },
  ]);
  equal(tree.capabilities.append, true);
  equal(tree.capabilitiesAt("/s3/x").append, false);
  equal(tree.capabilitiesAt("/x").append, true);
});

Deno.test("MountTable works without a root mount: / is a synthetic directory", async () => {
  const tree = new MountTable([{ path: "/data", storage: MemoryStorage.from({ "f": "1" }) }]);
  equal((await tree.stat("/")).type, "dir");
  deepEqual((await collectList(tree, "/")).map((e) => e.name), ["data"]);
  await rejects(
    tree.write("/x.txt"),
    (e: unknown) => e instanceof StorageError && e.kind === "permission",
  );
  await rejects(
    tree.stat("/nothing"),
    (e: unknown) => e instanceof StorageError && e.kind === "not-found",
  );
});
