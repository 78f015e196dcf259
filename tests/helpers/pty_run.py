"""Runs a command on a fresh pseudo-terminal, as a user at a terminal would, for tests of
terminal hang-ups and Ctrl-C (tests/integration/launcher_test.ts).

    python3 pty_run.py CWD hangup|interrupt COMMAND [ARG...]

The command becomes the session leader of the new terminal (pty.fork). Protocol on stdout:
`READY <json>` once the command printed its JSON ready line (`--ready-file -`); then the script
waits for one line on stdin (the test's go-ahead), then either closes the terminal (hangup: the
kernel hangs it up) or types Ctrl-C on it (interrupt), and finally prints
`EXIT <code> <seconds from the hang-up or Ctrl-C to the exit>`. What the command wrote on the
terminal goes to stderr at the end.
"""

import json
import os
import pty
import select
import sys
import time

cwd, action, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.execvp(argv[0], argv)

output = b""


def read_some(timeout):
    """Reads what the terminal has within `timeout`; False at its end."""
    global output
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 65536)
    except OSError:  # EIO: every process on the terminal has closed it
        return False
    output += chunk
    return chunk != b""


def wait_exit(deadline):
    """Waits for the command to exit, reading its terminal meanwhile; its exit code or None."""
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if fd >= 0:
            read_some(0.05)
        else:
            time.sleep(0.05)
    return None


deadline = time.monotonic() + 30
line = None
while line is None and time.monotonic() < deadline:
    if not read_some(0.1):
        break
    for text in output.decode("utf-8", "replace").splitlines():
        if text.startswith("{") and '"event":"ready"' in text:
            line = json.loads(text)
            break
if line is None:
    sys.stderr.write(output.decode("utf-8", "replace"))
    print("EXIT none 0", flush=True)
    sys.exit(1)
print("READY " + json.dumps(line), flush=True)
# Wait for the go-ahead, reading the terminal meanwhile: a terminal nobody reads fills up, and
# the command's next write to it would block.
while not select.select([sys.stdin], [], [], 0)[0]:
    if not read_some(0.05):
        break
sys.stdin.readline()
start = time.monotonic()
if action == "hangup":
    os.close(fd)
    fd = -1
else:
    os.write(fd, b"\x03")
code = wait_exit(time.monotonic() + 20)
elapsed = time.monotonic() - start
if code is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
sys.stderr.write(output.decode("utf-8", "replace"))
print(f"EXIT {code if code is not None else 'timeout'} {elapsed:.3f}", flush=True)
