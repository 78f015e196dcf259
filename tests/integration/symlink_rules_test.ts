/**
 * Per-path rules and symbolic links inside the root (review item 13): a link that the jail
 * allows (it stays inside the root) must not carry a client from one rule into another. Real
 * server on a real directory, Python's ftplib as the client; reply codes, bytes and the disk are
 * checked.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type PathRule, PERMISSIONS } from "../../src/mod.ts";
import { python } from "../helpers/clients.ts";
import { PASSWORD, startServer, type TestServer, USER } from "../helpers/server.ts";
import { tempDir } from "../helpers/files.ts";
import { names } from "../helpers/hardening_helpers.ts";
import { needs } from "../helpers/tools.ts";

const ignore = needs("python3");

/** `/` open, `/inbox` a drop box (files go in, nobody sees them), `/ro` read-only. */
const RULES: PathRule[] = [
  { path: "/", allow: PERMISSIONS },
  { path: "/inbox", allow: ["upload"] },
  { path: "/ro", allow: ["list", "download"] },
];

const FILES = {
  "inbox/secret.txt": "dropped",
  "ro/keep.txt": "keep",
  "pub/readme.txt": "hi",
};

/** One step: a command, or a transfer (`retr`, `stor`, `appe`, `list`: LIST, NLST, MLSD). */
type Step =
  | ["cmd", string]
  | ["retr", string]
  | ["list", string]
  | ["stor" | "appe", string, string];

/**
 * Runs the steps in one ftplib session; each gives [reply code, data]: the bytes downloaded,
 * the listing's lines, or the reply text of a plain command.
 */
async function session(t: TestServer, steps: Step[]): Promise<[string, string][]> {
  const { result } = await python<[string, string][]>(
    t,
    `
steps = json.loads(${JSON.stringify(JSON.stringify(steps))})
ftp = connect(debug=0)
ftp.voidcmd("TYPE I")
out = []
for step in steps:
    kind = step[0]
    try:
        if kind == "retr":
            buf = io.BytesIO()
            reply = ftp.retrbinary("RETR " + step[1], buf.write)
            out.append([reply[:3], buf.getvalue().decode()])
        elif kind == "list":
            lines = []
            reply = ftp.retrlines(step[1], lines.append)
            out.append([reply[:3], "\\n".join(sorted(lines))])
            ftp.voidcmd("TYPE I")  # retrlines switched to TYPE A
        elif kind in ("stor", "appe"):
            reply = ftp.storbinary(kind.upper() + " " + step[1], io.BytesIO(step[2].encode()))
            out.append([reply[:3], ""])
        else:
            reply = ftp.sendcmd(step[1])
            out.append([reply[:3], reply])
    except ftplib.all_errors as e:
        out.append([str(e)[:3], str(e)])
ftp.quit()
result(out)
`,
  );
  return result;
}

function serverWithLinks(rules: PathRule[] | undefined): TestServer {
  const t = startServer({
    files: FILES,
    users: [{ name: USER, password: PASSWORD, ...(rules === undefined ? {} : { rules }) }],
  });
  // Links inside the root that resolve inside the root: the jail allows (and lists) them.
  Deno.symlinkSync("../inbox", `${t.root}/pub/latest`);
  Deno.symlinkSync("../inbox/secret.txt", `${t.root}/pub/secret-link`);
  Deno.symlinkSync("../ro", `${t.root}/pub/ro`);
  return t;
}

/** Asserts the replies' codes, in order; a failure shows every reply. */
function assertCodes(replies: [string, string][], expected: string[]): void {
  deepEqual(replies.map(([code]) => code), expected, JSON.stringify(replies));
}

Deno.test({
  name:
    "a symlink in the tree does not step around a drop box: nothing is read or looked at through it",
  ignore,
  async fn() {
    await using t = serverWithLinks(RULES);
    const replies = await session(t, [
      ["retr", "/pub/latest/secret.txt"],
      ["retr", "/pub/secret-link"],
      ["list", "LIST /pub/latest"],
      ["list", "NLST /pub/latest"],
      ["list", "MLSD /pub/latest"],
      ["list", "LIST /pub/latest/*.txt"],
      ["cmd", "SIZE /pub/latest/secret.txt"],
      ["cmd", "SIZE /pub/latest/no-such.txt"],
      ["cmd", "MDTM /pub/secret-link"],
      ["cmd", "MLST /pub/latest/secret.txt"],
      ["cmd", "STAT /pub/latest"],
      ["cmd", "CWD /pub/latest"],
      ["cmd", "CWD /pub/latest/secret.txt"],
      ["cmd", "CWD /pub/latest/no-such.txt"],
      // The same user, outside the drop box: everything works.
      ["retr", "/pub/readme.txt"],
      ["list", "NLST /pub"],
    ]);
    assertCodes(replies, [
      ...Array(14).fill("550"),
      "226",
      "226",
    ]);
    // Refused as a rule refuses, and alike for a name the drop box holds and one it does not.
    for (const [, text] of replies.slice(0, 14)) match(text, /^550 .*Permission denied/);
    const unnamed = (text: string) => text.replace(/"[^"]*"/, "PATH");
    equal(unnamed(replies[6][1]), unnamed(replies[7][1]));
    equal(unnamed(replies[12][1]), unnamed(replies[13][1]));
    equal(replies[14][1], "hi");
    deepEqual(replies[15][1].split("\n"), [
      "/pub/latest",
      "/pub/readme.txt",
      "/pub/ro",
      "/pub/secret-link",
    ]);
  },
});

Deno.test({
  name:
    "a symlink into a drop box takes new files only: no overwrite, append, delete, rename or mkdir there",
  ignore,
  async fn() {
    await using t = serverWithLinks(RULES);
    const replies = await session(t, [
      ["stor", "/pub/latest/new.txt", "new upload"],
      ["stor", "/pub/latest/secret.txt", "overwritten"],
      ["stor", "/pub/secret-link", "overwritten"],
      ["appe", "/pub/latest/secret.txt", " appended"],
      ["cmd", "DELE /pub/latest/secret.txt"],
      ["cmd", "RNFR /pub/latest/secret.txt"],
      ["cmd", "MKD /pub/latest/sub"],
      ["cmd", "MFMT 20200101000000 /pub/latest/secret.txt"],
      ["cmd", "SITE CHMOD 777 /pub/latest/secret.txt"],
      // Moving a file into the drop box through the link is a rename there.
      ["cmd", "RNFR /pub/readme.txt"],
      ["cmd", "RNTO /pub/latest/readme.txt"],
    ]);
    assertCodes(replies, [
      "226",
      "550",
      "550",
      "550",
      "550",
      "550",
      "550",
      "550",
      "550",
      "350",
      "550",
    ]);
    equal(Deno.readTextFileSync(`${t.root}/inbox/new.txt`), "new upload");
    equal(Deno.readTextFileSync(`${t.root}/inbox/secret.txt`), "dropped");
    equal(Deno.readTextFileSync(`${t.root}/pub/readme.txt`), "hi");
    ok(!Deno.readDirSync(`${t.root}/inbox`).some((entry) => entry.name === "sub"));
  },
});

Deno.test({
  name: "CWD into a symlinked read-only directory: relative names are judged by its real rules",
  ignore,
  async fn() {
    await using t = serverWithLinks(RULES);
    const replies = await session(t, [
      ["cmd", "CWD /pub/ro"],
      ["cmd", "PWD"],
      ["retr", "keep.txt"],
      ["list", "NLST"],
      ["list", "MLSD"],
      ["list", "LIST"],
      ["cmd", "SIZE keep.txt"],
      ["stor", "new.txt", "no"],
      ["stor", "keep.txt", "changed"],
      ["cmd", "DELE keep.txt"],
      ["cmd", "MKD sub"],
      // RNFR only looks (list is granted there); the rename itself is refused.
      ["cmd", "RNFR keep.txt"],
      ["cmd", "RNTO renamed.txt"],
      ["cmd", "CDUP"],
      ["stor", "ro/other.txt", "no"],
    ]);
    assertCodes(replies, [
      "250",
      "257",
      "226",
      "226",
      "226",
      "226",
      "213",
      "550",
      "550",
      "550",
      "550",
      "350",
      "550",
      "250",
      "550",
    ]);
    match(replies[1][1], /"\/pub\/ro"/);
    equal(replies[2][1], "keep");
    equal(replies[3][1], "keep.txt");
    match(replies[4][1], /; keep\.txt$/m);
    // The perm facts say what the rules of the real directory allow: read, no write (RFC 3659
    // §7.5.5), as MLSD of /ro itself says; through the link they said "adfrw" before.
    const permOf = (listing: string) => /perm=([a-z]*);[^\n]*keep\.txt/i.exec(listing)?.[1];
    equal(permOf(replies[4][1]), "r", replies[4][1]);
    match(replies[5][1], / keep\.txt$/);
    deepEqual(names(`${t.root}/ro`), ["keep.txt"]);
    equal(Deno.readTextFileSync(`${t.root}/ro/keep.txt`), "keep");
  },
});

Deno.test({
  name: "DELE and RNFR/RNTO of a symlink act on the link itself, not on the directory it points to",
  ignore,
  async fn() {
    await using t = serverWithLinks(RULES);
    const replies = await session(t, [
      // RNFR looks at what it renames: not possible through a link into a drop box.
      ["cmd", "RNFR /pub/latest"],
      ["cmd", "DELE /pub/latest"],
      ["cmd", "DELE /pub/secret-link"],
      // A link to the read-only directory moves; the directory and its rules stay.
      ["cmd", "RNFR /pub/ro"],
      ["cmd", "RNTO /pub/moved"],
      ["retr", "/pub/moved/keep.txt"],
      ["stor", "/pub/moved/new.txt", "no"],
      ["cmd", "DELE /pub/moved/keep.txt"],
    ]);
    assertCodes(replies, ["550", "250", "250", "350", "250", "226", "550", "550"]);
    equal(replies[5][1], "keep");
    deepEqual(names(`${t.root}/pub`), ["moved", "readme.txt"]);
    equal(Deno.readLinkSync(`${t.root}/pub/moved`), "../ro");
    equal(Deno.readTextFileSync(`${t.root}/inbox/secret.txt`), "dropped");
    equal(Deno.readTextFileSync(`${t.root}/ro/keep.txt`), "keep");
  },
});

Deno.test({
  name: "a user without rules reads through a symlink inside the root as before",
  ignore,
  async fn() {
    await using t = serverWithLinks(undefined);
    const replies = await session(t, [
      ["retr", "/pub/latest/secret.txt"],
      ["list", "NLST /pub/latest"],
      ["stor", "/pub/ro/new.txt", "ok"],
    ]);
    deepEqual(replies, [["226", "dropped"], ["226", "/pub/latest/secret.txt"], ["226", ""]]);
    equal(Deno.readTextFileSync(`${t.root}/ro/new.txt`), "ok");
  },
});

Deno.test({
  name:
    "a symlink from one mount into another mount's directory is judged by that mount's rules (with a quota)",
  ignore,
  async fn() {
    // /drop is mounted from a directory that also lies inside the root mount's directory: a link
    // in the root mount, or the directory's own name there, reaches it without the mount's path.
    const root = tempDir();
    try {
      Deno.mkdirSync(`${root}/drop-data`);
      Deno.mkdirSync(`${root}/pub`);
      Deno.writeTextFileSync(`${root}/drop-data/secret.txt`, "dropped");
      Deno.writeTextFileSync(`${root}/pub/a.txt`, "a");
      Deno.symlinkSync("../drop-data", `${root}/pub/to-drop`);
      await using t = startServer({
        root,
        users: [{
          name: USER,
          password: PASSWORD,
          mounts: [{ path: "/", root }, { path: "/drop", root: `${root}/drop-data` }],
          rules: [{ path: "/", allow: PERMISSIONS }, { path: "/drop", allow: ["upload"] }],
          limits: { quotaBytes: 1_000_000 },
        }],
      });
      const replies = await session(t, [
        ["retr", "/drop/secret.txt"],
        ["retr", "/pub/to-drop/secret.txt"],
        ["retr", "/drop-data/secret.txt"],
        ["list", "NLST /pub/to-drop"],
        ["stor", "/pub/to-drop/new.txt", "new"],
        ["stor", "/pub/to-drop/secret.txt", "over"],
        ["retr", "/pub/a.txt"],
      ]);
      assertCodes(replies, ["550", "550", "550", "550", "226", "550", "226"]);
      equal(replies[6][1], "a");
      equal(Deno.readTextFileSync(`${root}/drop-data/new.txt`), "new");
      equal(Deno.readTextFileSync(`${root}/drop-data/secret.txt`), "dropped");
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});
