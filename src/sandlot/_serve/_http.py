"""Request and response helpers for the routes: bounded bodies, checked JSON fields,
errors as JSON."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from .._errors import InvalidArgument, SandlotError
from .._validate import check_argv, check_cwd, check_env
from ._wire import b64decode, error_body, error_of, status_for

__all__ = [
    "ApiError",
    "Body",
    "api",
    "error_response",
    "read_body",
    "read_json",
    "unless_client_leaves",
]

T = TypeVar("T")


class ApiError(Exception):
    """An error of the server itself (not of the sandbox): a status, a type, a message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def too_large(what: str, limit: int, name: str) -> ApiError:
    return ApiError(413, "PayloadTooLarge", f"{what} exceeds {name} ({limit} bytes)")


def error_response(exc: BaseException) -> JSONResponse:
    if isinstance(exc, ApiError):
        return JSONResponse(error_body(exc.kind, exc.message), exc.status)
    return JSONResponse(error_of(exc), status_for(exc))


def api(
    fn: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A route whose sandbox errors and ApiErrors become JSON error responses."""

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except (ApiError, SandlotError) as exc:
            return error_response(exc)

    return endpoint


async def unless_client_leaves(request: Request, call: Callable[[], Awaitable[T]]) -> T | None:
    """``call()``, cancelled if the client goes away first (None then): a request's work
    ends with its client, as a cancelled ``exec`` leaves nothing running. Only once the
    body has been read: all that can come then is the disconnect."""
    results: list[T] = []
    errors: list[Exception] = []

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        tg.cancel_scope.cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        try:
            results.append(await call())
        except Exception as exc:  # raised below, not wrapped in the task group's group
            errors.append(exc)
        tg.cancel_scope.cancel()
    if errors:
        raise errors[0]
    return results[0] if results else None


async def read_body(request: Request, limit: int, name: str = "maxRequestBytes") -> bytes:
    """The body, refused (413) past ``limit`` bytes without reading more of it."""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise ApiError(400, "InvalidArgument", "malformed Content-Length") from None
        if declared > limit:
            raise too_large("the request body", limit, name)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large("the request body", limit, name)
    return bytes(body)


async def read_json(request: Request, limit: int) -> Body:
    raw = await read_body(request, limit)
    if not raw.strip():
        return Body({})
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidArgument("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidArgument("the request body must be a JSON object")
    return Body(data)


class Body:
    """A JSON object's fields, checked by type; unknown fields are refused."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._seen: set[str] = set()

    def _get(self, key: str) -> Any:
        self._seen.add(key)
        return self._data.get(key)

    def done(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise InvalidArgument(f"unknown field(s): {', '.join(unknown)}")

    def argv(self) -> tuple[str, ...]:
        value = self._get("argv")
        if not isinstance(value, list) or not value:
            raise InvalidArgument("argv must be a non-empty list of strings")
        return check_argv(value[0], value[1:])

    def cwd(self) -> str | None:
        return check_cwd(self._get("cwd"))

    def env(self) -> dict[str, str]:
        return check_env(self._get("env"))

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InvalidArgument(f"{key} must be a boolean")
        return value

    def integer(self, key: str, *, minimum: int = 0, maximum: int | None = None) -> int | None:
        value = self._get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidArgument(f"{key} must be an integer >= {minimum}")
        if maximum is not None and value > maximum:
            raise InvalidArgument(f"{key} must be at most {maximum}")
        return int(value)  # narrowed for every mypy the lowest-versions leg runs too

    def text(self, key: str) -> str | None:
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidArgument(f"{key} must be a string")
        return value

    def data(self, key: str) -> bytes | None:
        value = self._get(key)
        return None if value is None else b64decode(key, value)

    def raw_data(self) -> dict[str, Any]:
        """Every field, all taken as known (the caller checks them)."""
        self._seen.update(self._data)
        return self._data

    def raw(self, key: str) -> Any:
        return self._get(key)


def query_int(conn: HTTPConnection, key: str, default: int | None = None) -> int | None:
    text = conn.query_params.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgument(f"{key} must be a non-negative integer") from None
    if value < 0:
        raise InvalidArgument(f"{key} must be a non-negative integer")
    return value
