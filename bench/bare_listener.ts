/**
 * The smallest Deno program that answers like an FTP server: listen, write one 220 line per
 * connection. `startup` compares ftpgate's time to its first banner with this one's, to separate
 * what Deno costs from what ftpgate adds.
 *
 * Usage: deno run -A bench/bare_listener.ts PORT
 *
 * @module
 */

const port = Number(Deno.args[0] ?? "2121");
const banner = new TextEncoder().encode("220 ready\r\n");
const listener = Deno.listen({ hostname: "127.0.0.1", port });
for await (const conn of listener) {
  conn.write(banner).catch(() => {}).finally(() => conn.close());
}
