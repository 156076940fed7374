"""``pty`` over Daytona's PTY sessions.

The daemon starts an interactive login shell on the terminal; we type one line that
``exec``s the pty launcher (its text travels in ``$SANDLOT_LAUNCH``), which checks the
working directory and the command, prints a marker, and ``exec``s the command. Everything
before the marker (prompt, echo) is dropped, so the output starts with the command's own.
The command is then the pty's process, so the daemon's exit record is the command's: an
exit code, or a reason naming the signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal as _signal
import uuid
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ByteSendStream

from ..._errors import LaunchError, SandlotError
from ..._launcher import Failed, Parser, Ready, kill_group, launch_error
from ..._records import ExitStatus, TerminalSize
from ..._transport import FailedLaunch, LaunchSpec, RawProcess, send_terminal_eof
from ..._validate import check_command_line
from ._errors import is_connection_error, operation_error
from ._launcher import PTY_TYPED_LINE, pty_script
from ._pipe import BridgedOutput
from ._process import BridgedProcess

if TYPE_CHECKING:
    from ..._bridge import AsyncioBridge

_START_TIMEOUT = 30.0
#: The terminal's keepalive (like the session log stream's): after this many seconds
#: without output, ask the server about the PTY; no answer within the same time means it
#: stopped answering (frozen, partitioned) and the terminal fails with ConnectionLost.
_IDLE_PROBE = 15.0
_MAX_PREAMBLE = 1 << 20
_GO_NAMES = {
    "killed": _signal.SIGKILL,
    "terminated": _signal.SIGTERM,
    "interrupt": _signal.SIGINT,
    "hangup": _signal.SIGHUP,
    "quit": _signal.SIGQUIT,
}


def exit_status(code: int | None, reason: str | None) -> ExitStatus | None:
    """The daemon's PTY exit record as an ExitStatus (it names signals in ``reason``)."""
    if reason:
        if m := re.search(r"\bSIG([A-Z0-9]+)\b", reason):
            with contextlib.suppress(KeyError):
                return ExitStatus(signal=_signal.Signals["SIG" + m.group(1)])
        if m := re.search(r"signal:?\s*(\d+)", reason):
            with contextlib.suppress(ValueError):
                return ExitStatus(signal=_signal.Signals(int(m.group(1))))
        if (m := re.search(r"signal:\s*([a-z]+)", reason)) and m.group(1) in _GO_NAMES:
            return ExitStatus(signal=_GO_NAMES[m.group(1)])
    if code is None:
        return None
    return ExitStatus(code=code)


class _Input(ByteSendStream):
    def __init__(self, proc: PtyProcess) -> None:
        self._proc = proc

    async def send(self, item: bytes) -> None:
        if self._proc.poll() is not None:
            await anyio.lowlevel.checkpoint()
            raise anyio.BrokenResourceError("the process has exited")
        await self._proc.write(item)

    async def aclose(self) -> None:
        """EOF on a terminal is the EOF character (^D) at the start of a line."""
        if self._proc.poll() is None:
            await send_terminal_eof(self._proc.write)


class PtyProcess(BridgedProcess):
    def __init__(self, bridge: AsyncioBridge, sandbox: Any, spec: LaunchSpec) -> None:
        super().__init__(bridge)
        self._sandbox = sandbox
        self._spec = spec
        self._id = f"sandlot-{uuid.uuid4().hex}"
        self.stdin = _Input(self)
        self.stdout = self._out = BridgedOutput(bridge)
        self.stderr = None
        self._script, nonce = pty_script(spec.argv, spec.cwd)
        self._report = Parser(nonce=nonce, max_preamble=_MAX_PREAMBLE)
        # The pty shell receives the launcher and the environment as environment strings.
        check_command_line([self._script, *(f"{k}={v}" for k, v in spec.env.items())], "Daytona")
        self._pgid: int | None = None
        self.failure: LaunchError | None = None
        self._started: asyncio.Future[None] | None = None
        self._handle: Any = None
        self._watch: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()
        self._last_output = 0.0  # the SDK loop's clock

    # -- the SDK's loop ------------------------------------------------------------------
    async def _launch(self) -> None:
        from daytona import PtySize

        assert self._spec.pty is not None
        loop = asyncio.get_running_loop()
        self._started = loop.create_future()
        self._last_output = loop.time()
        size = PtySize(rows=self._spec.pty.rows, cols=self._spec.pty.cols)
        envs = {**self._spec.env, "SANDLOT_LAUNCH": self._script}
        self._handle = await self._sandbox.process.create_pty_session(
            self._id, self._on_data, envs=envs, pty_size=size
        )
        self._watch = asyncio.ensure_future(self._wait_pty())
        await self._handle.send_input(PTY_TYPED_LINE)
        await asyncio.wait_for(asyncio.shield(self._started), _START_TIMEOUT)

    async def _on_data(self, data: bytes) -> None:
        self._last_output = asyncio.get_running_loop().time()
        if self._report.done:
            await self._out.write(data)
            return
        for event in self._report.feed(data):
            if isinstance(event, Ready):
                self._pgid = event.pid
            elif isinstance(event, Failed):
                self.failure = launch_error(event, self._spec)
            elif self.failure is None:
                await self._out.write(event.data)
                continue
            assert self._started is not None
            if not self._started.done():
                self._started.set_result(None)

    async def _wait_pty(self) -> None:
        error: SandlotError | None = None
        try:
            result = await self._wait_answered()
            self._status = exit_status(result.exit_code, result.error)
            if self._status is None:
                error = operation_error(ConnectionError(result.error or "closed"), "running")
        except Exception as exc:
            error = operation_error(exc, "reading the terminal")
        finally:
            self._error = error
            assert self._started is not None
            if not self._started.done():
                self._started.set_exception(
                    error or LaunchError("the terminal closed before the command started")
                )
            self._out.end(error)
            self._ended.set()

    async def _wait_answered(self) -> Any:
        """``handle.wait()``, probing the server whenever the terminal is idle: the PTY's
        WebSocket has no heartbeat, so a frozen server would leave it waiting forever."""
        loop = asyncio.get_running_loop()
        # Never cancelled here: in older SDKs that would cancel the WebSocket's reader.
        waiting = asyncio.ensure_future(self._handle.wait())
        waiting.add_done_callback(lambda t: t.cancelled() or t.exception())
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=_IDLE_PROBE)
            if done:
                return waiting.result()
            if loop.time() - self._last_output >= _IDLE_PROBE:
                await self._probe()

    async def _probe(self) -> None:
        """Raise ConnectionError unless the server answers within ``_IDLE_PROBE`` (any
        answer: an error status is an answer too)."""
        try:
            info = self._sandbox.process.get_pty_session_info(self._id)
            await asyncio.wait_for(info, _IDLE_PROBE)
        except Exception as exc:
            if is_connection_error(exc):
                raise ConnectionError("the Daytona server stopped answering") from exc

    async def _kill(self, sig: _signal.Signals) -> None:
        if self._pgid is not None:
            await self._sandbox.process.exec(kill_group(self._pgid, sig))

    async def _close(self) -> None:
        handle = self._handle
        if handle is not None:
            if self._status is None:
                with contextlib.suppress(Exception):
                    await handle.kill()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self._ended.wait()), 5)
            with contextlib.suppress(Exception):
                await handle.disconnect()
        if self._watch is not None and not self._watch.done():
            self._watch.cancel()
            with contextlib.suppress(BaseException):
                await self._watch
        self._out._drop()

    async def _wait_exit(self) -> None:
        await self._ended.wait()

    # -- the caller's loop ---------------------------------------------------------------
    async def write(self, data: bytes) -> None:
        try:
            await self._bridge.call(self._handle.send_input, bytes(data))
        except Exception as exc:
            if self._status is not None:
                raise anyio.BrokenResourceError("the process has exited") from None
            raise operation_error(exc, "writing to the terminal") from None

    async def resize(self, size: TerminalSize) -> None:
        from daytona import PtySize

        try:
            await self._bridge.call(self._handle.resize, PtySize(rows=size.rows, cols=size.cols))
        except Exception as exc:
            raise operation_error(exc, "resizing the terminal") from None

    async def aclose(self) -> None:
        # Not shielded here: the caller shields and bounds it (a frozen server never answers).
        await self._bridge.call(self._close)


async def start_pty(bridge: AsyncioBridge, sandbox: Any, spec: LaunchSpec) -> RawProcess:
    """Start ``spec`` on a Daytona PTY. A cancelled caller does not wait for the server:
    the launch finishes on the SDK's loop, which then stops what it started."""
    proc = PtyProcess(bridge, sandbox, spec)
    try:
        await bridge.call_or_abandon(proc._launch, abandon=proc._abandon)
    except Exception as exc:
        with anyio.CancelScope(shield=True):
            await bridge.call(proc._close)
        if isinstance(exc, LaunchError):
            return FailedLaunch(exc, pty=True)
        if not isinstance(exc, SandlotError):
            raise operation_error(exc, f"starting {spec.argv[0]!r}") from None
        raise
    if proc.failure is not None:
        with anyio.CancelScope(shield=True):
            await bridge.call(proc._close)
        return FailedLaunch(proc.failure, pty=True)
    return proc
