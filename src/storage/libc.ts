/**
 * Where glibc is, for the listing cache's inotify calls (dir_cache.ts). Deno grants FFI per
 * library path, and `dlopen("libc.so.6")` is checked against the name as given, so the cache
 * opens libc by one of these absolute paths and the launcher grants exactly these
 * (`--allow-ffi=...`, src/permissions.ts) rather than every library on the machine.
 *
 * @module
 */

/**
 * glibc's path on the Linux distributions ftpgate targets: Debian and Ubuntu (x86-64, arm64),
 * then Fedora, RHEL and Arch. The first one that exists and may be opened is used.
 */
export const LIBC_PATHS: readonly string[] = [
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/usr/lib64/libc.so.6",
  "/usr/lib/libc.so.6",
];

/**
 * Opens glibc with `symbols`, or returns null: not Linux, no glibc at a known path, or no FFI
 * permission for it. With unrestricted `--allow-ffi` the loader's own search is used as well.
 */
export function openLibc<const S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S> | null {
  if (Deno.build.os !== "linux") return null;
  const candidates = [...LIBC_PATHS, "libc.so.6"];
  for (const path of candidates) {
    try {
      if (Deno.permissions.querySync({ name: "ffi", path }).state !== "granted") continue;
      return Deno.dlopen(path, symbols);
    } catch { /* not there (musl, another layout): try the next */ }
  }
  return null;
}
