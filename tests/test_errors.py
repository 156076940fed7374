"""Whatever fails inside exec's concurrent tasks, the caller gets one SandlotError (the
most telling), never an exception group; the group is kept as its ``__cause__``."""

from __future__ import annotations

import signal

import anyio
import pytest

import sandlot
from sandlot._records import ExitStatus
from sandlot._transport import ClosedInput, LaunchSpec, RawProcess, Transport


class _Failing(anyio.abc.ByteReceiveStream):
    """Raises ``error`` (or blocks forever); with ``after``, only once that is set."""

    def __init__(self, error: BaseException | None, after: anyio.Event | None = None) -> None:
        self.error = error
        self.after = after
        self.raised = anyio.Event()

    async def receive(self, max_bytes: int = 65536) -> bytes:
        await anyio.lowlevel.checkpoint()
        if self.error is None:
            await anyio.sleep_forever()
        if self.after is not None:
            with anyio.CancelScope(shield=True):  # fail together with the other stream
                await self.after.wait()
        self.raised.set()
        raise self.error

    async def aclose(self) -> None:
        pass


class _Process(RawProcess):
    def __init__(self, stdout: BaseException | None, stderr: BaseException | None) -> None:
        self.stdin = ClosedInput()
        self.stderr = _Failing(stderr)
        self.stdout = _Failing(stdout, after=self.stderr.raised)

    async def wait_ready(self) -> None:
        await anyio.lowlevel.checkpoint()

    async def wait(self) -> ExitStatus:
        await anyio.sleep_forever()
        raise AssertionError

    def poll(self) -> ExitStatus | None:
        return ExitStatus(code=0)  # nothing left to terminate

    async def signal(self, sig: signal.Signals) -> None:
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        pass


class _Transport(Transport):
    name = "fake"

    def __init__(self, stdout: BaseException | None, stderr: BaseException | None) -> None:
        self.errors = (stdout, stderr)

    async def start(self, spec: LaunchSpec) -> RawProcess:
        return _Process(*self.errors)

    async def read_file(self, path: str) -> bytes:
        raise NotImplementedError

    async def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        raise NotImplementedError


async def exec_error(stdout: BaseException | None, stderr: BaseException | None) -> BaseException:
    sb = sandlot.Sandbox(_Transport(stdout, stderr))
    with anyio.fail_after(5), pytest.raises(sandlot.SandlotError) as info:
        await sb.exec("x")
    return info.value


async def test_a_stream_task_failing_alone_gives_its_error() -> None:
    # As Daytona's log stream does when its WebSocket cannot be opened.
    failed = sandlot.ConnectionFailed("Daytona failed while following the output")
    exc = await exec_error(None, failed)
    assert exc is failed
    assert isinstance(exc.__cause__, BaseExceptionGroup)


async def test_of_several_failures_the_lost_connection_is_reported() -> None:
    lost = sandlot.ConnectionLost("the connection was lost")
    exc = await exec_error(lost, sandlot.ConnectionFailed("stderr failed"))
    assert exc is lost
    assert isinstance(exc.__cause__, BaseExceptionGroup)
    assert exc.__cause__.subgroup(sandlot.ConnectionFailed) is not None


async def test_an_unexpected_error_becomes_a_sandlot_error() -> None:
    exc = await exec_error(None, RuntimeError("boom"))
    assert type(exc) is sandlot.SandlotError
    assert str(exc) == "unexpected error: RuntimeError: boom"
    assert isinstance(exc.__cause__, BaseExceptionGroup)


class _Interrupt(BaseException):
    """Like KeyboardInterrupt or SystemExit (not an Exception), without stopping pytest."""


async def test_interrupts_are_not_translated() -> None:
    sb = sandlot.Sandbox(_Transport(None, _Interrupt()))
    with pytest.raises(BaseExceptionGroup) as info:  # anyio's group, as it raised it
        await sb.exec("x")
    assert info.group_contains(_Interrupt)
