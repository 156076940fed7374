"""Reusable conformance checks for byte streams, in the spirit of ``trio.testing``.

The pair checks take a *maker*: a callable returning an async context manager that yields
a fresh pair ``(send_stream, receive_stream)`` where bytes sent on one arrive on the other
(for example a spawned ``cat``'s stdin and stdout); the others take one receive stream
(for example the output of a silent process). The checks raise ``AssertionError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

__all__ = [
    "StreamPairMaker",
    "check_aclose_wakes_receive",
    "check_one_way_stream",
    "check_receive_arguments",
    "check_receive_stream_ends",
]

StreamPairMaker = Callable[
    [], AbstractAsyncContextManager[tuple[ByteSendStream, ByteReceiveStream]]
]


async def _receive_exactly(stream: ByteReceiveStream, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        buf += await stream.receive(n - len(buf))
    return bytes(buf)


async def check_receive_stream_ends(stream: ByteReceiveStream) -> None:
    """After the end, ``receive`` keeps raising ``EndOfStream``; after ``aclose`` it
    raises ``ClosedResourceError``; ``aclose`` is idempotent."""
    for _ in range(3):
        try:
            data = await stream.receive()
        except anyio.EndOfStream:
            continue
        raise AssertionError(f"receive() after the end returned {data!r}")
    await stream.aclose()
    await stream.aclose()
    try:
        await stream.receive()
    except anyio.ClosedResourceError:
        pass
    else:
        raise AssertionError("receive() after aclose() did not raise ClosedResourceError")


async def check_receive_arguments(stream: ByteReceiveStream, *, timeout: float = 5) -> None:
    """``receive(0)`` and ``receive(-1)`` raise ``ValueError`` (anyio's stream contract),
    at once, whether or not data is waiting."""
    for bad in (0, -1):
        with anyio.move_on_after(timeout):
            try:
                data = await stream.receive(bad)
            except ValueError:
                continue
            raise AssertionError(f"receive({bad}) returned {data!r} instead of raising ValueError")
        raise AssertionError(f"receive({bad}) blocked instead of raising ValueError")


async def check_aclose_wakes_receive(stream: ByteReceiveStream, *, timeout: float = 5) -> None:
    """A ``receive`` waiting on a silent stream raises ``ClosedResourceError`` as soon as
    another task closes the stream (as with a socket or a pipe). ``stream`` must stay
    silent meanwhile; it is closed afterwards."""
    outcome: list[object] = []

    async def receiver() -> None:
        try:
            outcome.append(await stream.receive())
        except Exception as exc:
            outcome.append(exc)

    with anyio.move_on_after(timeout) as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(receiver)
            await anyio.wait_all_tasks_blocked()  # the receive is waiting (or ended)
            if outcome:
                raise AssertionError(f"receive() on a silent stream ended with {outcome[0]!r}")
            await stream.aclose()
    if scope.cancelled_caught:
        raise AssertionError(f"aclose() did not wake a pending receive() within {timeout} s")
    if not isinstance(outcome[0], anyio.ClosedResourceError):
        raise AssertionError(
            f"a receive() pending at aclose() ended with {outcome[0]!r}, not ClosedResourceError"
        )


async def check_one_way_stream(maker: StreamPairMaker, *, big: int = 4 << 20) -> None:
    """Check ordering, chunking, ``max_bytes`` (and its bad values), large transfers with
    flow control, EOF delivery, that a cancelled ``receive`` loses nothing, that
    ``aclose`` wakes a pending ``receive``, and the closed-stream errors of a one-way byte
    stream pair."""
    # Small messages keep their bytes and order; max_bytes is honoured, and a bad one is
    # refused without taking anything.
    async with maker() as (send, receive):
        await send.send(b"hello ")
        await send.send(b"world\n")
        first = await receive.receive(1)
        await check_receive_arguments(receive)
        assert first + await _receive_exactly(receive, 11) == b"hello world\n"
        await send.send(b"abcdef\n")
        first = await receive.receive(2)
        assert 1 <= len(first) <= 2, f"receive(2) returned {len(first)} bytes"
        rest = await _receive_exactly(receive, 7 - len(first))
        assert first + rest == b"abcdef\n"
        await send.aclose()
        await check_receive_stream_ends(receive)

    # A receive cancelled by its caller loses no data: neither one cancelled while it
    # waits, nor one cancelled as it is called with data waiting.
    message = os.urandom(100_000)
    async with maker() as (send, receive):
        async with anyio.create_task_group() as tg:
            tg.start_soon(receive.receive)
            await anyio.wait_all_tasks_blocked()
            tg.cancel_scope.cancel()
        await send.send(message)
        got = bytearray(await receive.receive(1))  # the message has (begun to) arrive
        with anyio.CancelScope() as scope:
            scope.cancel()
            got += await receive.receive()  # may return data or be cancelled: both are fine
        with anyio.move_on_after(10):
            got += await _receive_exactly(receive, len(message) - len(got))
        assert got == message, (
            f"a cancelled receive() lost or altered data: {len(got)} of {len(message)} bytes"
        )
        # A receive pending when the stream is closed ends at once.
        await check_aclose_wakes_receive(receive)

    # A transfer bigger than any pipe or window buffer: sender and receiver run
    # concurrently, so flow control must not deadlock, and every byte arrives in order.
    payload = os.urandom(big)
    async with maker() as (send, receive):
        got = bytearray()

        async def sender() -> None:
            view = memoryview(payload)
            for i in range(0, len(view), 100_003):
                await send.send(bytes(view[i : i + 100_003]))
            await send.aclose()

        async with anyio.create_task_group() as tg:
            tg.start_soon(sender)
            async for chunk in receive:
                assert isinstance(chunk, bytes) and chunk, f"bad chunk {chunk!r}"
                got += chunk
        assert len(got) == len(payload), f"{len(got)} of {len(payload)} bytes arrived"
        assert got == payload, "bytes arrived altered or out of order"

    # Sending after aclose raises ClosedResourceError, and aclose is idempotent.
    async with maker() as (send, receive):
        await send.aclose()
        await send.aclose()
        try:
            await send.send(b"late")
        except anyio.ClosedResourceError:
            pass
        else:
            raise AssertionError("send() after aclose() did not raise ClosedResourceError")
        try:
            data = await receive.receive()
        except anyio.EndOfStream:
            pass
        else:
            raise AssertionError(f"expected EndOfStream after EOF, got {data!r}")
