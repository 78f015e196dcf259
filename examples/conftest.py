"""pytest fixture: a throwaway ftpgate server per test.

ftpgate writes a JSON "ready" file once it listens; the fixture waits for that file, hands its
contents to the test, and stops the server afterwards. Run (from the repository root):

    python3 -m pytest examples/ -q
"""

import json
import pathlib
import subprocess
import time

import pytest

MAIN = pathlib.Path(__file__).resolve().parent.parent / "main.ts"


@pytest.fixture
def ftp_server(tmp_path):
    """Starts ftpgate on a free port with a random user; yields the ready line as a dict:
    {"event": "ready", "url", "host", "port", "pid", "user", "password"}."""
    root = tmp_path / "root"
    root.mkdir()
    ready_file = tmp_path / "ready.json"
    process = subprocess.Popen(
        [
            "deno", "run", "-A", str(MAIN),
            "--root", str(root),
            "--port", "0",
            "--user", "random",
            "--ready-file", str(ready_file),
            # If pytest dies, the server sees its stdin close and exits as well.
            "--stdin-lifeline",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,  # the ready line is printed too; the file is enough
    )
    try:
        deadline = time.monotonic() + 15
        # The file is written atomically (write + rename): once it exists, it is complete.
        while not ready_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"ftpgate exited with {process.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise TimeoutError("ftpgate did not write its ready file within 15 s")
            time.sleep(0.02)
        ready = json.loads(ready_file.read_text())
        ready["root"] = root
        yield ready
    finally:
        process.stdin.close()  # --stdin-lifeline: shut down cleanly
        try:
            assert process.wait(timeout=5) == 0, "ftpgate exits 0 when its stdin closes"
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
