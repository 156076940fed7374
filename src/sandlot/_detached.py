"""Calls that outlive their caller, for a native (anyio) transport: a start given up on.

anyio has no detached tasks, and a transport is opened and closed by calls that need not
nest (no task group can span them), so a :class:`Detached` owns its tasks itself: an
asyncio task on asyncio, a system task under trio. It ends them, bounded, when the
transport closes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

import anyio
import sniffio

from ._errors import ConnectionLost

__all__ = ["Detached"]

T = TypeVar("T")

logger = logging.getLogger("sandlot")


class _Call(Generic[T]):
    """One call's state, shared by its caller and its task."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.done = anyio.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.finished = False
        self.abandoned = False


class Detached:
    """Tasks owned by a transport rather than by the call that started them."""

    def __init__(self) -> None:
        self._running: dict[anyio.CancelScope, _Call[Any]] = {}
        self._changed = anyio.Event()
        self._asyncio_tasks: set[Any] = set()  # strong references: asyncio keeps weak ones

    def _spawn(self, fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if sniffio.current_async_library() == "trio":
            import trio

            trio.lowlevel.spawn_system_task(fn, name="sandlot-detached")
            return
        import asyncio

        task = asyncio.get_running_loop().create_task(fn())
        self._asyncio_tasks.add(task)
        task.add_done_callback(self._asyncio_tasks.discard)

    async def call_or_abandon(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        abandon: Callable[[T], Awaitable[object]],
        what: str,
    ) -> T:
        """``await fn()`` in a task of its own, which the caller's cancellation does not
        reach: for a call that may start something only its result can stop.

        A cancelled caller does not wait: the cancellation propagates at once, ``fn`` runs
        on, and ``abandon(result)`` then disposes of what it made (its error is dropped:
        nothing was made). ``fn``'s own errors reach a caller that waited, as they are.
        ``what`` names the call in the warning of a close that had to cut it short.
        """
        call: _Call[T] = _Call(what)

        async def run() -> None:
            scope = anyio.CancelScope()
            self._running[scope] = call
            try:
                with scope:
                    try:
                        call.result = await fn()
                    except Exception as exc:
                        call.error = exc
                    finally:
                        call.finished = True
                    if call.abandoned and call.error is None:
                        await self._dispose(call, abandon)
                if scope.cancelled_caught and call.error is None and not call.abandoned:
                    # Closed under a caller still waiting: it must not get our cancellation.
                    call.error = ConnectionLost(f"the sandbox was closed while {what}")
            finally:
                del self._running[scope]
                call.done.set()
                self._notify()

        self._spawn(run)
        try:
            await call.done.wait()
        except BaseException:
            call.abandoned = True
            if call.finished and call.error is None:
                # It ended as the caller left: dispose of it all the same.
                self._spawn(lambda: self._owned(call, abandon))
            raise
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    async def _owned(self, call: _Call[T], abandon: Callable[[T], Awaitable[object]]) -> None:
        scope = anyio.CancelScope()
        self._running[scope] = call
        try:
            with scope:
                await self._dispose(call, abandon)
        finally:
            del self._running[scope]
            self._notify()

    @staticmethod
    async def _dispose(call: _Call[T], abandon: Callable[[T], Awaitable[object]]) -> None:
        try:
            await abandon(call.result)  # type: ignore[arg-type]
        except Exception as exc:
            logger.warning("could not clean up after %s, given up on: %r", call.what, exc)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def aclose(self, wait: float, cut_wait: float) -> None:
        """Let the tasks finish for up to ``wait`` seconds, then end them (``cut_wait``
        more at most); says what a call cut short may have left running."""
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(wait):
                while self._running:
                    await self._changed.wait()
            cut = list(self._running.items())
            for scope, _ in cut:
                scope.cancel()
            with anyio.move_on_after(cut_wait):
                while self._running:
                    await self._changed.wait()
        for _, call in cut:
            if call.abandoned:
                logger.warning(
                    "%s, given up on, did not end before the sandbox closed (the server "
                    "does not answer): what it started may still be running",
                    call.what,
                )
