"""One process started by an exec: its streams, ``ready``, exit record and signals.

No background task: whoever needs bytes (a stream's reader, ``wait``) reads the exec's
connection, one reader at a time, and files what comes under each stream. A stream whose
buffer is full and unread stops the reading (as a full pipe stops its writer), so memory
stays bounded and a slow reader slows the process.
"""

from __future__ import annotations

import contextlib
import logging
import signal as _signal

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

from ..._chunks import Chunks
from ..._errors import ConnectionLost, LaunchError, SandboxNotFound, SandlotError
from ..._launcher import Failed, Output, Parser, Ready, kill_group, launch_error
from ..._process import CLOSE_WAIT
from ..._records import ExitStatus, TerminalSize
from ..._transport import ClosedInput, LaunchSpec, RawProcess, send_terminal_eof
from ._demux import STDERR, STDOUT, Demuxer, FrameError
from ._engine import Engine, ExecStream
from ._errors import ContainerStopped
from ._report import ExitReport

__all__ = ["DockerProcess"]

logger = logging.getLogger("sandlot")

#: Stopping a process whose start was abandoned: how long the kill (an exec) may take.
_ABANDONED_KILL_WAIT = 10.0
#: Output buffered per stream before reading stops.
_BUFFER_LIMIT = 1 << 20
#: After this long without a byte, a read asks the Engine whether it still answers: a
#: frozen Engine keeps the connection open, and a quiet process is legitimate.
IDLE_PROBE = 15.0
_MAX_PREAMBLE = 64 * 1024
#: How long output that may start the exit report is held before asking whether the
#: command still runs (a question that costs an exec: only when the stream is quiet).
HOLD_CHECK = 0.05
#: Prints the state letter of process $0 (nothing if it is gone).
_PROCESS_STATE = 'read -r s </proc/"$0"/stat 2>/dev/null || exit 0; s=${s##*) }; echo "${s%% *}"'


class _Output(ByteReceiveStream):
    def __init__(self, proc: DockerProcess, key: int) -> None:
        self._proc = proc
        self._key = key

    async def receive(self, max_bytes: int = 65536) -> bytes:
        return await self._proc._receive(self._key, max_bytes)

    async def aclose(self) -> None:
        self._proc._drop(self._key)
        await anyio.lowlevel.checkpoint()


class _Input(ByteSendStream):
    def __init__(self, proc: DockerProcess) -> None:
        self._proc = proc
        self._closed = False

    async def send(self, item: bytes) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        await self._proc._stream.write(bytes(item))

    async def aclose(self) -> None:
        if self._closed:
            return
        if self._proc.tty:
            await send_terminal_eof(self.send)
        else:
            self._proc._stream.write_eof()
        self._closed = True
        await anyio.lowlevel.checkpoint()


class DockerProcess(RawProcess):
    def __init__(
        self,
        engine: Engine,
        container: str,
        exec_id: str,
        stream: ExecStream,
        spec: LaunchSpec,
        tag: str,
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self._engine = engine
        self._container = container
        self._exec_id = exec_id
        self._stream = stream
        self._spec = spec
        self._stack = stack
        self.tty = spec.pty is not None
        self._demux = Demuxer()
        self._report = Parser(nonce=tag.removeprefix("sandlot-"), max_preamble=_MAX_PREAMBLE)
        self._exit_report = ExitReport(tag)
        self._leader_ended = False  # known to have ended (see _check_held)
        self._bufs = {STDOUT: Chunks(), STDERR: Chunks()}
        self._dropped: set[int] = set()
        self._eof = False
        self._error: SandlotError | None = None
        self._pulling = False
        self._changed = anyio.Event()
        self._status: ExitStatus | None = None
        self._pgid: int | None = None
        self._last_signal: _signal.Signals | None = None
        self.failure: LaunchError | None = None
        # Without input, the exec's stdin is not attached: the command reads /dev/null.
        self.stdin: ByteSendStream = _Input(self) if spec.stdin or self.tty else ClosedInput()
        self.stdout = _Output(self, STDOUT)
        self.stderr = None if self.tty else _Output(self, STDERR)

    # -- reading the connection ---------------------------------------------------------
    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _blocked(self, key: int | None) -> bool:
        """A buffer other than ``key``'s is full: reading on would grow it without bound."""
        return any(
            len(buf) >= _BUFFER_LIMIT and k != key and k not in self._dropped
            for k, buf in self._bufs.items()
        )

    async def _pull(self, key: int | None, *, unbounded: bool = False) -> None:
        """Read once from the connection (or wait for whoever does) and file the bytes;
        ``unbounded``: even past a full buffer (only until the launcher's report)."""
        if self._pulling or (self._blocked(key) and not unbounded):
            await self._changed.wait()
            return
        self._pulling = True
        try:
            try:
                data = await self._read_or_probe()
            except ConnectionLost as exc:
                self._error = exc
                self._eof = True
                return
            if data:
                self._dispatch(data)
            elif data is not None:
                await self._on_end()
        finally:
            self._pulling = False
            self._notify()

    async def _read_or_probe(self) -> bytes | None:
        """Bytes read (``b""`` at the end), or None: held output was released instead."""
        while True:
            held = self._exit_report.holding and not self._leader_ended
            with anyio.move_on_after(HOLD_CHECK if held else IDLE_PROBE):
                return await self._stream.read()  # cancelling it loses nothing
            if not held:
                await self._engine.probe()
            elif await self._check_held():
                return None

    async def _check_held(self) -> bool:
        """Output that may start the exit report is held back, and nothing came since:
        if the command is not a zombie now, no report had been written when it came (the
        launcher writes it only then), and it is output after all."""
        try:
            state = await self._engine.run(
                self._container, ["sh", "-c", _PROCESS_STATE, str(self._pgid)]
            )
        except SandlotError as exc:
            raise ConnectionLost(f"lost the Docker Engine while reading output: {exc}") from None
        if state.strip() in (b"", b"Z"):
            self._leader_ended = True  # the report is on its way: no need to ask again
            return False
        self._put(STDERR, self._exit_report.release())
        return True

    def _put(self, key: int, data: bytes) -> None:
        if data and key not in self._dropped:
            self._bufs[key].append(data)

    def _dispatch(self, data: bytes) -> None:
        if self.tty:
            self._on_report_stream(STDOUT, data)
            return
        try:
            pieces = self._demux.feed(data)
        except FrameError as exc:
            self._error = ConnectionLost(f"the Docker exec stream is corrupt: {exc}")
            self._eof = True
            return
        for stream, payload in pieces:
            if stream == STDERR:
                self._on_report_stream(STDERR, payload)
            elif stream == STDOUT:
                self._put(STDOUT, payload)

    def _on_report_stream(self, key: int, data: bytes) -> None:
        """The stream the launcher reports on: its report first, then (stderr) the exit."""
        if not self._report.done:
            for event in self._report.feed(data):
                if isinstance(event, Ready):
                    self._pgid = event.pid
                elif isinstance(event, Failed):
                    self.failure = launch_error(event, self._spec)
                elif isinstance(event, Output):
                    self._after_report(key, event.data)
            return
        self._after_report(key, data)

    def _after_report(self, key: int, data: bytes) -> None:
        if self.tty:
            self._put(key, data)
            return
        self._put(key, self._exit_report.feed(data))
        status = self._exit_report.status
        if self._status is None and status:
            self._status = ExitStatus.from_wait_status(int(status))

    async def _on_end(self) -> None:
        self._eof = True
        with contextlib.suppress(FrameError):
            self._demux.end()
        if not self._report.done:
            failure = self._report.end()
            if failure is not None:
                self.failure = launch_error(failure, self._spec)
        self._put(STDERR, self._exit_report.end())
        if self._status is None:
            try:
                self._status = await self._engine_status()
            except ConnectionLost as exc:
                self._error = exc

    async def _engine_status(self) -> ExitStatus:
        """The Engine's exit code: ``128+N`` for signal N, named only when it is the last
        signal sent (a pty's command, or a launcher that could not read the status)."""
        try:
            code = await self._engine.exec_exit_code(self._exec_id)
        except SandlotError as exc:
            raise ConnectionLost(f"lost the Docker Engine while reading an exit: {exc}") from None
        if code is None:
            return ExitStatus(code=255)
        sig = self._last_signal
        if sig is not None and code == 128 + int(sig):
            return ExitStatus(signal=sig)
        return ExitStatus(code=code)

    async def _receive(self, key: int, max_bytes: int) -> bytes:
        await anyio.lowlevel.checkpoint_if_cancelled()
        while True:
            if key in self._dropped:
                raise anyio.ClosedResourceError
            buf = self._bufs[key]
            if buf:
                data = buf.take(max_bytes)
                self._notify()
                await anyio.lowlevel.cancel_shielded_checkpoint()
                return data
            if self._error is not None:
                raise self._error
            if self._eof:
                raise anyio.EndOfStream
            await self._pull(key)

    def _drop(self, key: int) -> None:
        self._dropped.add(key)
        self._bufs[key].clear()
        self._notify()

    async def wait_report(self) -> None:
        """Read until the launcher's report (or its failure) came."""
        # Unbounded: the command's stdout may come first (another relay), and nobody can
        # read it before the process is handed over.
        while not self._report.done and not self._eof:
            await self._pull(None, unbounded=True)
        if self._error is not None:
            raise self._error

    # -- RawProcess ---------------------------------------------------------------------
    async def wait_ready(self) -> None:
        await anyio.lowlevel.checkpoint()

    async def wait(self) -> ExitStatus:
        while self._status is None:
            if self._error is not None:
                raise self._error
            if self._eof:  # the end came without a status (an error while reading it)
                raise ConnectionLost("the Docker exec stream ended without an exit status")
            await self._pull(None)
        await anyio.lowlevel.checkpoint()
        return self._status

    def poll(self) -> ExitStatus | None:
        return self._status

    async def signal(self, sig: _signal.Signals) -> None:
        if self._pgid is None:
            await anyio.lowlevel.checkpoint()
            return
        self._last_signal = sig
        try:
            await self._engine.run(self._container, ["sh", "-c", kill_group(self._pgid, sig)])
        except (SandboxNotFound, ContainerStopped):
            return  # no container, no process
        except SandlotError as exc:
            raise ConnectionLost(f"cannot signal the process in Docker: {exc}") from None

    async def resize(self, size: TerminalSize) -> None:
        try:
            await self._engine.resize_exec(self._exec_id, size.rows, size.cols)
        except SandlotError as exc:
            raise ConnectionLost(f"cannot resize the Docker terminal: {exc}") from None

    async def abandon(self) -> None:
        """The caller gave up on the start, which has ended since: stop the process group
        it started (the kill is another exec), then release the stream."""
        argv, pgid = list(self._spec.argv), self._pgid
        try:
            if pgid is None:
                return  # no report (the stream ended): nothing to kill by group
            try:
                with anyio.fail_after(_ABANDONED_KILL_WAIT):
                    await self.signal(_signal.SIGKILL)
            except (TimeoutError, SandlotError) as exc:
                logger.warning(
                    "could not stop %r (process group %d), whose start the caller gave up on: %s",
                    argv,
                    pgid,
                    str(exc) or "the Docker Engine does not answer",
                )
                return
            logger.info(
                "stopped %r (process group %d): it started after the caller gave up on it",
                argv,
                pgid,
            )
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_WAIT):
                await self.aclose()

    async def aclose(self) -> None:
        self._dropped.update(self._bufs)
        for buf in self._bufs.values():
            buf.clear()
        await self._stack.aclose()
        self._notify()
