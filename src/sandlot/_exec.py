"""The run-to-completion loop behind :meth:`Sandbox.exec`, written once for all backends."""

from __future__ import annotations

import signal

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

from ._errors import one_error
from ._process import Reaper
from ._records import ExecResult, ExitStatus
from ._transport import RawProcess

# After a timeout kill, how long to keep draining pipes a daemonised grandchild may hold.
_DRAIN_AFTER_KILL = 0.25


class _Collector:
    """Keeps the first ``limit`` bytes of a stream and drains (discards) the rest."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.data = bytearray()
        self.truncated = False
        self.done = anyio.Event()

    async def drain(self, stream: ByteReceiveStream | None) -> None:
        """Read ``stream`` to its end; may be called again after a cancelled call."""
        try:
            if stream is None:
                return
            limit = self.limit
            data = self.data
            async for chunk in stream:
                if limit is None:
                    data += chunk
                    continue
                room = limit - len(data)
                if room >= len(chunk):
                    data += chunk
                else:
                    if room > 0:
                        data += chunk[:room]
                    self.truncated = True
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        self.done.set()  # not when cancelled: the stream has not ended


async def _feed(stdin: ByteSendStream, data: bytes | None) -> None:
    try:
        if data:
            await stdin.send(data)
        await stdin.aclose()
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass  # the process exited without reading all its input, as subprocess.run allows


def timed_out_at_start(argv: tuple[str, ...]) -> ExecResult:
    """The result of an exec whose deadline passed while its process was starting (the
    transport stops whatever started): killed by the SIGKILL sandlot ordered."""
    return ExecResult(
        argv=argv,
        exit=ExitStatus(signal=signal.SIGKILL),
        stdout=b"",
        stderr=b"",
        timed_out=True,
        stdout_truncated=False,
        stderr_truncated=False,
    )


async def run_exec(
    raw: RawProcess,
    argv: tuple[str, ...],
    *,
    input: bytes | None,
    deadline: float,
    max_output_bytes: int | None,
    reaper: Reaper,
) -> ExecResult:
    """Run a started process to its end, or kill it at ``deadline`` (the exec's, which
    also covers the start, the launch report and the EOF on stdin)."""
    out = _Collector(max_output_bytes)
    err = _Collector(max_output_bytes)
    status: ExitStatus | None = None
    timed_out = False
    with anyio.CancelScope(deadline=deadline):
        await raw.wait_ready()
        if not input:
            await _feed(raw.stdin, None)  # EOF at once; no task needed
    with one_error():  # e.g. a lost connection fails the pipes and the wait at once
        async with anyio.create_task_group() as tg:
            # stdout is read here, stderr by one task: a task fewer to start per exec.
            tg.start_soon(err.drain, raw.stderr)
            if input:
                tg.start_soon(_feed, raw.stdin, input)
            with anyio.CancelScope(deadline=deadline):
                await out.drain(raw.stdout)
                status = await raw.wait()
                if not err.done.is_set():
                    await err.done.wait()
            if status is None:
                status = raw.poll()
            if status is None or not (out.done.is_set() and err.done.is_set()):
                # Timed out. A process that already exited with its pipes held open by a
                # daemonised grandchild did not itself time out.
                if status is None:
                    timed_out = True
                    await reaper.terminate(raw, argv)  # bounded, also on a dead connection
                    # Not seen to exit (the connection stopped answering): report the
                    # SIGKILL ordered; the reaper delivers it once the host is reachable.
                    status = raw.poll() or ExitStatus(signal=signal.SIGKILL)
                else:
                    await raw.signal(signal.SIGKILL)  # sweep the group members holding the pipes
                with anyio.move_on_after(_DRAIN_AFTER_KILL):
                    if not out.done.is_set():
                        await out.drain(raw.stdout)
                    await err.done.wait()
            tg.cancel_scope.cancel()
    assert status is not None
    return ExecResult(
        argv=argv,
        exit=status,
        stdout=bytes(out.data),
        stderr=bytes(err.data),
        timed_out=timed_out,
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
    )
