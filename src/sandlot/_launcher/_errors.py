"""One mapping from a launcher's failure to the error ``ready`` raises, for every backend.

The messages are the local backend's (an ``OSError``'s ``strerror``), so the same bad
``cwd`` or missing command reads the same wherever it ran.
"""

from __future__ import annotations

import errno
import os

from .._errors import CommandNotFound, LaunchError
from .._transport import LaunchSpec
from ._protocol import Failed

__all__ = ["launch_error"]


def _strerror(name: str) -> str:
    code = getattr(errno, name, None) if name.startswith("E") else None
    return os.strerror(code) if isinstance(code, int) else name or "unknown error"


def launch_error(failure: Failed, spec: LaunchSpec) -> LaunchError:
    """The error for ``failure``: ``CommandNotFound`` for a missing command."""
    kind, argv0 = failure.kind, spec.argv[0]
    if kind == "nocmd":
        return CommandNotFound(argv0)
    if kind == "nocwd":
        return LaunchError(
            f"cannot use working directory {spec.cwd!r}: {_strerror(failure.errno_name)}"
        )
    if kind == "noexec":
        return LaunchError(f"cannot execute {argv0!r}: {_strerror(failure.errno_name)}")
    if kind == "nosetup":
        return LaunchError(f"cannot start {argv0!r}: the launcher lacks {failure.errno_name}")
    if kind == "overflow":
        return LaunchError("the remote launcher did not report back")
    if kind == "silent":
        return LaunchError(f"the remote launcher failed: {failure.detail}")
    return LaunchError(f"the remote launcher reported {kind!r}")


def from_os_error(exc: OSError, spec: LaunchSpec) -> LaunchError:
    """The error for a failed local ``exec`` (same messages as a remote launcher's)."""
    name = errno.errorcode.get(exc.errno or 0, "EIO")
    if spec.cwd is not None and exc.filename == spec.cwd:
        return launch_error(Failed("nocwd", name), spec)
    if isinstance(exc, FileNotFoundError):
        return launch_error(Failed("nocmd"), spec)
    return launch_error(Failed("noexec", name), spec)
