"""The one error hierarchy: every error sandlot raises is a :class:`SandlotError`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import anyio

__all__ = [
    "AuthenticationFailed",
    "CommandNotFound",
    "ConnectionFailed",
    "ConnectionLost",
    "FileError",
    "FileNotFound",
    "HostKeyRejected",
    "HostUnreachable",
    "InvalidArgument",
    "InvalidSandboxURL",
    "JobLimitReached",
    "JobStillRunning",
    "LaunchError",
    "MissingDependency",
    "NotSupported",
    "ProcessExited",
    "RecordConflict",
    "RegistryError",
    "SandboxNotFound",
    "SandlotError",
    "StreamBroken",
    "StreamClosed",
    "UnknownJob",
]


class SandlotError(Exception):
    """Base class of every error sandlot raises."""


class InvalidArgument(SandlotError, ValueError):
    """A bad input, caught before anything was launched."""


class InvalidSandboxURL(InvalidArgument):
    """The sandbox URL is malformed or names an unknown backend."""


class NotSupported(SandlotError):
    """The backend cannot do what was asked; the message names the backend."""

    def __init__(self, backend: str, feature: str, hint: str = "") -> None:
        self.backend = backend
        self.feature = feature
        msg = f"the {backend} backend does not support {feature}"
        super().__init__(f"{msg}: {hint}" if hint else msg)


class MissingDependency(SandlotError, ImportError):
    """The backend's optional packages are not installed; the message names the extra."""

    def __init__(
        self, backend: str, package: str, missing: str | None, *, feature: str | None = None
    ) -> None:
        self.backend = self.extra = backend
        missing = missing or package
        if missing.split(".")[0] == package:
            what = f"the {package} package, which is not installed"
        else:
            what = f"the {package} package, and its dependency {missing} is not installed"
        needs = f"{feature} need" if feature else f"the {backend} backend needs"
        super().__init__(f"{needs} {what}: pip install 'sandlot[{backend}]'", name=missing)


class LaunchError(SandlotError):
    """The process never started (bad working directory, not executable, ...)."""


class CommandNotFound(LaunchError):
    """The command does not exist in the sandbox."""

    def __init__(self, command: str) -> None:
        self.command = command
        super().__init__(f"command not found: {command!r}")


class StreamClosed(SandlotError, anyio.ClosedResourceError):
    """The stream was closed by this side (e.g. writing to stdin after ``aclose()``)."""


class StreamBroken(SandlotError, anyio.BrokenResourceError):
    """The other side went away (e.g. writing to stdin of a process that has exited)."""


class ProcessExited(SandlotError):
    """The operation needs a running process, and it has exited."""


class FileError(SandlotError, OSError):
    """A file in the sandbox could not be read or written."""


class FileNotFound(FileError, FileNotFoundError):
    """The file does not exist in the sandbox."""


class SandboxNotFound(SandlotError, LookupError):
    """No sandbox with that id exists."""


class RecordConflict(SandlotError):
    """Another worker holds or changed the sandbox record (being created, or its status
    moved on); read it again to see where it is."""


class RegistryError(SandlotError):
    """The database of sandbox records failed or could not be reached."""


class UnknownJob(SandlotError, LookupError):
    """No job with that id exists in the sandbox."""


class JobLimitReached(SandlotError):
    """Starting the job would exceed ``JobLimits.max_concurrent``."""


class JobStillRunning(SandlotError):
    """The operation needs an ended job (e.g. removing it without ``force``)."""


class ConnectionFailed(SandlotError):
    """Could not connect to the sandbox."""


class HostUnreachable(ConnectionFailed):
    """The host could not be reached (DNS, refused, timed out)."""


class AuthenticationFailed(ConnectionFailed):
    """The credentials were refused."""


class HostKeyRejected(ConnectionFailed):
    """The host key is unknown or does not match ``known_hosts``."""


class ConnectionLost(SandlotError):
    """The connection to the sandbox died; pending calls fail with this."""


def leaves(exc: BaseException) -> list[BaseException]:
    """The errors inside (nested) exception groups, or ``[exc]``."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaves(sub)]
    return [exc]


def most_telling(exc: BaseException) -> BaseException:
    """The one error to report for ``exc`` (task groups wrap theirs in groups): when
    several tasks failed together, a lost connection explains the others."""
    found = leaves(exc)
    for kind in (ConnectionLost, ConnectionFailed, SandlotError, Exception):
        for leaf in found:
            if isinstance(leaf, kind):
                return leaf
    return found[0]


@contextlib.contextmanager
def one_error() -> Iterator[None]:
    """Turn an exception group escaping a task group inside sandlot into one
    :class:`SandlotError` (the most telling leaf), the group kept as its ``__cause__``.

    KeyboardInterrupt, SystemExit and cancellation pass through untouched.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        found = leaves(group)
        if any(not isinstance(leaf, Exception) for leaf in found):
            raise
        leaf = most_telling(group)
        if not isinstance(leaf, SandlotError):
            raise SandlotError(f"unexpected error: {type(leaf).__name__}: {leaf}") from group
        raise leaf from group
