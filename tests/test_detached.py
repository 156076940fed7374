"""Detached: a call its caller gives up on runs on, and what it made is disposed of."""

from __future__ import annotations

import logging

import anyio
import pytest

import sandlot
from sandlot._detached import Detached


async def test_a_caller_that_gives_up_leaves_at_once_and_the_result_is_disposed_of() -> None:
    detached = Detached()
    release = anyio.Event()
    disposed = anyio.Event()
    got: list[str] = []

    async def start() -> str:
        await release.wait()
        return "made"

    async def abandon(result: str) -> None:
        got.append(result)
        disposed.set()

    with anyio.fail_after(5):
        with anyio.move_on_after(0.1) as scope:
            await detached.call_or_abandon(start, abandon=abandon, what="starting x")
        assert scope.cancelled_caught
        release.set()
        await disposed.wait()
    assert got == ["made"]
    await detached.aclose(1, 1)


async def test_a_waiting_caller_gets_the_result_or_the_error() -> None:
    detached = Detached()

    async def ok() -> int:
        await anyio.lowlevel.checkpoint()
        return 3

    async def fails() -> int:
        await anyio.lowlevel.checkpoint()
        raise sandlot.ConnectionLost("gone")

    async def never(_: int) -> None:
        raise AssertionError("not abandoned")

    assert await detached.call_or_abandon(ok, abandon=never, what="x") == 3
    with pytest.raises(sandlot.ConnectionLost, match="gone"):
        await detached.call_or_abandon(fails, abandon=never, what="x")
    await detached.aclose(1, 1)


async def test_closing_is_bounded_and_says_what_may_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    detached = Detached()

    async def hangs() -> int:
        await anyio.sleep_forever()
        raise AssertionError

    async def abandon(_: int) -> None:
        raise AssertionError("nothing was made")

    errors: list[BaseException] = []

    async def waiting_caller() -> None:
        try:
            await detached.call_or_abandon(hangs, abandon=abandon, what="starting waited")
        except sandlot.SandlotError as exc:
            errors.append(exc)

    with anyio.fail_after(5):
        with anyio.move_on_after(0.05):
            await detached.call_or_abandon(hangs, abandon=abandon, what="starting left")
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiting_caller)
            await anyio.wait_all_tasks_blocked()
            started = anyio.current_time()
            await detached.aclose(0.2, 0.2)
        assert anyio.current_time() - started < 1
    # The caller still waiting gets an error, not the close's cancellation.
    assert [type(e) for e in errors] == [sandlot.ConnectionLost]
    assert "closed while starting waited" in str(errors[0])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "starting left, given up on" in warnings[0], warnings
