"""``sandlot sandboxes``, as users run it (a subprocess), on both stores and loops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from targets.postgres import Postgres


# Each invocation is a process of its own (slow): one case, PostgreSQL on trio (the
# registry's tests cover both stores and loops; the CLI is the same on each).
def test_create_ls_show_start_stop_rm(postgres: Postgres, tmp_path: Path) -> None:
    store_url, loop = postgres.new_database(), "trio"
    root = tmp_path / "fake"
    root.mkdir()
    env = {**os.environ, "SANDLOT_DB": store_url, "SANDLOT_CLI_ASYNC_BACKEND": loop}
    env["SANDLOT_CONFIG"] = str(tmp_path / "none.toml")
    env.pop("SANDLOT_SANDBOX", None)

    def sandlot(*args: str, code: int = 0) -> str:
        r = subprocess.run(
            [sys.executable, "-m", "sandlot", "sandboxes", *args],
            capture_output=True, env=env, timeout=60,
        )  # fmt: skip
        assert r.returncode == code, r
        return (r.stdout if code == 0 else r.stderr).decode()

    sid = sandlot("create", "local", "--purpose", "ci", "--label", "team=a", "--key", "k").strip()
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
