"""``spawn``/``exec`` over Daytona sessions: one session per process, run by the launcher."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import signal as _signal
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ByteSendStream

from ..._errors import ConnectionLost, LaunchError, SandlotError
from ..._launcher import Failed, Parser, Ready, kill_group, launch_error
from ..._records import ExitStatus
from ..._transport import FailedLaunch, LaunchSpec, RawProcess
from ._errors import operation_error, status_of
from ._launcher import spawn_command
from ._pipe import BridgedOutput
from ._pool import SessionPool
from ._process import BridgedProcess
from ._sdk import Route, follow_logs, log_route

if TYPE_CHECKING:
    from ..._bridge import AsyncioBridge

# Raw bytes per input line: its base64 stays well inside what the daemon takes in one line.
_INPUT_LINE = 36 * 1024
# Raw bytes per input request: aiohttp warns about (and blocks on) bodies over 1 MiB.
_INPUT_REQUEST = 12 * _INPUT_LINE
_START_TIMEOUT = 60.0
#: The log stream's keepalive: after this many seconds without a message, ask the server
#: about the command; no answer within the same time means it stopped answering (frozen,
#: partitioned) and the stream fails with ConnectionLost. A slow reader is never probed:
#: while output waits for it, the socket is not being read, and no probe runs.
_IDLE_PROBE = 15.0


class _Stdin(ByteSendStream):
    def __init__(self, proc: SessionProcess) -> None:
        self._proc = proc
        self._closed = False

    async def send(self, item: bytes) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        if self._proc.poll() is not None:
            await anyio.lowlevel.checkpoint()
            raise anyio.BrokenResourceError("the process has exited")
        if not item:
            await anyio.lowlevel.checkpoint()
            return
        for start in range(0, len(item), _INPUT_REQUEST):
            piece = item[start : start + _INPUT_REQUEST]
            lines = [
                "I" + base64.b64encode(piece[i : i + _INPUT_LINE]).decode()
                for i in range(0, len(piece), _INPUT_LINE)
            ]
            await self._proc.send_input("\n".join(lines) + "\n")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._proc.poll() is None and self._proc._error is None:
            # The daemon cannot close a command's stdin: the launcher's decoder does, on Z.
            # With the connection gone there is nothing to close: `exit` reports that.
            with contextlib.suppress(anyio.BrokenResourceError, ConnectionLost):
                await self._proc.send_input("Z\n")


class SessionProcess(BridgedProcess):
    """A process the spawn launcher runs in its own Daytona session."""

    def __init__(
        self, bridge: AsyncioBridge, sandbox: Any, pool: SessionPool, spec: LaunchSpec
    ) -> None:
        super().__init__(bridge)
        self._pool = pool
        self._spec = spec
        self._report = Parser()
        self._sandbox = sandbox
        self._sid = ""  # taken from the pool at launch
        self._cid = ""
        self.stdin = _Stdin(self)
        self.stdout = self._out = BridgedOutput(bridge)
        self.stderr = self._err = BridgedOutput(bridge)
        self._partial = {"o": "", "e": ""}
        self._pgid: int | None = None
        self.failure: LaunchError | None = None
        self._started: asyncio.Future[None] | None = None
        self._ended = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._route: Route = "private"

    # -- the SDK's loop ------------------------------------------------------------------
    async def _launch(self, command: str) -> None:
        from daytona import SessionExecuteRequest

        process = self._sandbox.process
        self._route = log_route(process)  # before anything starts: it may refuse this SDK
        self._started = asyncio.get_running_loop().create_future()
        self._sid = await self._pool.take()
        request = SessionExecuteRequest(
            command=command,
            run_async=True,
            suppress_input_echo=True,
        )
        response = await process.execute_session_command(self._sid, request)
        self._cid = response.cmd_id
        self._pump = asyncio.ensure_future(self._follow())
        await asyncio.wait_for(asyncio.shield(self._started), _START_TIMEOUT)

    async def _follow(self) -> None:
        error: SandlotError | None = None
        try:
            await self._read_logs()
        except asyncio.CancelledError:
            error = operation_error(ConnectionError("closed"), "reading output")
            raise
        except Exception as exc:
            error = operation_error(exc, "reading the process output")
        finally:
            await self._finish(error)

    async def _read_logs(self) -> None:
        # _IDLE_PROBE is read here, not bound at import: tests shorten it.
        process = self._sandbox.process
        await follow_logs(
            self._route, process, self._sid, self._cid, self._on_text, self._probe, _IDLE_PROBE
        )

    async def _probe(self) -> None:
        """Raise ConnectionError unless the server answers within ``_IDLE_PROBE``."""
        process = self._sandbox.process
        try:
            await asyncio.wait_for(process.get_session_command(self._sid, self._cid), _IDLE_PROBE)
        except Exception as exc:
            raise ConnectionError("the Daytona server stopped answering") from exc

    async def _finish(self, error: SandlotError | None) -> None:
        if self._status is None and error is None:
            # The launcher died without reporting (e.g. its session was deleted): the
            # daemon's exit code is all there is.
            with contextlib.suppress(Exception):
                cmd = await self._sandbox.process.get_session_command(self._sid, self._cid)
                if cmd.exit_code is not None:
                    self._status = ExitStatus(code=cmd.exit_code)
        if self._status is None and error is None:
            error = operation_error(ConnectionError("no exit status"), "waiting for the exit")
        self._error = error if self._status is None else None
        assert self._started is not None
        if not self._started.done():
            self._started.set_exception(
                error or LaunchError("the Daytona launcher ended before the command started")
            )
        # Streams fail on any error (output may be missing), even after the exit record.
        self._out.end(error)
        self._err.end(error)
        self._ended.set()

    async def _on_text(self, channel: str, text: str) -> None:
        lines = (self._partial[channel] + text).split("\n")
        self._partial[channel] = lines.pop()
        out = bytearray()
        err = bytearray()
        for line in lines:
            if "\x01" in line or "\x02" in line:
                # A stream marker inside a line: a demuxer lost it, and with it output.
                raise RuntimeError(f"a log line with a stream marker in it: {line[:40]!r}")
            tag, rest = line[:1], line[1:]
            if tag in ("o", "e"):
                try:
                    (out if tag == "o" else err).extend(base64.b64decode(rest, validate=True))
                except (ValueError, binascii.Error):
                    # Never drop output silently: a line the launcher wrote always decodes.
                    msg = f"a corrupted output line from the launcher: {line[:40]!r}"
                    raise RuntimeError(msg) from None
                continue
            if tag == "\x1e":
                self._on_report(line)
                continue
            try:
                if tag == "x":
                    status = rest.strip()
                    self._status = (
                        ExitStatus.from_wait_status(int(status))
                        if status.isdigit()
                        else ExitStatus(code=255)
                    )
                    self._ended.set()
            except ValueError:
                continue  # not ours (a shell's message): the launcher's lines always parse
        if out:
            await self._out.write(bytes(out))
        if err:
            await self._err.write(bytes(err))

    def _resolve_start(self) -> None:
        assert self._started is not None
        if not self._started.done():
            self._started.set_result(None)

    def _on_report(self, line: str) -> None:
        """The launcher's report (the shared protocol), a whole line of the log."""
        for event in self._report.feed(line.encode() + b"\n"):
            if isinstance(event, Ready):
                self._pgid = event.pid
            elif isinstance(event, Failed):
                self.failure = launch_error(event, self._spec)
            self._resolve_start()

    async def _wait_exit(self) -> None:
        if self._status is None and not self._ended.is_set():
            await self._ended.wait()
        # 'x' may come before the output: it is the exit; the streams end on their own.

    async def _kill(self, sig: _signal.Signals) -> None:
        if self._pgid is None:
            return
        await self._sandbox.process.exec(kill_group(self._pgid, sig))

    async def _send(self, data: str) -> None:
        await self._sandbox.process.send_session_command_input(self._sid, self._cid, data)

    async def _close(self) -> None:
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
            with contextlib.suppress(BaseException):
                await self._pump
        self._out._drop()
        self._err._drop()
        if self._sid:
            # Off the critical path: deleting the session kills what is left in it.
            self._pool.release(self._sid)

    # -- the caller's loop ---------------------------------------------------------------

    async def send_input(self, data: str) -> None:
        try:
            await self._bridge.call(self._send, data)
        except Exception as exc:
            if status_of(exc) == 410 or self._status is not None:
                raise anyio.BrokenResourceError("the process has exited") from None
            raise operation_error(exc, "writing to stdin") from None

    async def aclose(self) -> None:
        # Not shielded here: the caller shields and bounds it (a frozen server never answers).
        await self._bridge.call(self._close)


async def start_session(
    bridge: AsyncioBridge, sandbox: Any, pool: SessionPool, spec: LaunchSpec
) -> RawProcess:
    """Start ``spec`` in a session of its own (a warm one from ``pool`` when one is ready).
    A cancelled caller does not wait for the server: the launch finishes on the SDK's
    loop, which then stops what it started."""
    command = spawn_command(spec.argv, spec.cwd, spec.env)
    proc = SessionProcess(bridge, sandbox, pool, spec)
    try:
        await bridge.call_or_abandon(proc._launch, command, abandon=proc._abandon)
    except Exception as exc:
        with anyio.CancelScope(shield=True):
            await bridge.call(proc._close)
        if isinstance(exc, LaunchError):
            return FailedLaunch(exc)
        if not isinstance(exc, SandlotError):
            raise operation_error(exc, f"starting {spec.argv[0]!r}") from exc
        raise
    if proc.failure is not None:
        with anyio.CancelScope(shield=True):
            await bridge.call(proc._close)
        return FailedLaunch(proc.failure)
    return proc
