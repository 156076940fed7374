"""An awaitable computed once, awaitable any number of times by any number of tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

import anyio

T = TypeVar("T")


class Once(Generic[T]):
    """Runs ``fn`` the first time it is awaited and gives every awaiter its outcome.

    A cancelled awaiter caches nothing: the next awaiter runs ``fn`` again.
    """

    def __init__(self, fn: Callable[[], Awaitable[T]]) -> None:
        self._fn = fn
        self._lock: anyio.Lock | None = None
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._done

    def set(self, value: T) -> None:
        """Record the outcome without running ``fn`` (e.g. after a failed launch)."""
        if not self._done:
            self._done, self._value = True, value

    async def get(self) -> T:
        if not self._done:
            if self._lock is None:
                self._lock = anyio.Lock()
            async with self._lock:
                if not self._done:
                    try:
                        value = await self._fn()
                    except Exception as exc:
                        self._done, self._error = True, exc
                    else:
                        self._done, self._value = True, value
        else:
            await anyio.lowlevel.checkpoint()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def __await__(self) -> Generator[Any, None, T]:
        return self.get().__await__()
