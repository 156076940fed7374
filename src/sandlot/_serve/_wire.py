"""What the server and its Python client agree on: error
statuses and bodies, exit statuses as JSON, the spawn WebSocket's frames.

Shared by both sides, so that an error raised in the served sandbox is raised again,
same type and message, in the client.
"""

from __future__ import annotations

import base64
import binascii
import signal as _signal
from typing import Any

from .. import _errors
from .._errors import InvalidArgument, SandlotError
from .._records import ExitStatus

__all__ = [
    "API",
    "CHANNEL_STDERR",
    "CHANNEL_STDIN",
    "CHANNEL_STDOUT",
    "b64decode",
    "b64encode",
    "error_body",
    "exit_from_json",
    "exit_to_json",
    "rebuild_error",
    "status_for",
]

#: The route prefix: the API's version.
API = "/v1"

#: The first byte of a binary frame on the spawn / stdio WebSockets: which stream.
CHANNEL_STDIN = 0
CHANNEL_STDOUT = 1
CHANNEL_STDERR = 2

# Most specific first: the first class an error is an instance of gives its status.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (_errors.InvalidArgument, 400),
    (_errors.UnknownJob, 404),
    (_errors.FileNotFound, 404),
    (_errors.FileError, 400),
    (_errors.LaunchError, 422),
    (_errors.JobStillRunning, 409),
    (_errors.ProcessExited, 409),
    (_errors.StreamClosed, 409),
    (_errors.StreamBroken, 409),
    (_errors.JobLimitReached, 429),
    (_errors.NotSupported, 501),
    (_errors.ConnectionFailed, 502),
    (_errors.ConnectionLost, 502),
    (_errors.SandlotError, 502),
)


def status_for(exc: BaseException) -> int:
    """The HTTP status of an error raised by the sandbox."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(kind: str, message: str, errno: int | None = None) -> dict[str, Any]:
    """Every error response's JSON: ``{"error": {"type", "message"[, "errno"]}}``."""
    error: dict[str, Any] = {"type": kind, "message": message}
    if errno is not None:
        error["errno"] = errno
    return {"error": error}


def error_of(exc: BaseException) -> dict[str, Any]:
    """The JSON body for an error raised by the sandbox."""
    errno = exc.errno if isinstance(exc, OSError) else None
    message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    body = error_body(type(exc).__name__, message, errno)
    if isinstance(exc, _errors.CommandNotFound):
        body["error"]["command"] = exc.command
    return body


def rebuild_error(body: Any, status: int) -> SandlotError:
    """The client side of :func:`error_of`: the same error type and message (a type
    unknown here, or a server's own error such as a refused token, as a SandlotError)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return SandlotError(f"the sandlot server answered HTTP {status}")
    kind = str(error.get("type", ""))
    message = str(error.get("message", f"HTTP {status}"))
    cls = getattr(_errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, SandlotError)):
        if status == 401:
            return _errors.AuthenticationFailed(f"the sandlot server refused us: {message}")
        return SandlotError(f"the sandlot server answered HTTP {status}: {message}")
    if issubclass(cls, OSError):
        errno = error.get("errno")
        return cls(errno, message) if isinstance(errno, int) else cls(message)
    exc = cls.__new__(cls)  # bypass a custom __init__ (NotSupported, CommandNotFound)
    Exception.__init__(exc, message)
    if isinstance(exc, _errors.CommandNotFound):
        exc.command = str(error.get("command", message))
    return exc


def exit_to_json(status: ExitStatus | None) -> dict[str, Any]:
    """``{"exitCode": N}`` or ``{"signal": "SIGKILL"}``; ``{}`` while running."""
    if status is None:
        return {}
    if status.signal is not None:
        return {"exitCode": None, "signal": status.signal.name}
    return {"exitCode": status.code, "signal": None}


def exit_from_json(data: Any) -> ExitStatus:
    """The client side of :func:`exit_to_json`."""
    if isinstance(data.get("signal"), str):
        try:
            return ExitStatus(signal=_signal.Signals[data["signal"]])
        except KeyError:
            pass
    return ExitStatus(code=int(data.get("exitCode") or 0))


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(what: str, text: Any) -> bytes:
    """Strict base64 (``InvalidArgument`` naming the field otherwise)."""
    if not isinstance(text, str):
        raise InvalidArgument(f"{what} must be a base64 string, not {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(f"{what} is not valid base64") from None
