"""Every shell script sandlot ships (package data ``*.sh``) is ``shellcheck -s sh`` clean,
and the jobs scripts load as they are sent."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import pytest

from sandlot._jobs import _script


def shipped_scripts() -> list[Path]:
    """Every ``*.sh`` file in the sandlot package, wherever it sits."""
    found: list[Path] = []

    def walk(entry: Traversable) -> None:
        for child in entry.iterdir():
            if child.is_dir():
                walk(child)
            elif child.name.endswith(".sh"):
                found.append(Path(str(child)))

    walk(resources.files("sandlot"))
    return sorted(found)


def test_every_shipped_script_is_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        if os.environ.get("CI") == "true":
            pytest.fail("shellcheck is missing (CI=true: it must be installed)")
        pytest.skip("shellcheck is not installed")
    scripts = shipped_scripts()
    assert {p.name for p in scripts} >= {f"{name}.sh" for name in (*_script.SCRIPTS, "lib")}
    failures = []
    for script in scripts:
        # From the script's directory, so that `# shellcheck source=lib.sh` is found (-x).
        run = subprocess.run(
            [shellcheck, "-s", "sh", "-x", script.name],
            cwd=script.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if run.returncode != 0:
            failures.append(f"{script}:\n{run.stdout}{run.stderr}")
    assert not failures, "\n".join(failures)


def test_the_jobs_scripts_load_with_their_functions() -> None:
    assert sorted(_script.shipped()) == sorted(f"{n}.sh" for n in (*_script.SCRIPTS, "lib"))
    for name in _script.SCRIPTS:
        text = _script.load(name)
        assert ". ./lib.sh" not in text and "read_status() {" in text
        assert not any(line.lstrip().startswith("#") for line in text.splitlines())
    with pytest.raises(ValueError, match="no jobs script 'lib'"):
        _script.load("lib")
