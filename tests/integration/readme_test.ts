/**
 * The README's shell commands run as written, on a fresh copy of the repository (its tracked and
 * new files, nothing else), with bounded time.
 *
 * Every ```sh block of README.md says what to do with it in an HTML comment on the line before:
 *
 *   <!-- readme-test: servers -->                 each command starts a server: it must print its
 *                                                 ready line, greet a client, and stop with exit 0
 *                                                 on SIGTERM
 *   <!-- readme-test: clients of "COMMAND" -->    the block runs as one script (bash -e) while
 *                                                 COMMAND (a command of a servers block) runs
 *   <!-- readme-test: skip (REASON) -->           not run, for the reason given
 *
 * A block without a marker fails the first test, so a new block always says which it is.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { type CliProcess, REPO, startCli } from "../helpers/cli_helpers.ts";
import { localDir } from "../helpers/clients.ts";
import { waitFor } from "../helpers/protocol_helpers.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { needs, runCommand } from "../helpers/tools.ts";

type Marker =
  | { kind: "servers" }
  | { kind: "clients"; server: string }
  | { kind: "skip"; reason: string };

interface Block {
  /** Line number of the opening fence (1-based). */
  line: number;
  marker: Marker | undefined;
  text: string;
}

const MARKER = /^<!--\s*readme-test:\s*(.*?)\s*-->$/;

function parseMarker(text: string): Marker | undefined {
  if (text === "servers") return { kind: "servers" };
  const clients = /^clients of "(.+)"$/.exec(text);
  if (clients) return { kind: "clients", server: clients[1] };
  const skip = /^skip \((.+)\)$/.exec(text);
  if (skip) return { kind: "skip", reason: skip[1] };
  return undefined;
}

/** The ```sh blocks of a Markdown text, each with the marker on the line before it, if any. */
function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i])) {
      if (lines[i].startsWith("```")) {
        // Another language: skip to its closing fence.
        while (++i < lines.length && !lines[i].startsWith("```"));
      }
      continue;
    }
    let previous = i - 1;
    while (previous >= 0 && lines[previous].trim() === "") previous--;
    const found = MARKER.exec(lines[previous]?.trim() ?? "");
    const start = i;
    const body: string[] = [];
    while (++i < lines.length && !lines[i].startsWith("```")) body.push(lines[i]);
    blocks.push({
      line: start + 1,
      marker: found ? parseMarker(found[1]) : undefined,
      text: body.join("\n"),
    });
  }
  return blocks;
}

/** The commands of a block: its lines without comments and blank lines. */
function commands(block: Block): string[] {
  return block.text.split("\n").filter((line) => line.trim() !== "" && !/^\s*#/.test(line));
}

const README = Deno.readTextFileSync(`${REPO}README.md`);
const BLOCKS = shellBlocks(README);

/**
 * A fresh copy of the repository: the files git tracks (or would track: new, not ignored), as
 * they are in the working tree now. What a `git clone` of this work would hold.
 */
async function freshCopy(): Promise<AsyncDisposable & { path: string }> {
  const listed = await runCommand(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    { cwd: REPO },
  );
  equal(listed.code, 0, listed.stderr);
  const copy = localDir();
  for (const file of listed.stdout.split("\0").filter(Boolean)) {
    const from = `${REPO}${file}`;
    try {
      if (!Deno.lstatSync(from).isFile) continue;
    } catch {
      continue; // deleted in the working tree
    }
    const to = `${copy.path}/${file}`;
    Deno.mkdirSync(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    Deno.copyFileSync(from, to);
  }
  return copy;
}

/** Runs one README command line through bash, as a user's shell would. */
function run(command: string, cwd: string): CliProcess {
  // `exec`: the signal the test sends reaches the command itself, not a waiting shell.
  return startCli(["-c", `exec ${command}`], { executable: "bash", cwd, stdin: true });
}

/** Waits for the ready line (the URL line, or the JSON line); returns the port it names. */
async function readyPort(server: CliProcess, command: string): Promise<number> {
  let exited = false;
  server.exited.then(() => exited = true);
  const ready = () => server.stdout().split("\n").find((line) => /^(ftp:\/\/|\{)/.test(line));
  await waitFor(() => ready() !== undefined || exited, `the ready line of: ${command}`, 30_000);
  const first = ready();
  if (first === undefined) {
    throw new Error(`${command}: no ready line\n${server.stdout()}\n${server.stderr()}`);
  }
  const url = first.startsWith("{") ? JSON.parse(first).url : first.split(" ")[0];
  return Number(new URL(url).port);
}

async function stop(server: CliProcess, command: string): Promise<void> {
  server.kill("SIGTERM");
  const exit = await server.wait(15_000);
  equal(exit.code, 0, `${command}: exit ${exit.code}\n${exit.stderr}`);
}

Deno.test("README.md: every shell block says whether the README test runs it", () => {
  ok(BLOCKS.length >= 5, `${BLOCKS.length} blocks`);
  const unmarked = BLOCKS.filter((block) => block.marker === undefined);
  deepEqual(
    unmarked.map((block) => `README.md:${block.line}: ${block.text.split("\n")[0]}`),
    [],
    'put <!-- readme-test: servers | clients of "COMMAND" | skip (REASON) --> before each',
  );
  const servers = BLOCKS.filter((block) => block.marker?.kind === "servers")
    .flatMap(commands)
    .map((line) => line.replace(/\s+#.*$/, "").trim());
  for (const block of BLOCKS) {
    const marker = block.marker;
    if (marker?.kind !== "clients") continue;
    ok(
      servers.includes(marker.server),
      `README.md:${block.line}: "${marker.server}" is not a command of a servers block`,
    );
  }
});

Deno.test({
  name: "README.md: every server command starts, greets a client and stops on SIGTERM",
  ignore: Deno.build.os === "windows" || needs("git") || needs("bash"),
  async fn() {
    await using copy = await freshCopy();
    const lines = BLOCKS.filter((block) => block.marker?.kind === "servers").flatMap(commands);
    ok(lines.length >= 4, lines.join("\n"));
    for (const command of lines) {
      await using server = run(command, copy.path);
      const port = await readyPort(server, command);
      {
        await using raw = await RawClient.connect(port);
        equal(raw.banner.code, 220, command);
        await raw.expect("QUIT", 221);
      }
      await stop(server, command);
      const left = [...Deno.readDirSync(copy.path)].map((entry) => entry.name);
      ok(!left.includes("ready.json"), `${command}: the ready file is removed at exit`);
    }
  },
});

/** Programs the client blocks use, each skipped loudly when missing. */
const CLIENTS = ["curl", "lftp", "wget", "python3"];

for (const block of BLOCKS) {
  const marker = block.marker;
  if (marker?.kind !== "clients") continue;
  const used = CLIENTS.filter((tool) => new RegExp(`^${tool} `, "m").test(block.text));
  Deno.test({
    name: `README.md:${block.line}: the client commands run against ${marker.server}`,
    ignore: Deno.build.os === "windows" || needs("git") || needs("bash") ||
      used.some((tool) => needs(tool)),
    async fn() {
      await using copy = await freshCopy();
      await using scratch = localDir();
      await using server = run(marker.server, copy.path);
      await readyPort(server, marker.server);
      const script = await runCommand("bash", ["-e", "-o", "pipefail", "-c", block.text], {
        cwd: scratch.path,
        // The block's `mktemp -d` lands in a directory this test removes.
        env: { TMPDIR: scratch.path },
        timeoutMs: 120_000,
      });
      equal(script.code, 0, `the commands failed:\n${script.stdout}\n${script.stderr}`);
      await stop(server, marker.server);
      const sessions = server.stderr().match(/ logged in from /g)?.length ?? 0;
      ok(sessions >= used.length, `${sessions} logins for ${used.join(", ")}`);
    },
  });
}
