/**
 * The status page in a real browser: Debian's Chromium, headless, driven by playwright-core.
 * A test host plays a server with two sessions and two transfers whose bytes grow, and emits
 * the events a server would; the page must show them, with progress that advances, and must
 * show a hostile name as text.
 *
 * Set STATUS_PAGE_SCREENSHOT=path to also save the desktop screenshot there (how
 * docs/status-page.png is made).
 */

import { equal, match, ok } from "node:assert/strict";
import { attachOps } from "../../src/ops/mod.ts";
import type { BrowserContext } from "playwright-core";
import { HAVE_CHROMIUM, launchChromium, type ProgressLike } from "./browser.ts";
import { TestHost, until } from "./helpers.ts";

const HOSTILE = "<img src=x onerror=alert(1)>";

Deno.test({
  name: "Status page shows live sessions and transfers whose progress bars advance (Chromium)",
  ignore: !HAVE_CHROMIUM,
  // playwright-core keeps its own pipes and timers to the browser between tests.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "ftpgate-status-page-" });
    const host = new TestHost();
    host.config = {
      listen: "0.0.0.0:21",
      passivePorts: "50000-50100",
      tls: true,
      storage: "local",
      maxSessions: 512,
      webhookSecret: "never shown",
    };
    host.passiveListeners = 1;
    const ops = await attachOps(host, { http: { port: 0 } });
    const alice = host.open("203.0.113.10");
    host.login(alice, "alice");
    const evil = host.open("198.51.100.66");
    host.login(evil, HOSTILE);
    const idle = host.open("192.0.2.5");
    host.command(idle, "USER bob", 331);
    // A finished upload before the page opens: in the recent events from the start.
    const earlier = host.startTransfer(alice, "STOR", "/in/invoice-2026-11.pdf");
    earlier.bytes = 245_760;
    host.endTransfer(alice);
    const screenshotOut = Deno.env.get("STATUS_PAGE_SCREENSHOT");
    // For the docs screenshot: a bigger file and a minute of history in the chart.
    const historySeconds = screenshotOut ? Number(Deno.env.get("STATUS_PAGE_SECONDS") ?? 75) : 0;
    const size = screenshotOut ? 4_700_000_000 : 50_000_000;
    host.emit({
      type: "login",
      session: 99,
      remote: "192.0.2.99",
      user: "admin",
      ok: false,
      anonymous: false,
      secure: false,
    });
    const download = host.startTransfer(alice, "RETR", "/releases/big image.iso", size);
    const upload = host.startTransfer(evil, "STOR", `/in/${HOSTILE}.bin`);
    // Bytes flow: the download at ~4 MB/s, the upload at ~1 MB/s, both varying.
    const flowStart = Date.now();
    const flow = setInterval(() => {
      const t = (Date.now() - flowStart) / 1000;
      download.bytes = Math.min(
        download.size!,
        download.bytes + Math.round(400_000 * (1 + 0.4 * Math.sin(t / 6))),
      );
      upload.bytes += Math.round(100_000 * (1 + 0.6 * Math.cos(t / 4)));
    }, 100);
    let context: BrowserContext | undefined;
    try {
      context = await launchChromium(`${tmp}/profile`);
      const page = await context.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(ops.http!.url);

      await page.waitForSelector("#sessions tbody tr[data-session]");
      await until(
        async () => (await page.locator("#sessions tbody tr").count()) === 3,
        5000,
        "three session rows",
      );
      equal(await page.textContent("#state"), "live");
      const users = await page.locator("#sessions tbody td.user").allTextContents();
      ok(users.includes("alice") && users.includes(HOSTILE), users.join(","));

      const bar = page.locator(`.transfer[data-session="${alice}"] progress`);
      await bar.waitFor();
      const first = await bar.evaluate((el: ProgressLike) => el.value);
      const max = await bar.evaluate((el: ProgressLike) => el.max);
      equal(max, size);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const second = await bar.evaluate((el: ProgressLike) => el.value);
      ok(second > first, `progress ${first} → ${second}`);
      const facts = await page.textContent(`.transfer[data-session="${alice}"] .facts`);
      match(facts ?? "", /of [\d.]+ (MiB|GiB) \(\d+ %\) · [\d.]+ (KiB|MiB)\/s · RETR/);
      // The upload has no known size: its bar is indeterminate, its byte count grows.
      const upBar = page.locator(`.transfer[data-session="${evil}"] progress`);
      equal(await upBar.evaluate((el: ProgressLike) => el.hasAttribute("value")), false);

      // The hostile name is text, nowhere markup.
      equal(await page.locator("main img").count(), 0);
      const paths = await page.locator(".transfer .path").allTextContents();
      ok(paths.includes(`/in/${HOSTILE}.bin`), paths.join(","));

      // Throughput chart has points; rates are shown.
      await until(
        async () => ((await page.getAttribute("#line-out", "points")) ?? "").split(" ").length >= 2,
        5000,
        "chart points",
      );
      match(await page.textContent("#rate-out") ?? "", /(KiB|MiB)\/s/);

      if (historySeconds > 0) {
        await new Promise((resolve) => setTimeout(resolve, historySeconds * 1000));
      }
      await page.screenshot({ path: `${tmp}/status-page.png`, fullPage: true });
      ok((await Deno.stat(`${tmp}/status-page.png`)).size > 10_000);
      if (screenshotOut) await Deno.copyFile(`${tmp}/status-page.png`, screenshotOut);

      // Events arrive as they happen.
      download.bytes = download.size!;
      host.endTransfer(alice);
      host.emit({
        type: "file-action",
        session: evil,
        remote: "198.51.100.66",
        user: HOSTILE,
        action: "rename",
        path: `/in/${HOSTILE}.bin`,
        detail: "/done/x.bin",
        ok: true,
        code: 250,
      });
      await until(
        async () => ((await page.textContent("#events")) ?? "").includes("download.completed"),
        5000,
        "download.completed in the event list",
      );
      const eventsText = (await page.textContent("#events")) ?? "";
      ok(eventsText.includes(`/in/${HOSTILE}.bin → /done/x.bin`));

      // Configuration summary, secret masked.
      const config = (await page.textContent("#config")) ?? "";
      ok(config.includes("50000-50100"));
      ok(!config.includes("never shown") && config.includes("***"));

      // Draining shows.
      host.draining = true;
      await until(async () => (await page.textContent("#state")) === "draining", 3000, "draining");

      // On a phone: nothing wider than the screen.
      const phone = await context.newPage();
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(ops.http!.url);
      await phone.waitForSelector(".transfer progress");
      const overflow = await phone.evaluate<number>(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      ok(overflow <= 1, `page is ${overflow} px wider than a phone`);
      await phone.screenshot({ path: `${tmp}/status-page-phone.png`, fullPage: true });
      if (screenshotOut) {
        await Deno.copyFile(
          `${tmp}/status-page-phone.png`,
          screenshotOut.replace(/\.png$/, "-phone.png"),
        );
      }

      equal(dialogs.length, 0, `dialogs: ${dialogs.join(",")}`);
      equal(errors.length, 0, `page errors: ${errors.join(",")}`);
    } finally {
      clearInterval(flow);
      await context?.close();
      await ops.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
