"""Running asyncio-only libraries (a backend's client or SDK) under any anyio backend.

On asyncio the coroutines run natively. Under trio they run on an asyncio event loop in a
thread of their own (one per bridge), and results come back through the trio token, so a
call costs one thread hop each way. Callers should batch: hop per request, not per chunk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio
import sniffio

T = TypeVar("T")

#: After cancelling a call, how long to wait for the library to wind it down. asyncio
#: code stops at its next await; this only bounds a call stuck where it cannot.
_CANCEL_WAIT = 3.0


class AsyncioBridge:
    """Calls asyncio coroutines from the current anyio backend."""

    def __init__(self) -> None:
        self.native = sniffio.current_async_library() == "asyncio"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
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
        """Stop the loop thread, if one was started."""
        if self.native or self._loop is None or self._thread is None:
            return
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        fut = asyncio.run_coroutine_threadsafe(cancel_all(), loop)
        await anyio.to_thread.run_sync(lambda: fut.result(timeout=5))
        loop.call_soon_threadsafe(loop.stop)
        await anyio.to_thread.run_sync(thread.join)
