"""Translating the daytona SDK's errors into sandlot's, without leaking the API key."""

from __future__ import annotations

from typing import Any

from ..._errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ConnectionLost,
    HostUnreachable,
    SandboxNotFound,
    SandlotError,
)


def status_of(exc: BaseException) -> int | None:
    code: Any = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None


def is_connection_error(exc: BaseException) -> bool:
    import aiohttp
    from daytona import DaytonaConnectionError

    return isinstance(exc, DaytonaConnectionError | aiohttp.ClientError | OSError | TimeoutError)


def opening_error(exc: Exception, ident: str, api_url: str) -> SandlotError:
    """The error for a failed ``open_sandbox("daytona://<ident>")``."""
    status = status_of(exc)
    if status in (401, 403):
        return AuthenticationFailed(
            f"the Daytona API at {api_url} refused the API key (HTTP {status})"
        )
    if status == 404:
        return SandboxNotFound(f"no Daytona sandbox with id or name {ident!r} at {api_url}")
    if is_connection_error(exc):
        return HostUnreachable(f"cannot reach the Daytona API at {api_url}: {_reason(exc)}")
    return ConnectionFailed(f"cannot open Daytona sandbox {ident!r}: {_reason(exc)}")


def operation_error(exc: Exception, what: str) -> SandlotError:
    """The error for a failed call on an open sandbox."""
    if is_connection_error(exc):
        return ConnectionLost(f"lost the connection to the Daytona sandbox while {what}")
    status = status_of(exc)
    if status in (401, 403):
        return AuthenticationFailed(f"the Daytona API refused the API key while {what}")
    return ConnectionFailed(f"Daytona failed while {what}: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__
