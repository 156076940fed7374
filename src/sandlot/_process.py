"""Handles for running processes: :class:`Process` (spawn) and :class:`Terminal` (pty)."""

from __future__ import annotations

import logging
import math
import signal as _signal
from collections.abc import Awaitable, Callable
from types import TracebackType

import anyio

from ._errors import ConnectionLost, NotSupported, ProcessExited, SandlotError
from ._outcome import Once
from ._records import Capabilities, ExitStatus, TerminalSize
from ._streams import ProcessInput, ProcessOutput
from ._transport import RawProcess
from ._validate import check_signal, check_size

__all__ = ["Process", "Reaper", "Terminal", "terminate_tree"]

logger = logging.getLogger("sandlot")

#: After a SIGKILL got through, how long to wait for the exit report.
_FINAL_WAIT = 5.0
#: How long one signal may take to reach the host. A signal is a tiny request: one that
#: takes longer means the connection stopped answering (a partition, a frozen server), and
#: cleanup gives up rather than wait for the network to heal.
SIGNAL_WAIT = 3.0
#: How long releasing a process's streams and channel may take on a dead connection.
CLOSE_WAIT = 2.0


async def terminate_tree(raw: RawProcess, grace: float) -> bool:
    """SIGTERM the process group, wait up to ``grace``, then SIGKILL the group.

    When the leader has already exited, what is left of its group gets SIGKILL at once:
    those are background children nobody waits for, whose exit could not be observed to
    end the grace early, so SIGTERM would make every close wait the whole grace.

    Bounded: returns False, at most ``SIGNAL_WAIT`` after a signal that could not be sent,
    when the kill could not be delivered (the caller hands ``raw`` to a :class:`Reaper`).
    """
    if raw.poll() is not None:
        try:
            return await _send(raw, _signal.SIGKILL)
        except ConnectionLost:
            return False
    try:
        if not await _send(raw, _signal.SIGTERM):
            return False
        with anyio.move_on_after(grace):
            if not await _observe_exit(raw):
                await anyio.sleep_forever()  # the exit cannot be seen: give it all the grace
        # SIGKILL even when the leader is gone: it sweeps what is left of the group.
        if not await _send(raw, _signal.SIGKILL):
            return False
        with anyio.move_on_after(_FINAL_WAIT):
            await _observe_exit(raw)
    except ConnectionLost:
        return False  # not even a new connection reaches the host
    return True


async def _send(raw: RawProcess, sig: _signal.Signals) -> bool:
    """Signal the group; False if the signal did not go out within ``SIGNAL_WAIT``."""
    with anyio.move_on_after(SIGNAL_WAIT):
        await raw.signal(sig)
        return True
    return False


async def _observe_exit(raw: RawProcess) -> bool:
    """Wait for the exit; False when the link that would report it is lost (the process
    may run on, and signals still reach it over a new connection)."""
    try:
        await raw.wait()
    except ConnectionLost:
        return False
    return True


class Reaper:
    """Kills for one Sandbox, and the processes whose kill could not be delivered.

    Such a process may run on behind a dead or frozen connection; the kill is retried
    (bounded) after every successful start on the Sandbox, once the network works again,
    and when the Sandbox closes. Giving up is logged on the ``sandlot`` logger.
    """

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._pending: dict[RawProcess, list[str]] = {}
        self._given_up_at = -math.inf

    async def terminate(self, raw: RawProcess, argv: tuple[str, ...]) -> bool:
        """:func:`terminate_tree`, bounded; True once the kill is confirmed delivered."""
        if raw in self._pending:
            return False  # already given up on: do not wait on the dead link twice
        if await terminate_tree(raw, self.grace):
            return True
        self._pending[raw] = list(argv)
        self._given_up_at = anyio.current_time()
        logger.warning(
            "could not kill %r: the connection to the sandbox does not answer; the kill "
            "is retried on the next call and when the sandbox closes",
            list(argv),
        )
        return False

    async def retry(self) -> None:
        """Send SIGKILL again to every pending process, within ``SIGNAL_WAIT`` in all."""
        if not self._pending:
            return
        with anyio.move_on_after(SIGNAL_WAIT):
            for raw in list(self._pending):
                # Taken out while it is tried: concurrent starts retry concurrently.
                argv = self._pending.pop(raw, None)
                if argv is None:
                    continue  # another retry has it
                delivered = False
                try:
                    await raw.signal(_signal.SIGKILL)
                    delivered = True
                except SandlotError:
                    pass  # still unreachable
                finally:
                    if not delivered:
                        self._pending[raw] = argv
                if delivered:
                    logger.info("killed %r once the sandbox answered again", argv)

    async def aclose(self) -> None:
        """A last retry (skipped right after giving up); says what may still be running."""
        if self._pending and anyio.current_time() - self._given_up_at > SIGNAL_WAIT:
            await self.retry()
        if self._pending:
            logger.warning(
                "%d process(es) may still be running in the sandbox: no connection "
                "reached the host to kill them (%s)",
                len(self._pending),
                ", ".join(repr(argv) for argv in self._pending.values()),
            )
            self._pending.clear()


async def release(
    raw: RawProcess,
    argv: tuple[str, ...],
    reaper: Reaper,
    close_streams: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """The shared cleanup, shielded but bounded even on a dead connection: kill the group,
    then drop the streams and the channel."""
    with anyio.CancelScope(shield=True):
        if await reaper.terminate(raw, argv):
            if close_streams is not None:
                with anyio.move_on_after(CLOSE_WAIT):
                    await close_streams()
            with anyio.move_on_after(CLOSE_WAIT):
                await raw.aclose()
            return
        # The host does not answer: one bound for the polite goodbyes together.
        with anyio.move_on_after(CLOSE_WAIT):
            try:
                if close_streams is not None:
                    await close_streams()
            finally:
                await raw.aclose()


class _Running:
    def __init__(
        self,
        raw: RawProcess,
        argv: tuple[str, ...],
        backend: str,
        capabilities: Capabilities,
        reaper: Reaper,
    ) -> None:
        self._raw = raw
        self._backend = backend
        self._caps = capabilities
        self._reaper = reaper
        self._closed = False
        self.argv = argv
        #: Awaitable: returns once the command runs, raises if it never started.
        self.ready: Once[None] = Once(raw.wait_ready)
        #: Awaitable: the :class:`ExitStatus`, once the process has ended.
        self.exit: Once[ExitStatus] = Once(raw.wait)

    def __repr__(self) -> str:
        state = self._raw.poll()
        return f"<{type(self).__name__} {list(self.argv)!r} {state or 'running'}>"

    @property
    def returncode(self) -> int | None:
        """Subprocess style return code, or ``None`` while running."""
        status = self._raw.poll()
        return None if status is None else status.returncode

    def _check_signal(self, sig: int | str | _signal.Signals) -> _signal.Signals:
        signum = check_signal(sig)
        if not self._caps.signals and signum not in (_signal.SIGTERM, _signal.SIGKILL):
            hint = "it sends only SIGTERM and SIGKILL"
            raise NotSupported(self._backend, f"sending {signum.name}", hint)
        return signum

    async def send_signal(self, sig: int | str | _signal.Signals) -> None:
        """Send ``sig`` to the process group, also after the process exited: children it
        left running in its group get it (a no-op once the group is gone)."""
        signum = self._check_signal(sig)
        await self._raw.signal(signum)

    async def kill(self, sig: int | str | _signal.Signals = _signal.SIGKILL) -> None:
        """Send ``sig`` (SIGKILL by default) to the process group."""
        await self.send_signal(sig)

    async def terminate(self) -> None:
        """Send SIGTERM to the process group."""
        await self.send_signal(_signal.SIGTERM)

    async def _close_streams(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Terminate the process group if still running, then release everything."""
        if self._closed:
            return
        self._closed = True
        await release(self._raw, self.argv, self._reaper, self._close_streams)

    async def __aenter__(self) -> _Running:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Process(_Running):
    """A spawned process with separate ``stdin``, ``stdout`` and ``stderr`` streams."""

    def __init__(
        self,
        raw: RawProcess,
        argv: tuple[str, ...],
        backend: str,
        capabilities: Capabilities,
        reaper: Reaper,
    ) -> None:
        super().__init__(raw, argv, backend, capabilities, reaper)
        assert raw.stderr is not None
        self.stdin = ProcessInput(raw.stdin, "stdin", backend, capabilities.stdin_eof)
        self.stdout = ProcessOutput(raw.stdout, "stdout")
        self.stderr = ProcessOutput(raw.stderr, "stderr")

    async def __aenter__(self) -> Process:
        return self

    async def _close_streams(self) -> None:
        await self.stdin._release()
        await self.stdout.aclose()
        await self.stderr.aclose()


class Terminal(_Running):
    """A process on a pty: one ``input`` and one ``output`` stream, resizable."""

    def __init__(
        self,
        raw: RawProcess,
        argv: tuple[str, ...],
        backend: str,
        capabilities: Capabilities,
        reaper: Reaper,
        size: TerminalSize,
    ) -> None:
        super().__init__(raw, argv, backend, capabilities, reaper)
        self.input = ProcessInput(raw.stdin, "terminal input", backend, capabilities.stdin_eof)
        self.output = ProcessOutput(raw.stdout, "terminal output")
        self._size = size

    async def __aenter__(self) -> Terminal:
        return self

    @property
    def size(self) -> TerminalSize:
        return self._size

    async def resize(self, rows: int | TerminalSize, cols: int | None = None) -> None:
        """Resize the terminal; the process gets SIGWINCH."""
        size = rows if isinstance(rows, TerminalSize) else check_size((rows, cols))
        if not self._caps.pty_resize:
            raise NotSupported(self._backend, "resizing a terminal")
        status = self._raw.poll()
        if status is not None:
            raise ProcessExited(f"cannot resize the terminal: the process has exited ({status})")
        await self._raw.resize(size)
        self._size = size

    async def _close_streams(self) -> None:
        await self.input._release()
        await self.output.aclose()
