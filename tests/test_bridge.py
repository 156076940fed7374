"""AsyncioBridge.call_or_abandon: a cancelled caller leaves at once, the call runs to its
end on the library's loop, and only then is what it made disposed of there."""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from sandlot._bridge import AsyncioBridge


async def test_a_cancelled_caller_leaves_at_once_and_the_late_result_is_disposed() -> None:
    bridge = AsyncioBridge()
    gate = asyncio.Event()  # set on the loop: the call may end
    disposed = threading.Event()
    ended: list[str] = []

    async def slow() -> str:
        await gate.wait()
        ended.append("made")
        return "made"

    async def dispose() -> None:
        assert ended == ["made"]  # only once the call has ended
        disposed.set()

    try:
        with anyio.fail_after(5):
            with anyio.CancelScope() as scope:
                scope.cancel()
                await bridge.call_or_abandon(slow, abandon=dispose)
            assert scope.cancelled_caught
            assert ended == [] and not disposed.is_set()  # not waited for
            bridge.call_soon(gate.set)
            assert await anyio.to_thread.run_sync(disposed.wait, 5)
    finally:
        await bridge.aclose()


async def test_a_call_not_given_up_on_returns_or_raises_and_is_not_disposed() -> None:
    bridge = AsyncioBridge()
    disposed: list[None] = []

    async def ok(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    async def fail() -> None:
        await asyncio.sleep(0)
        raise ValueError("boom")

    async def dispose() -> None:
        disposed.append(None)

    try:
        with anyio.fail_after(5):
            assert await bridge.call_or_abandon(ok, 1, abandon=dispose) == 2
            with pytest.raises(ValueError, match="boom"):
                await bridge.call_or_abandon(fail, abandon=dispose)
        assert disposed == []
    finally:
        await bridge.aclose()
