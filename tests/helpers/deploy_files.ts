/**
 * Reading the files of deploy/ for tests: the Dockerfile's stages and its compile command (with
 * dockerfile-ast, the parser of VS Code's Dockerfile language server), Deno permission flags as
 * path lists, and the port ranges they all name.
 *
 * @module
 */

import { DockerfileParser } from "dockerfile-ast";
import { REPO } from "./cli_helpers.ts";

/** The repository's deploy/ directory, with a trailing slash. */
export const DEPLOY = `${REPO}deploy/`;

/** One instruction: its keyword and its arguments, line continuations joined. */
export interface Instruction {
  keyword: string;
  args: string[];
  /** Its flags (`--from=build` → `{ from: "build" }`), which `args` does not hold. */
  flags: Record<string, string>;
  /** The arguments as written, continuations joined. */
  text: string;
  /** 0-based line. */
  line: number;
}

/** A build stage: its FROM and what follows until the next FROM. */
export interface Stage {
  image: string;
  tag: string | undefined;
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile's ARG defaults (before the first FROM), and its stages. */
export interface Dockerfile {
  text: string;
  args: Record<string, string>;
  stages: Stage[];
}

/** Parses a Dockerfile; `${NAME}` in a FROM is replaced by the ARG's default. */
export function parseDockerfile(text: string): Dockerfile {
  const parsed = DockerfileParser.parse(text);
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of parsed.getInstructions()) {
    const keyword = instruction.getKeyword();
    const flags: Record<string, string> = {};
    const withFlags = instruction as unknown as {
      getFlags?: () => { getName(): string; getValue(): string | null }[];
    };
    for (const flag of withFlags.getFlags?.() ?? []) flags[flag.getName()] = flag.getValue() ?? "";
    const item: Instruction = {
      keyword,
      flags,
      args: instruction.getArguments().map((arg) => arg.getValue()),
      text: instruction.getArgumentsContent() ?? "",
      line: instruction.getRange().start.line,
    };
    if (keyword === "FROM") {
      const [reference, as, name] = item.args;
      const resolved = reference.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? "");
      const colon = resolved.lastIndexOf(":");
      const slash = resolved.lastIndexOf("/");
      const tagged = colon > slash;
      stages.push({
        image: tagged ? resolved.slice(0, colon) : resolved,
        tag: tagged ? resolved.slice(colon + 1) : undefined,
        name: as?.toUpperCase() === "AS" ? name : undefined,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (keyword === "ARG") {
        const [name, value] = item.args[0].split("=");
        args[name] = value ?? "";
      }
    } else {
      stages.at(-1)!.instructions.push(item);
    }
  }
  return { text, args, stages };
}

/** The Dockerfile of deploy/. */
export function readDockerfile(): Dockerfile {
  return parseDockerfile(Deno.readTextFileSync(`${DEPLOY}Dockerfile`));
}

/** The words of the `RUN deno compile ...` of a stage (shell form, no quoting in it). */
export function compileCommand(stage: Stage): string[] {
  const run = stage.instructions.find((i) =>
    i.keyword === "RUN" && /\bdeno compile\b/.test(i.text)
  );
  if (run === undefined) throw new Error("no RUN deno compile in the build stage");
  return run.text.trim().split(/\s+/);
}

/** Deno's permission flags in `words`: `read` → the paths of `--allow-read=...`, and so on. */
export interface Grants {
  net: string[] | "all" | undefined;
  read: string[];
  write: string[];
  env: string[];
  run: string[] | "all" | undefined;
  ffi: string[] | "all" | undefined;
}

/** Reads the `--allow-*` flags of a Deno command line. */
export function grantsOf(words: readonly string[]): Grants {
  const grants: Grants = {
    net: undefined,
    read: [],
    write: [],
    env: [],
    run: undefined,
    ffi: undefined,
  };
  for (const word of words) {
    const match = /^--allow-(net|read|write|env|run|ffi)(?:=(.*))?$/.exec(word);
    if (match === null) continue;
    const kind = match[1] as "net" | "read" | "write" | "env" | "run" | "ffi";
    const values = match[2] === undefined ? "all" : match[2].split(",");
    if (kind === "net" || kind === "run" || kind === "ffi") grants[kind] = values;
    else if (values === "all") throw new Error(`--allow-${kind} without a list`);
    else grants[kind].push(...values);
  }
  return grants;
}

/** Whether a path grant list covers `path` (the path itself or a directory above it). */
export function covers(grants: readonly string[], path: string): boolean {
  return grants.some((grant) => path === grant || path.startsWith(grant.replace(/\/$/, "") + "/"));
}

/** Whether an env grant list (names, `PREFIX_*` wildcards) covers `name`. */
export function coversEnv(grants: readonly string[], name: string): boolean {
  return grants.some((grant) =>
    grant.endsWith("*") ? name.startsWith(grant.slice(0, -1)) : grant === name
  );
}

/** `"50000-50019"` or `[50000, 50019]` → every port in it. */
export function portsOf(range: string | readonly number[]): number[] {
  const [from, to] = typeof range === "string" ? range.split("-").map(Number) : range;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
