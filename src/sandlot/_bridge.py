"""Running asyncio-only libraries (a backend's client or SDK) under any anyio backend.

On asyncio the coroutines run natively. Under trio they run on an asyncio event loop in a
thread of their own (one per bridge), and results come back through the trio token, so a
call costs one thread hop each way. Callers should batch: hop per request, not per chunk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import anyio
import sniffio

T = TypeVar("T")

logger = logging.getLogger("sandlot")

#: After cancelling a call, how long to wait for the library to wind it down. asyncio
#: code stops at its next await; this only bounds a call stuck where it cannot.
_CANCEL_WAIT = 3.0


class AsyncioBridge:
    """Calls asyncio coroutines from the current anyio backend."""

    def __init__(self) -> None:
        self.native = sniffio.current_async_library() == "asyncio"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        #: Loop side: calls given up on and their disposers, still running.
        self._abandoned: set[asyncio.Future[Any]] = set()
        if self.native:
            self._loop = asyncio.get_running_loop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop the library runs on (started on first use under trio)."""
        if self._loop is None:
            ready = threading.Event()
            loop = asyncio.new_event_loop()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

            self._thread = threading.Thread(target=run, name="sandlot-asyncio", daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = loop
        return self._loop

    async def call(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """``await fn(*args)`` on the library's loop; cancellation is carried across."""
        if self.native:
            return await fn(*args)
        import trio

        fut: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(fn(*args), self.loop)
        done = trio.Event()
        token = trio.lowlevel.current_trio_token()
        fut.add_done_callback(lambda _: token.run_sync_soon(done.set))
        try:
            await done.wait()
        except BaseException:
            fut.cancel()
            with anyio.move_on_after(_CANCEL_WAIT, shield=True):
                await done.wait()
            raise
        return fut.result()

    async def call_or_abandon(
        self,
        fn: Callable[..., Coroutine[Any, Any, T]],
        *args: Any,
        abandon: Callable[[], Awaitable[object]],
    ) -> T:
        """``await fn(*args)`` on the library's loop, where it is never cancelled: a call
        that may start something only its result can stop (a remote process).

        A cancelled caller does not wait for it: the cancellation propagates at once, the
        call runs on to its end on the loop, and ``abandon()`` then runs there to dispose
        of whatever it made, whatever its outcome. The call's own errors reach the caller
        as they are; a cancellation (or any other BaseException) means it was abandoned.
        """
        if self.native:
            task = asyncio.ensure_future(fn(*args))
            try:
                await asyncio.wait({task})  # cancellable, and does not cancel ``task``
            except BaseException:
                self._abandon(task, abandon)
                raise
            return task.result()
        import trio

        fut: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(fn(*args), self.loop)
        done = trio.Event()
        token = trio.lowlevel.current_trio_token()

        def wake(_: object) -> None:
            with contextlib.suppress(RuntimeError):  # the caller's run has ended
                token.run_sync_soon(done.set)

        fut.add_done_callback(wake)
        try:
            await done.wait()
        except BaseException:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing runs
                self.loop.call_soon_threadsafe(self._abandon, fut, abandon)
            raise
        return fut.result()

    def _abandon(
        self,
        fut: asyncio.Future[Any] | concurrent.futures.Future[Any],
        abandon: Callable[[], Awaitable[object]],
    ) -> None:
        """(loop side) Run ``abandon()`` once ``fut`` is done (its outcome is dropped)."""

        async def dispose() -> None:
            try:
                await abandon()
            except Exception as exc:
                logger.debug("disposing of an abandoned call failed: %r", exc)

        def finished(f: asyncio.Future[Any] | concurrent.futures.Future[Any]) -> None:
            if not f.cancelled():
                f.exception()  # retrieved: nobody else will
            self._keep(asyncio.ensure_future(dispose(), loop=self.loop))

        if isinstance(fut, asyncio.Future):
            self._keep(fut)
        # A run_coroutine_threadsafe future completes on this loop's thread.
        fut.add_done_callback(finished)

    def _keep(self, task: asyncio.Future[Any]) -> None:
        """(loop side) Hold ``task`` until it is done, so aclose() can end it."""
        self._abandoned.add(task)
        task.add_done_callback(self._abandoned.discard)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule a plain callback on the library's loop (fire and forget)."""
        if self.native:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def to_caller(self, token: Any, fn: Callable[..., Any], *args: Any) -> None:
        """From the library's loop, run ``fn(*args)`` in the caller's loop (``token`` from
        :meth:`caller_token`)."""
        if self.native:
            fn(*args)
        else:
            token.run_sync_soon(fn, *args)

    def caller_token(self) -> Any:
        """A token for :meth:`to_caller`; call it from the caller's side."""
        if self.native:
            return None
        import trio

        return trio.lowlevel.current_trio_token()

    async def aclose(self) -> None:
        """Stop the loop thread, if one was started; end abandoned calls still running."""
        if self.native:
            with anyio.CancelScope(shield=True):
                for _ in range(2):  # an abandoned call ends, then its disposer
                    if not (pending := list(self._abandoned)):
                        break
                    for task in pending:
                        task.cancel()
                    await asyncio.wait(pending, timeout=_CANCEL_WAIT)
            return
        if self._loop is None or self._thread is None:
            return
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None

        async def cancel_all() -> None:
            for _ in range(2):  # an abandoned call ends, then its disposer
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

        fut = asyncio.run_coroutine_threadsafe(cancel_all(), loop)
        await anyio.to_thread.run_sync(lambda: fut.result(timeout=5))
        loop.call_soon_threadsafe(loop.stop)
        await anyio.to_thread.run_sync(thread.join)
