"""``sandlot sandboxes``: the first command as users run it (a subprocess), the others
through the same ``main`` in this process (a process each costs ~0.5 s of start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandlot._cli import main
from targets.postgres import Postgres


@pytest.mark.parametrize("loop", ["asyncio", "trio"])
def test_create_ls_show_start_stop_rm(
    postgres: Postgres,
    tmp_path: Path,
    loop: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    store_url = postgres.new_database()
    monkeypatch.setenv("SANDLOT_DB", store_url)
    monkeypatch.setenv("SANDLOT_CLI_ASYNC_BACKEND", loop)
    monkeypatch.setenv("SANDLOT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("SANDLOT_SANDBOX", raising=False)

    def sandlot(*args: str, code: int = 0) -> str:
        assert main(["sandboxes", *args]) == code
        out, err = capfd.readouterr()
        return out if code == 0 else err

    argv = ["create", "local", "--purpose", "ci", "--label", "team=a", "--key", "k"]
    first = subprocess.run(
        [sys.executable, "-m", "sandlot", "sandboxes", *argv],
        capture_output=True, env=dict(os.environ), timeout=60,
    )  # fmt: skip
    assert (first.returncode, first.stderr) == (0, b"")
    sid = first.stdout.decode().strip()
    assert sandlot("create", "local", "--key", "k").strip() == sid  # a retry: same record
    header, row = sandlot("ls").splitlines()
    assert header.split() == ["ID", "STATUS", "PROVIDER", "PROVIDER", "ID", "PURPOSE",
                              "CREATED", "LABELS"]  # fmt: skip
    assert row.split()[:5] == [sid, "active", "local", "-", "ci"] and row.endswith("team=a")
    assert sandlot("ls", "--label", "team=b").splitlines()[1:] == []
    assert sandlot("stop", sid) == f"{sid} stopped\n"
    lines = sandlot("ls", "--status", "stopped", "--json").splitlines()
    [listed] = [json.loads(line) for line in lines]
    assert (listed["id"], listed["labels"], listed["purpose"]) == (sid, {"team": "a"}, "ci")
    assert sandlot("start", sid) == f"{sid} active\n"
    shown = json.loads(sandlot("show", sid))
    assert shown["status"] == "active" and shown["version"] == 2
    assert sandlot("rm", sid) == ""
    assert sandlot("ls", "--purpose", "ci").splitlines()[1:] == []
    error = sandlot("show", sid, code=1)
    assert error.startswith(f"sandlot: error: no sandbox with id {sid!r} in ")
