"""Backend-agnostic probes used by the conformance tests (they only use the public API)."""

from __future__ import annotations

import pytest

import sandlot


async def gone(sb: sandlot.Sandbox, *pids: str | bytes, within: float = 10.0) -> bool:
    """True once none of ``pids`` exists any more (a killed process can take a moment to
    be reaped, and ``kill -0`` succeeds on a zombie)."""
    ids = " ".join(p.decode() if isinstance(p, bytes) else p for p in pids)
    script = f"for p in {ids}; do while kill -0 $p 2>/dev/null; do sleep 0.02; done; done"
    r = await sb.exec("sh", ["-c", script], timeout=within)
    return not r.timed_out


async def exists(sb: sandlot.Sandbox, path: str) -> bool:
    r = await sb.exec("test", ["-e", path])
    return r.exit.code == 0


async def exited(sb: sandlot.Sandbox, pid: str | bytes, within: float = 10.0) -> bool:
    """True once ``pid`` has exited: gone, or a zombie its parent has not reaped yet."""
    p = pid.decode() if isinstance(pid, bytes) else pid
    script = (
        f"while s=$(cat /proc/{p}/stat 2>/dev/null); do "
        f'set -- ${{s##*) }}; [ "$1" = Z ] && break; sleep 0.02; done'
    )
    r = await sb.exec("sh", ["-c", script], timeout=within)
    return not r.timed_out


def requires(sb: sandlot.Sandbox, *capabilities: str) -> None:
    """Skip a test that uses features the backend declares it lacks: test_capabilities.py
    checks, for each, the NotSupported the backend raises instead."""
    for name in capabilities:
        if not getattr(sb.capabilities, name):
            pytest.skip(
                f"the {sb.backend} backend lacks {name}: "
                f"test_capabilities.py::test_{name} checks its NotSupported"
            )
