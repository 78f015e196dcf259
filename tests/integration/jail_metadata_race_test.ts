/**
 * The jail under a symlink swap race, for the commands that change metadata: MFMT and SITE
 * CHMOD must never reach a file outside the root. utime() and chmod() by path follow a symlink
 * that was swapped in after the check; ftpgate changes the metadata through a handle proven to
 * be the checked file instead.
 */
import { ok } from "node:assert/strict";
import { Canary, loginBinary, report, startSwapper } from "../helpers/hardening_helpers.ts";
import { withTimeout } from "../helpers/protocol_helpers.ts";
import { startServer } from "../helpers/server.ts";

/** Swaps `victim` between a regular file and a symlink to the canary, for `MS` milliseconds. */
const SWAPPER = `
const root = Deno.env.get("ROOT"), canary = Deno.env.get("CANARY");
const end = Date.now() + Number(Deno.env.get("MS"));
let swaps = 0;
while (Date.now() < end) {
  Deno.symlinkSync(canary, root + "/.swap-link");
  Deno.renameSync(root + "/.swap-link", root + "/victim");
  Deno.writeTextFileSync(root + "/.swap-file", "inside");
  Deno.renameSync(root + "/.swap-file", root + "/victim");
  swaps++;
}
console.log(swaps);
`;

Deno.test("jail: MFMT and SITE CHMOD racing a symlink swap never touch a file outside", async () => {
  const ms = 2_000;
  await using t = startServer({ files: { victim: "inside" } });
  using canary = new Canary();
  await using c = await loginBinary(t.port);
  const swapper = startSwapper(SWAPPER, { ROOT: t.root, CANARY: canary.file, MS: String(ms) });
  const counts = { ok: 0, refused: 0 };
  const race = async () => {
    for (let i = 0; swapper.running; i++) {
      const line = i % 2 === 0 ? "MFMT 20010101000000 victim" : "SITE CHMOD 777 victim";
      const reply = await c.command(line);
      if (reply.code === 213 || reply.code === 200) counts.ok++;
      else counts.refused++;
    }
  };
  await withTimeout(race(), ms + 20_000, "the race loop");
  const output = await swapper.output;
  ok(output.success, new TextDecoder().decode(output.stderr));
  report(
    `metadata swap race: ${new TextDecoder().decode(output.stdout).trim()} swaps; ` +
      `${counts.ok} changed inside, ${counts.refused} refused`,
  );
  ok(counts.ok > 0 && counts.refused > 0, "the race never saw both states");
  canary.assertIntact("after MFMT/SITE CHMOD racing a swap");
});
