"""Fixtures for the durable-jobs tests: a jobs root in the sandbox's scratch directory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

import sandlot


@pytest.fixture
async def jobs(sb: sandlot.Sandbox, scratch: str) -> AsyncIterator[sandlot.Jobs]:
    """A Jobs manager with its own root; every job left over is killed and removed."""
    manager = sandlot.Jobs(sb, root=f"{scratch}/jobs", limits=sandlot.JobLimits(kill_grace=0.5))
    yield manager
    with anyio.CancelScope(shield=True), anyio.fail_after(30):
        for info in await manager.list():
            await manager.remove(info.handle, force=True)
