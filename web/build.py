"""Build the browser terminal's third-party assets into the Python package.

``npm ci`` installs exactly what ``package-lock.json`` pins (xterm.js and its fit add-on)
and their files are copied into ``src/sandlot/_web/static/vendor/`` (not in git). Run
by the wheel's build hook (``hatch_build.py``: every ``pip install``) and by hand:
``python web/build.py``. Without node/npm it says so and the rest of sandlot still works.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
VENDOR = WEB.parent / "src" / "sandlot" / "_web" / "static" / "vendor"
#: What the page loads, and the licences that go with it: node_modules path -> vendor name.
FILES = {
    "@xterm/xterm/lib/xterm.mjs": "xterm.mjs",
    "@xterm/xterm/css/xterm.css": "xterm.css",
    "@xterm/xterm/LICENSE": "LICENSE.xterm",
    "@xterm/addon-fit/lib/addon-fit.mjs": "addon-fit.mjs",
    "@xterm/addon-fit/LICENSE": "LICENSE.addon-fit",
}
#: Holds the hash of the package-lock.json the vendor files were built from.
STAMP = ".lock-sha256"


class BuildError(Exception):
    """The assets could not be built (the message says why and what to do)."""


def _lock_hash() -> str:
    return hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()


def up_to_date() -> bool:
    stamp = VENDOR / STAMP
    if not stamp.is_file() or not all((VENDOR / name).is_file() for name in FILES.values()):
        return False
    return stamp.read_text().strip() == _lock_hash()


def build(force: bool = False) -> bool:
    """Build unless up to date; True if it ran. Raises BuildError."""
    if not force and up_to_date():
        return False
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm is not on PATH: install Node.js (20 or later) and npm, then run "
            "`python web/build.py` (or reinstall sandlot) to build the browser terminal"
        )
    # --ignore-scripts: no package's install script runs on the build machine.
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        done = subprocess.run(cmd, cwd=WEB, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"`npm ci` in {WEB} failed: {exc}") from None
    if done.returncode != 0:
        raise BuildError(f"`npm ci` in {WEB} failed:\n{done.stdout}{done.stderr}".rstrip())
    VENDOR.mkdir(parents=True, exist_ok=True)
    for source, name in FILES.items():
        shutil.copyfile(WEB / "node_modules" / source, VENDOR / name)
    (VENDOR / STAMP).write_text(_lock_hash() + "\n")
    return True


def main() -> int:
    try:
        ran = build(force="--force" in sys.argv[1:])
    except BuildError as exc:
        print(f"web/build.py: {exc}", file=sys.stderr)
        return 1
    shown = os.path.relpath(VENDOR)
    print(f"web/build.py: {'built' if ran else 'up to date:'} {shown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
