"""A real terminal for end-to-end tests: a private tmux server, driven by keys and read
by capturing the pane. Waits poll the pane for expected text against a deadline."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

_ids = itertools.count()
_SIZE = re.compile(r"rows \d+; columns \d+;")


class Tmux:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed")
        self.socket = f"sandlot-test-{os.getpid()}-{next(_ids)}"
        self.workdir = workdir
        self.env = env
        self._queries = itertools.count()

    def _tmux(self, *args: str) -> str:
        r = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
        )
        if r.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {r.stderr.strip()}")
        return r.stdout

    def run(self, argv: list[str], *, rows: int = 24, cols: int = 80) -> None:
        """Run ``argv`` in a fresh terminal, wrapped so that the terminal settings
        (``stty -a``) before and after, and the exit code, are recorded."""
        w = self.workdir
        # `trap : INT`: a ^C meant for the command must not end this wrapper too.
        script = (
            f"trap : INT; stty -a > {w}/stty-before; "
            f'{shlex.join(argv)}; echo "rc=$?" > {w}/rc; '
            f"stty -a > {w}/stty-after; echo WRAPPER-DONE"
        )
        self._tmux(
            "new-session", "-d", "-s", "t", "-x", str(cols), "-y", str(rows), "sh", "-c", script
        )
        self._tmux("set-option", "-g", "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        """tmux key names: ``Enter``, ``C-c``, ..."""
        self._tmux("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "t", "-l", text)

    def line(self, text: str) -> None:
        self.type(text)
        self.keys("Enter")

    def resize(self, rows: int, cols: int) -> None:
        self._tmux("resize-window", "-t", "t", "-x", str(cols), "-y", str(rows))

    def wait_size(self, rows: int, cols: int, timeout: float = 15.0) -> None:
        """Ask the shell in the terminal for ``stty size`` until it reports rows x cols
        (a resize reaches it asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            i = next(self._queries)
            self.line(f"echo S{i}=$(stty size | tr ' ' x)")
            # Not anchored: typed-ahead input can put the answer after a prompt.
            found = self.wait_for(rf"S{i}=(\d+)x(\d+)$", timeout)
            if found.groups() == (str(rows), str(cols)):
                return
            assert time.monotonic() < deadline, f"size is {found.groups()}, not {rows}x{cols}"

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-t", "t", "-S", "-200")

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.screen(), re.MULTILINE)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{pattern!r} did not appear within {timeout}s; screen:\n{self.screen()}"
                )
            time.sleep(0.05)  # polling the pane for a condition, with a deadline

    def finish(self, timeout: float = 15.0, *, same_size: bool = True) -> int:
        """Wait for the wrapped command to end; return its exit code and check that the
        terminal settings are exactly as before (but the size, unless ``same_size``)."""
        self.wait_for(r"WRAPPER-DONE$", timeout)  # maybe after a remote prompt
        rc = (self.workdir / "rc").read_text().strip()
        assert rc.startswith("rc="), rc
        before = (self.workdir / "stty-before").read_text()
        after = (self.workdir / "stty-after").read_text()
        if not same_size:
            before, after = (_SIZE.sub("", text) for text in (before, after))
        assert after == before, f"terminal not restored:\n{before}\n---\n{after}"
        return int(rc.removeprefix("rc="))

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
