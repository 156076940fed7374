"""What the session and pty processes share: their state lives on the SDK's loop, and
these methods read it from the caller's."""

from __future__ import annotations

import abc
import asyncio
import logging
import signal as _signal

import anyio

from ..._bridge import AsyncioBridge
from ..._errors import SandlotError
from ..._records import ExitStatus
from ..._transport import LaunchSpec, RawProcess
from ._errors import operation_error

logger = logging.getLogger("sandlot.daytona")

#: Stopping a process whose start was abandoned: how long the kill, then the release of
#: its session, may take.
_ABANDONED_WAIT = 10.0


class BridgedProcess(RawProcess):
    """A process driven through the SDK on ``_bridge``; subclasses set ``_status`` (or
    ``_error``) by the time ``_wait_exit`` returns, ``_pgid`` once the launcher reported,
    and implement ``_kill`` and ``_close``."""

    _spec: LaunchSpec
    _pgid: int | None

    def __init__(self, bridge: AsyncioBridge) -> None:
        self._bridge = bridge
        self._status: ExitStatus | None = None
        self._error: SandlotError | None = None

    @abc.abstractmethod
    async def _wait_exit(self) -> None: ...

    @abc.abstractmethod
    async def _kill(self, sig: _signal.Signals) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None:
        """(SDK's loop) Release the session and the streams."""

    async def _abandon(self) -> None:
        """(SDK's loop) The caller gave up on the start, which has ended: stop what it
        started, then release the session."""
        argv, pgid = list(self._spec.argv), self._pgid
        try:
            if pgid is not None:
                try:
                    await asyncio.wait_for(self._kill(_signal.SIGKILL), _ABANDONED_WAIT)
                except Exception as exc:
                    logger.warning(
                        "could not stop %r (process group %d), whose start the caller gave "
                        "up on: %s",
                        argv,
                        pgid,
                        exc or type(exc).__name__,
                    )
                else:
                    logger.info(
                        "stopped %r (process group %d): it started after the caller gave up on it",
                        argv,
                        pgid,
                    )
        finally:
            await asyncio.wait_for(self._close(), _ABANDONED_WAIT)

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
