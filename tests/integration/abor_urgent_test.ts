/**
 * ABOR as real clients send it, with Telnet "Synch" (RFC 854: IAC IP, then IAC DM as TCP urgent
 * data) or with the whole line as urgent data (CPython's ftplib.abort(): the kernel takes the
 * last byte, the LF, out of the stream). Each way, 50 times in a row, over IPv4 and IPv6, both
 * while the transfer is still running (a file far larger than the socket buffers) and around
 * its end (a file they almost hold): the transfer is answered 426 (aborted) or 226 (it had
 * ended), the ABOR 226, and the next command at once — never a stray 501 for a leftover Telnet
 * byte, never a session that stops answering.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { needsIPv6, python } from "../helpers/clients.ts";
import { startServer } from "../helpers/server.ts";
import { needs } from "../helpers/tools.ts";

const ROUNDS = 50;

/** The three ways, as Python: each sends an ABOR while `conn` (a RETR) is running. */
const STYLES: Record<string, string> = {
  // CPython's ftplib.abort(): b"ABOR\r\n" sent with MSG_OOB; the urgent LF is taken out.
  "ftplib abort()": `ftp.sock.sendall(b"ABOR\\r\\n", socket.MSG_OOB)`,
  // BSD ftp, tnftp, lftp: IAC IP IAC, then DM as urgent data (removed), then the command.
  "BSD ftp (IAC IP IAC, urgent DM)": `
ftp.sock.sendall(b"\\xff\\xf4\\xff")
ftp.sock.send(b"\\xf2", socket.MSG_OOB)
ftp.sock.sendall(b"ABOR\\r\\n")`,
  // A client sending IAC IP and then IAC DM as urgent data (DM removed, its IAC stays).
  "IAC IP, urgent IAC DM": `
ftp.sock.sendall(b"\\xff\\xf4")
ftp.sock.send(b"\\xff\\xf2", socket.MSG_OOB)
ftp.sock.sendall(b"ABOR\\r\\n")`,
};

function script(style: string, file: string): string {
  return `
ftp = connect(debug=0)
ftp.sock.settimeout(10)  # a hang shows as a timeout in its round, before the 30 s kill
ftp.voidcmd("TYPE I")
outcomes = []
for round in range(${ROUNDS}):
    conn = ftp.transfercmd("RETR ${file}")
    if round % 2 == 0:
        conn.recv(65536)
${style.trim().split("\n").map((line) => "    " + line).join("\n")}
    got = []
    try:
        got.append(ftp.getline()[:3])
        got.append(ftp.getline()[:3])
        got.append(ftp.sendcmd("NOOP")[:3])
    except Exception as e:
        got.append(type(e).__name__)
    conn.close()
    outcomes.append(" ".join(got))
    if got[0] not in ("426", "226") or got[1:] != ["226", "200"]:
        break
result(outcomes)
`;
}

for (const [name, style] of Object.entries(STYLES)) {
  for (const host of ["127.0.0.1", "::1"]) {
    for (const [file, size] of [["huge.bin", 32 << 20], ["small.bin", 2 << 20]] as const) {
      const family = host === "::1" ? "IPv6" : "IPv4";
      Deno.test({
        name: `ABOR ${ROUNDS}× (${name}), ${file}, over ${family}: 426/226, 226, then NOOP 200`,
        ignore: needs("python3") || (host === "::1" && needsIPv6()),
        async fn() {
          await using t = startServer({ hostname: host, files: { [file]: new Uint8Array(size) } });
          const { result } = await python<string[]>(t, script(style, file), { host });
          equal(result.length, ROUNDS, `stopped at round ${result.length}: ${result.at(-1)}`);
          for (const outcome of result) ok(/^(426|226) 226 200$/.test(outcome), outcome);
          // A transfer far larger than the socket buffers is still running at the ABOR.
          if (file === "huge.bin") deepEqual([...new Set(result)], ["426 226 200"]);
        },
      });
    }
  }
}
