/**
 * `deno task check` part: fails when any two modules under `src/` import each other, directly or
 * through others (type-only imports included: a cycle of types is still a cycle of design).
 *
 *   deno run --allow-run --allow-read scripts/check_cycles.ts [entry ...]
 *
 * Reads the module graph from `deno info --json` for the entry points (default: main.ts,
 * src/mod.ts, src/testing.ts and every file in src/), then finds strongly connected components
 * (Tarjan). Prints each cycle as a chain of paths and exits 1 when there is one.
 *
 * @module
 */

interface InfoDependency {
  code?: { specifier: string };
  type?: { specifier: string };
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

const repo = new URL("..", import.meta.url);
const src = new URL("src/", repo).href;

function sourceFiles(dir: URL): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) out.push(...sourceFiles(url));
    else if (entry.name.endsWith(".ts")) out.push(url.pathname);
  }
  return out;
}

async function graph(entries: string[]): Promise<Map<string, Set<string>>> {
  const edges = new Map<string, Set<string>>();
  for (const entry of entries) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: repo.pathname,
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error(`deno info failed for ${entry}`);
    const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: InfoModule[] };
    for (const module of info.modules) {
      if (!module.specifier.startsWith(src)) continue;
      const targets = edges.get(module.specifier) ?? new Set<string>();
      edges.set(module.specifier, targets);
      for (const dependency of module.dependencies ?? []) {
        for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
          if (target?.startsWith(src)) targets.add(target);
        }
      }
    }
  }
  return edges;
}

/** Strongly connected components with more than one module, or a module importing itself. */
function cycles(edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || edges.get(node)?.has(node)) found.push(component.reverse());
    }
  };
  for (const node of edges.keys()) if (!indices.has(node)) visit(node);
  return found;
}

const entries = Deno.args.length > 0
  ? Deno.args
  : ["main.ts", "src/testing.ts", ...sourceFiles(new URL("src/", repo))];
const edges = await graph(entries);
const found = cycles(edges);
const relative = (specifier: string) => specifier.slice(repo.href.length);
if (found.length > 0) {
  for (const component of found) {
    // deno-lint-ignore no-console
    console.error(
      `import cycle: ${component.map(relative).join(" → ")} → ${relative(component[0])}`,
    );
  }
  Deno.exit(1);
}
// deno-lint-ignore no-console
console.log(`no import cycles among ${edges.size} modules in src/`);
