/**
 * Small file-system helpers for tests that check the outcome on disk: a temporary directory by
 * its real path, whether a name exists, how many bytes a tree holds.
 *
 * @module
 */

/** A new temporary directory, by its real path (as a server resolves its root); remove it after. */
export function tempDir(prefix = "ftpgate-test-"): string {
  return Deno.realPathSync(Deno.makeTempDirSync({ prefix }));
}

/** True when `path` names an entry (a dangling symbolic link too); false when nothing is there. */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The bytes of all regular files under `dir`, subdirectories included. */
export function usedBytes(dir: string): number {
  let total = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isFile) total += Deno.statSync(path).size;
    else if (entry.isDirectory) total += usedBytes(path);
  }
  return total;
}
