"""Frozen records returned by sandlot."""

from __future__ import annotations

import signal as _signal

import attrs

from ._errors import InvalidArgument, SandlotError

__all__ = ["Capabilities", "ExecResult", "ExitStatus", "ProcessFailed", "TerminalSize"]

_MAX_TERMINAL = 65535


@attrs.frozen
class ExitStatus:
    """How a process ended: exactly one of ``code`` and ``signal`` is set."""

    code: int | None = None
    signal: _signal.Signals | None = None

    def __attrs_post_init__(self) -> None:
        if (self.code is None) == (self.signal is None):
            raise InvalidArgument("ExitStatus needs exactly one of code and signal")

    @classmethod
    def from_returncode(cls, returncode: int) -> ExitStatus:
        """Build from a subprocess-style return code (``-N`` means signal N)."""
        if returncode < 0:
            return cls(signal=_signal.Signals(-returncode))
        return cls(code=returncode)

    @classmethod
    def from_wait_status(cls, status: int) -> ExitStatus:
        """Build from a raw ``waitpid`` status."""
        return cls.from_returncode(_os_waitstatus_to_exitcode(status))

    @property
    def returncode(self) -> int:
        """Subprocess style: the code, or ``-N`` for signal N."""
        if self.signal is not None:
            return -int(self.signal)
        assert self.code is not None
        return self.code

    @property
    def success(self) -> bool:
        return self.code == 0

    @property
    def shell_code(self) -> int:
        """What a shell would report: the code, or ``128+N`` for signal N."""
        return 128 + int(self.signal) if self.signal is not None else self.returncode

    def __str__(self) -> str:
        if self.signal is not None:
            return f"killed by {self.signal.name}"
        return f"exit code {self.code}"


def _os_waitstatus_to_exitcode(status: int) -> int:
    import os

    return os.waitstatus_to_exitcode(status)


@attrs.frozen
class TerminalSize:
    """A terminal size; rows and cols are each 1..65535."""

    rows: int = 24
    cols: int = 80

    def __attrs_post_init__(self) -> None:
        for name in ("rows", "cols"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidArgument(f"terminal {name} must be an int, not {value!r}")
            if not 1 <= value <= _MAX_TERMINAL:
                raise InvalidArgument(f"terminal {name} must be in 1..{_MAX_TERMINAL}, got {value}")


@attrs.frozen
class ExecResult:
    """The outcome of :meth:`Sandbox.exec`."""

    argv: tuple[str, ...]
    exit: ExitStatus
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    @property
    def returncode(self) -> int:
        return self.exit.returncode

    @property
    def ok(self) -> bool:
        return self.exit.success and not self.timed_out

    def describe(self) -> str:
        what = "timed out and was killed" if self.timed_out else f"failed ({self.exit})"
        tail = self.stderr[-500:].decode("utf-8", "replace").strip()
        msg = f"command {list(self.argv)!r} {what}"
        return f"{msg}; stderr: {tail}" if tail else msg

    def check(self) -> ExecResult:
        """Return self if the command succeeded, else raise :class:`ProcessFailed`."""
        if not self.ok:
            raise ProcessFailed(self)
        return self


@attrs.frozen
class Capabilities:
    """What a backend can do. Using a feature it lacks raises :class:`NotSupported`
    naming the backend and the feature, before anything is sent to the sandbox.

    - ``stdin_eof``: closing a process's ``stdin`` (or a terminal's ``input``) delivers
      EOF; without it ``aclose()`` raises, and so does ``exec`` with ``input``.
    - ``signals``: ``kill`` / ``send_signal`` with any signal; without it only SIGTERM and
      SIGKILL (what termination and cleanup need).
    - ``pty``: :meth:`Sandbox.pty`.
    - ``pty_resize``: :meth:`Terminal.resize` (meaningful only with ``pty``).
    - ``files``: :meth:`Sandbox.read_file` and :meth:`Sandbox.write_file`.
    """

    stdin_eof: bool = True
    signals: bool = True
    pty: bool = True
    pty_resize: bool = True
    files: bool = True


class ProcessFailed(SandlotError):
    """Raised by :meth:`ExecResult.check` for a non-zero exit, a signal or a timeout."""

    def __init__(self, result: ExecResult) -> None:
        self.result = result
        super().__init__(result.describe())
