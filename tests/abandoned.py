"""Checks shared by the tests of a start the caller gave up on (a frozen server)."""

from __future__ import annotations

import re

import anyio
import pytest

import sandlot


async def group_gone(sb: sandlot.Sandbox, pgid: int | str) -> bool:
    """True once process group ``pgid`` in ``sb`` is gone (False after 5 s)."""
    gone = f"while kill -0 -{pgid} 2>/dev/null; do sleep 0.05; done"
    return not (await sb.exec("sh", ["-c", gone], timeout=5)).timed_out


async def abandoned_pgid(caplog: pytest.LogCaptureFixture, token: str) -> int:
    """The process group of the start given up on, once sandlot stopped it (it says so)."""
    with anyio.fail_after(20):
        while True:
            for record in caplog.records:
                text = record.getMessage()
                if token in text and "gave up" in text:
                    found = re.search(r"process group (\d+)", text)
                    assert found, text
                    return int(found.group(1))
            await anyio.sleep(0.05)  # polling a condition: the log line comes from a task
