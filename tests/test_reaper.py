"""The Reaper's retries of kills that could not be delivered, as concurrent starts run
them (each start on a Sandbox retries what is pending)."""

from __future__ import annotations

import signal

import anyio

from sandlot._backends.local import LocalTransport
from sandlot._process import Reaper
from sandlot._records import ExitStatus
from sandlot._transport import LaunchSpec


async def test_concurrent_retries_kill_a_pending_process_once() -> None:
    transport = LocalTransport()
    raw = await transport.start(LaunchSpec(("sleep", "60"), None, {}, stdin=False))
    reaper = Reaper(grace=0.2)
    reaper._pending[raw] = ["sleep", "60"]  # a kill given up on earlier
    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(reaper.retry)
            assert not reaper._pending
            assert await raw.wait() == ExitStatus(signal=signal.SIGKILL)
    finally:
        await raw.aclose()
