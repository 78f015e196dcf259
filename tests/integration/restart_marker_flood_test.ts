/**
 * A hostile MODE B/C upload of nothing but restart markers must not grow the server's memory
 * without bound (each marker asks for a 110 reply; they are coalesced, one on its way at a time),
 * and the session must still end the transfer and answer. The server runs as its own process
 * (main.ts) so that its resident memory can be read from /proc.
 */
import { ok } from "node:assert/strict";
import { writeAll } from "../../src/io.ts";
import { loginBinary, MiB, startServerProcess } from "../helpers/hardening_helpers.ts";

/** `count` MODE B marker blocks (descriptor 16, one byte "1"): 4 bytes each. */
function markerBlocks(count: number): Uint8Array {
  const out = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) out.set([16, 0, 1, 0x31], i * 4);
  return out;
}

/** `count` MODE C restart markers ("1"): 4 bytes each. */
function compressedMarkers(count: number): Uint8Array {
  // RFC 959 §3.4.3: an escape (0x00) with the marker descriptor (16), then a one-byte string.
  const out = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) out.set([0x00, 0x10, 0x01, 0x31], i * 4);
  return out;
}

for (const mode of ["B", "C"] as const) {
  Deno.test({
    name:
      `MODE ${mode}: a flood of restart markers from a client that does not read its replies does not grow the server's memory`,
    ignore: Deno.build.os !== "linux",
    async fn() {
      const root = Deno.makeTempDirSync({ prefix: "ftpgate-marks-" });
      try {
        await using server = await startServerProcess(root);
        await using c = await loginBinary(server.port);
        await c.expect(`MODE ${mode}`, 200);
        const before = server.rss;
        const data = await c.epsv();
        await c.expect("STOR flood.bin", 150);
        // 2,000,000 markers = 8 MB on the wire, each asking for a 110 reply that the client
        // does not read. Queued one per marker they grew the server by 1.2 GiB; coalesced the
        // growth is the heap's headroom, about 90 MiB whether 2 MB or 8 MB are sent.
        const blocks = mode === "B" ? markerBlocks(250_000) : compressedMarkers(250_000);
        for (let i = 0; i < 8; i++) await writeAll(data, blocks);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const grown = server.rss - before;
        data.close();
        ok(
          grown < 160 * MiB,
          `the server's memory grew by ${Math.round(grown / MiB)} MiB for 8 MB of markers`,
        );
        // Now read: a few coalesced 110s (the newest marker last), then the transfer's end.
        let reply = await c.read(10_000);
        let marks = 0;
        while (reply.code === 110) {
          marks++;
          ok(/^MARK 1 = 0$/.test(reply.text), reply.text);
          reply = await c.read(10_000);
        }
        ok(marks >= 1 && marks < 10_000, `${marks} restart marker replies for 2,000,000 markers`);
        ok([426, 451].includes(reply.code), `the cut upload ends with ${reply.code}`);
        await c.expect("NOOP", 200);
      } finally {
        Deno.removeSync(root, { recursive: true });
      }
    },
  });
}
