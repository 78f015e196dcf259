/**
 * Headless Chromium for the status page tests: Debian's `chromium` package, driven by
 * playwright-core (loaded only by the tests that use it), with a throwaway profile.
 */

import type { BrowserContext } from "playwright-core";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when Chromium is installed. */
export const HAVE_CHROMIUM: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Chromium with the flags of a quiet, offline, throwaway profile in `userDataDir`. */
export async function launchChromium(userDataDir: string): Promise<BrowserContext> {
  const { chromium } = await import("playwright-core");
  return await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1100, height: 1400 },
  });
}

/** What `evaluate` sees of a `<progress>` (the tests are type-checked without the DOM lib). */
export interface ProgressLike {
  value: number;
  max: number;
  hasAttribute(name: string): boolean;
  getAttribute(name: string): string | null;
}
