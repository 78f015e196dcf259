/**
 * Command handlers against an in-memory context: no socket, no server. What each command answers
 * under rules and capabilities, and what it hands to the transfer machinery.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { features } from "../../src/commands/info.ts";
import type { TransferSpec } from "../../src/data/transfer.ts";
import { PERMISSIONS } from "../../src/identity/rules.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { FULL_CAPABILITIES, type StorageCapabilities } from "../../src/storage/storage.ts";
import { fakeContext } from "../helpers/command_context.ts";

const decoder = new TextDecoder();

/** A memory tree that declares fewer capabilities (what an object store might). */
function limitedStorage(
  capabilities: Partial<StorageCapabilities>,
  files: Record<string, string> = {},
): MemoryStorage {
  const storage = MemoryStorage.from(files);
  Object.defineProperty(storage, "capabilities", {
    value: { ...FULL_CAPABILITIES, ...capabilities },
  });
  return storage;
}

/** The bytes a recorded listing or download transfer would send. */
async function sent(spec: TransferSpec): Promise<string> {
  const plan = spec.plan ?? await spec.open!(new AbortController().signal);
  if (plan.direction !== "send") throw new Error("not a download");
  return decoder.decode(new Uint8Array(await new Response(plan.source).arrayBuffer()));
}

Deno.test("dispatch() answers unknown verbs 500, known-but-absent ones 502, bad arguments 501", async () => {
  const ctx = fakeContext();
  equal((await ctx.run("BOGUS")).code, 500);
  equal((await ctx.run("SMNT /x")).code, 502);
  equal((await ctx.run("CWD")).code, 501);
  equal((await ctx.run("PWD extra")).code, 501);
  equal((await ctx.run("NOOP")).code, 200);
});

Deno.test("dispatch() refuses commands before login with 530, but not USER, FEAT or HELP", async () => {
  const ctx = fakeContext({ user: null });
  equal((await ctx.run("PWD")).code, 530);
  equal((await ctx.run("LIST")).code, 530);
  equal((await ctx.run("FEAT")).code, 211);
  equal((await ctx.run("HELP RETR")).code, 214);
  equal((await ctx.run("USER tester")).code, 331);
  equal((await ctx.run("PASS secret")).code, 230);
  equal((await ctx.run("PWD")).code, 257);
});

Deno.test("dispatch() refuses USER with 534 before TLS when TLS is required", async () => {
  const ctx = fakeContext({
    user: null,
    tls: true,
    server: { requireTls: true, tls: { selfSigned: true } },
  });
  equal((await ctx.run("USER tester")).code, 534);
});

Deno.test("RNFR is cancelled by any command other than RNTO (RFC 959 §4.1.3)", async () => {
  const ctx = fakeContext({ storage: MemoryStorage.from({ "a.txt": "a" }) });
  equal((await ctx.run("RNFR a.txt")).code, 350);
  equal((await ctx.run("NOOP")).code, 200);
  equal((await ctx.run("RNTO b.txt")).code, 503);
  equal((await ctx.run("RNFR a.txt")).code, 350);
  equal((await ctx.run("RNTO b.txt")).code, 250);
  deepEqual(ctx.actions, [{
    action: "rename",
    path: "/a.txt",
    detail: "/b.txt",
    ok: true,
    code: 250,
  }]);
});

Deno.test("'not a directory' is 550 for CWD and for MLSD alike", async () => {
  const ctx = fakeContext({ storage: MemoryStorage.from({ "a.txt": "a" }) });
  await ctx.run("PASV");
  const cwd = await ctx.run("CWD a.txt");
  const mlsd = await ctx.run("MLSD a.txt");
  equal(cwd.code, 550);
  equal(mlsd.code, 550);
  equal(cwd.lines[0], mlsd.lines[0]);
  equal(ctx.transfers.length, 0);
});

Deno.test("a drop box takes uploads and refuses LIST, RETR, MLST, SIZE and overwrites", async () => {
  const ctx = fakeContext({
    storage: MemoryStorage.from({ "inbox/old.csv": "x", "pub/a.txt": "a" }),
    rules: [{ path: "/", allow: PERMISSIONS }, { path: "/inbox", allow: ["upload"] }],
  });
  await ctx.run("PASV");
  equal((await ctx.run("STOR /inbox/new.csv")).code, 0, "a transfer answers, not the handler");
  equal(ctx.transfers.length, 1);
  equal(ctx.transfers[0].path, "/inbox/new.csv");
  for (const line of ["LIST /inbox", "NLST /inbox", "MLSD /inbox", "RETR /inbox/old.csv"]) {
    await ctx.run("PASV");
    equal((await ctx.run(line)).code, 550, line);
  }
  for (
    const line of [
      "MLST /inbox/old.csv",
      "SIZE /inbox/old.csv",
      "STOR /inbox/old.csv",
      "DELE /inbox/old.csv",
    ]
  ) {
    await ctx.run("PASV");
    equal((await ctx.run(line)).code, 550, line);
  }
  equal(ctx.transfers.length, 1);
  // Elsewhere, everything.
  await ctx.run("PASV");
  await ctx.run("RETR /pub/a.txt");
  equal(await sent(ctx.transfers[1]), "a");
  equal((await ctx.run("CWD /inbox")).code, 250, "moving around needs no permission");
});

Deno.test("MLSD derives the perm fact from the rules", async () => {
  const ctx = fakeContext({
    storage: MemoryStorage.from({ "inbox/x": "1", "pub/a.txt": "a" }),
    rules: [{ path: "/", allow: ["list", "download"] }, { path: "/inbox", allow: ["upload"] }],
  });
  await ctx.run("OPTS MLST type;perm;");
  await ctx.run("PASV");
  await ctx.run("MLSD /");
  const lines = (await sent(ctx.transfers[0])).trimEnd().split("\r\n");
  deepEqual(lines, [
    "type=cdir;perm=el; .",
    "type=pdir;perm=el; ..",
    "type=dir;perm=ce; inbox",
    "type=dir;perm=el; pub",
  ]);
});

Deno.test("STOR over an existing file needs overwrite; APPE to one needs append", async () => {
  const ctx = fakeContext({
    storage: MemoryStorage.from({ "a.txt": "a" }),
    rules: [{ path: "/", allow: ["list", "download", "upload"] }],
  });
  await ctx.run("PASV");
  equal((await ctx.run("STOR a.txt")).code, 550);
  equal((await ctx.run("APPE a.txt")).code, 550);
  equal((await ctx.run("STOR b.txt")).code, 0);
  await ctx.run("PASV");
  equal((await ctx.run("APPE c.txt")).code, 0, "APPE of a new file is an upload");
  equal(ctx.transfers.length, 2);
});

Deno.test("a back end without restart: REST is 502 and FEAT has no REST STREAM", async () => {
  const ctx = fakeContext({
    storage: limitedStorage({ readAtOffset: false, writeAtOffset: false }, { "a.txt": "abc" }),
  });
  equal((await ctx.run("REST 1")).code, 502);
  equal((await ctx.run("REST 0")).code, 350, "REST 0 restarts nothing: always fine");
  ok(!features(ctx).includes("REST STREAM"));
  ok(features(fakeContext()).includes("REST STREAM"));
});

Deno.test("REST then STOR on a back end that reads but cannot write at an offset: 504", async () => {
  const ctx = fakeContext({
    storage: limitedStorage({ writeAtOffset: false }, { "a.txt": "abc" }),
  });
  await ctx.run("TYPE I");
  await ctx.run("PASV");
  equal((await ctx.run("REST 1")).code, 350);
  equal((await ctx.run("STOR a.txt")).code, 504);
  equal((await ctx.run("REST 1")).code, 350);
  await ctx.run("RETR a.txt");
  equal(await sent(ctx.transfers[0]), "bc");
});

Deno.test("missing capabilities answer 502: APPE, RNFR of a directory, MFMT, SITE CHMOD", async () => {
  const ctx = fakeContext({
    storage: limitedStorage(
      { append: false, renameDirectory: false, setMtime: false, chmod: false, uniqueIds: false },
      { "d/a.txt": "a" },
    ),
  });
  await ctx.run("PASV");
  equal((await ctx.run("APPE d/a.txt")).code, 502);
  equal((await ctx.run("RNFR d")).code, 502);
  equal((await ctx.run("RNFR d/a.txt")).code, 350, "files can still be renamed");
  equal((await ctx.run("MFMT 20200101000000 d/a.txt")).code, 502);
  equal((await ctx.run("SITE CHMOD 600 d/a.txt")).code, 502);
  const feat = features(ctx);
  ok(!feat.includes("MFMT"));
  const mlst = feat.find((line) => line.startsWith("MLST "))!;
  ok(!mlst.includes("unix.mode") && !mlst.includes("unique"), mlst);
  equal(ctx.transfers.length, 0);
});

Deno.test("TYPE keeps a value; SIZE is refused in ASCII; STAT shows the parameters", async () => {
  const ctx = fakeContext({ storage: MemoryStorage.from({ "a.txt": "abc" }) });
  equal((await ctx.run("SIZE a.txt")).code, 550);
  equal((await ctx.run("TYPE I")).code, 200);
  equal(ctx.state.representation.type, "I");
  deepEqual(await ctx.run("SIZE a.txt"), { code: 213, lines: ["3"] });
  equal((await ctx.run("TYPE L 8")).code, 200);
  equal((await ctx.run("TYPE L 7")).code, 504);
  equal((await ctx.run("TYPE X")).code, 501);
  const status = await ctx.run("STAT");
  match(status.lines.join("\n"), /TYPE: BINARY; STRU: File; MODE: Stream/);
});

Deno.test("changes to the tree are reported, failures included", async () => {
  const ctx = fakeContext({ storage: MemoryStorage.from({ "a.txt": "a" }) });
  await ctx.run("MKD d");
  await ctx.run("DELE missing.txt");
  await ctx.run("RMD d");
  await ctx.run("MFMT 20200102030405 a.txt");
  deepEqual(ctx.actions, [
    { action: "mkdir", path: "/d", ok: true, code: 257 },
    { action: "delete", path: "/missing.txt", ok: false, code: 550 },
    { action: "rmdir", path: "/d", ok: true, code: 250 },
    { action: "mtime", path: "/a.txt", detail: "20200102030405", ok: true, code: 213 },
  ]);
});

Deno.test("STAT of a directory streams its lines as one multi-line reply", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 50; i++) files[`d/f${String(i).padStart(2, "0")}`] = "x";
  const ctx = fakeContext({ storage: MemoryStorage.from(files) });
  const reply = await ctx.run("STAT d");
  equal(reply.code, 213);
  equal(reply.lines.length, 52);
  match(reply.lines[1], / f00$/);
  match(reply.lines[50], / f49$/);
});

Deno.test("dispatch() keeps a REST offset only for the command right after it (and across PASV/PORT)", async () => {
  const ctx = fakeContext();
  const offsetAfter = async (...lines: string[]) => {
    for (const line of lines) await ctx.run(line);
    return ctx.state.restOffset;
  };
  equal(await offsetAfter("REST 5"), 5);
  equal(await offsetAfter("PASV", "EPSV", "PORT 127,0,0,1,200,0", "EPRT |1|127.0.0.1|51200|"), 5);
  equal(await offsetAfter("NOOP"), 0);
  equal(await offsetAfter("REST 5", "BOGUS"), 0);
  equal(await offsetAfter("REST 5", "CWD /nowhere"), 0);
  equal(await offsetAfter("REST 5", "REST x"), 0);
  equal(await offsetAfter("REST 5", "REST 7"), 7);
  // A transfer command takes it even when it is refused.
  equal(await offsetAfter("REST 5", "RETR /missing"), 0);
});
