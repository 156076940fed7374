"""The small interface every backend implements.

A backend provides a :class:`Transport` that starts :class:`RawProcess` objects. All the
shared behaviour (validation, ready/exit bookkeeping, timeouts, truncation, cancellation,
termination of the process group) lives above this interface, in ``_sandbox``/``_process``.

Contract for a :class:`RawProcess`:

* ``stdout``/``stderr`` raise ``anyio.EndOfStream`` at the end and keep every byte the
  process wrote, even after it exited; ``stderr`` is ``None`` for a pty.
* ``stdin.aclose()`` delivers EOF. When ``spec.stdin`` is False the caller never writes
  and closes ``stdin`` at once: a backend may start the process reading ``/dev/null``
  and make ``stdin`` a closed stream, saving the EOF round trip (one that cannot deliver
  EOF, ``capabilities.stdin_eof`` False, must).
* ``wait_ready()`` returns once the command is running, or raises
  :class:`CommandNotFound` / :class:`LaunchError`; it may be called many times.
* ``wait()`` returns the :class:`ExitStatus` (also for a failed launch: 127 for a missing
  command, 126 for the rest); it may be called again after a cancelled call.
  ``poll()`` returns it without waiting, or ``None`` while the process runs.
* ``signal()`` signals the whole process group (the session, where the backend tracks
  one), also after the leader's exit status arrived: background children may remain, and
  cleanup sweeps them. It is a no-op only once the group is known to be gone.
* ``aclose()`` releases the transport's resources; the caller has already made sure the
  process is dead (or given up on it).

A feature the transport's ``capabilities`` declares lacking is refused above it with
:class:`NotSupported`: it is never asked for a pty, a resize, a file or a signal other
than SIGTERM and SIGKILL it does not have.
"""

from __future__ import annotations

import abc
import contextlib
import signal as _signal
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import anyio
import attrs
from anyio.abc import ByteReceiveStream, ByteSendStream

from ._errors import ConnectionLost, LaunchError
from ._records import Capabilities, ExecResult, ExitStatus, TerminalSize

__all__ = [
    "ClosedInput",
    "FailedLaunch",
    "LaunchSpec",
    "RawProcess",
    "Transport",
    "send_terminal_eof",
]

#: The terminal's EOF character (VEOF, ^D).
EOF_CHAR = b"\x04"


async def send_terminal_eof(send: Callable[[bytes], Awaitable[None]]) -> None:
    """Close a pty's input: EOF on a terminal is ^D at the start of a line, on every backend.

    A process already gone needs none, and neither does one behind a lost connection
    (its exit reports that).
    """
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionLost):
        await send(EOF_CHAR)


@attrs.frozen
class LaunchSpec:
    """A validated request to start a process."""

    argv: tuple[str, ...]
    cwd: str | None = None
    env: Mapping[str, str] = attrs.field(factory=dict, eq=False)
    pty: TerminalSize | None = None
    #: False when nothing will be written to stdin (see the module docstring).
    stdin: bool = True


class Reaper(Protocol):
    """What :meth:`Transport.exec` needs of the sandbox's reaper (``_process.Reaper``)."""

    grace: float

    async def terminate(self, raw: RawProcess, argv: tuple[str, ...]) -> bool: ...


class ClosedInput(ByteSendStream):
    """The stdin of a process started reading ``/dev/null``: already at EOF."""

    async def send(self, item: bytes) -> None:
        raise anyio.ClosedResourceError

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint()


class RawProcess(abc.ABC):
    """One process as a backend sees it (see the module docstring for the contract)."""

    stdin: ByteSendStream
    stdout: ByteReceiveStream
    stderr: ByteReceiveStream | None

    @abc.abstractmethod
    async def wait_ready(self) -> None: ...

    @abc.abstractmethod
    async def wait(self) -> ExitStatus: ...

    @abc.abstractmethod
    def poll(self) -> ExitStatus | None: ...

    @abc.abstractmethod
    async def signal(self, sig: _signal.Signals) -> None: ...

    async def resize(self, size: TerminalSize) -> None:
        """Resize the pty; only called when the transport declares ``pty_resize``."""
        raise NotImplementedError

    @abc.abstractmethod
    async def aclose(self) -> None: ...


class Transport(abc.ABC):
    """A backend: starts processes and moves files in one sandbox."""

    name: str
    #: What it lacks is refused above it (see the module docstring).
    capabilities: Capabilities = Capabilities()

    @abc.abstractmethod
    async def start(self, spec: LaunchSpec) -> RawProcess:
        """Start a process. If cancelled, must leave nothing running, and return soon
        even when the host does not answer: a start already sent is then left to finish
        on the side and what it started is stopped (``AsyncioBridge.call_or_abandon``, or
        ``Detached.call_or_abandon`` for a native one)."""

    @abc.abstractmethod
    async def read_file(self, path: str) -> bytes: ...

    @abc.abstractmethod
    async def write_file(self, path: str, data: bytes, mode: int | None) -> None: ...

    async def exec(
        self,
        spec: LaunchSpec,
        *,
        input: bytes | None,
        timeout: float | None,
        max_output_bytes: int | None,
        reaper: Reaper,
    ) -> ExecResult | None:
        """Run a whole ``exec`` in one go, if the transport can do it faster than
        :meth:`start` and the shared loop: the timeout (with ``reaper.grace``) and the
        output cap then act on the host, and a cancelled call kills the group (bounded;
        what could not be killed goes to ``reaper``). None: use :meth:`start`."""
        await anyio.lowlevel.checkpoint()
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release the connection, if any."""


class _EmptyReceive(ByteReceiveStream):
    async def receive(self, max_bytes: int = 65536) -> bytes:
        await anyio.lowlevel.checkpoint()
        raise anyio.EndOfStream

    async def aclose(self) -> None:
        pass


class _NullSend(ByteSendStream):
    async def send(self, item: bytes) -> None:
        await anyio.lowlevel.checkpoint()
        raise anyio.BrokenResourceError("the process never started")

    async def aclose(self) -> None:
        pass


class FailedLaunch(RawProcess):
    """What a transport returns for a process that never started."""

    def __init__(self, error: LaunchError, pty: bool = False) -> None:
        from ._errors import CommandNotFound

        self.error = error
        self.status = ExitStatus(code=127 if isinstance(error, CommandNotFound) else 126)
        self.stdin = _NullSend()
        self.stdout = _EmptyReceive()
        self.stderr = None if pty else _EmptyReceive()

    async def wait_ready(self) -> None:
        await anyio.lowlevel.checkpoint()
        raise self.error

    async def wait(self) -> ExitStatus:
        await anyio.lowlevel.checkpoint()
        return self.status

    def poll(self) -> ExitStatus | None:
        return self.status

    async def signal(self, sig: _signal.Signals) -> None:
        await anyio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        pass
