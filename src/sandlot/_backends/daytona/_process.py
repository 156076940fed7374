"""What the session and pty processes share: their state lives on the SDK's loop, and
these methods read it from the caller's."""

from __future__ import annotations

import abc
import signal as _signal

import anyio

from ..._bridge import AsyncioBridge
from ..._errors import SandlotError
from ..._records import ExitStatus
from ..._transport import RawProcess
from ._errors import operation_error


class BridgedProcess(RawProcess):
    """A process driven through the SDK on ``_bridge``; subclasses set ``_status`` (or
    ``_error``) by the time ``_wait_exit`` returns, and implement ``_kill``."""

    def __init__(self, bridge: AsyncioBridge) -> None:
        self._bridge = bridge
        self._status: ExitStatus | None = None
        self._error: SandlotError | None = None

    @abc.abstractmethod
    async def _wait_exit(self) -> None: ...

    @abc.abstractmethod
    async def _kill(self, sig: _signal.Signals) -> None: ...

    async def wait_ready(self) -> None:
        await anyio.lowlevel.checkpoint()

    async def wait(self) -> ExitStatus:
        if self._status is None:
            await self._bridge.call(self._wait_exit)
        if self._status is None:
            assert self._error is not None
            raise self._error
        return self._status

    def poll(self) -> ExitStatus | None:
        return self._status

    async def signal(self, sig: _signal.Signals) -> None:
        # Also after the exit status: the group may still hold background children.
        try:
            await self._bridge.call(self._kill, sig)
        except Exception as exc:
            raise operation_error(exc, f"sending {sig.name}") from None
