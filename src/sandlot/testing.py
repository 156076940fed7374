"""Reusable conformance checks for byte streams, in the spirit of ``trio.testing``.

Each check takes a *maker*: a callable returning an async context manager that yields a
fresh pair ``(send_stream, receive_stream)`` where bytes sent on one arrive on the other
(for example a spawned ``cat``'s stdin and stdout). The checks raise ``AssertionError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream

__all__ = ["StreamPairMaker", "check_one_way_stream", "check_receive_stream_ends"]

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


async def check_one_way_stream(maker: StreamPairMaker, *, big: int = 4 << 20) -> None:
    """Check ordering, chunking, ``max_bytes``, large transfers with flow control, EOF
    delivery and the closed-stream errors of a one-way byte stream pair."""
    # Small messages keep their bytes and order; max_bytes is honoured.
    async with maker() as (send, receive):
        await send.send(b"hello ")
        await send.send(b"world\n")
        assert await _receive_exactly(receive, 12) == b"hello world\n"
        await send.send(b"abcdef\n")
        first = await receive.receive(2)
        assert 1 <= len(first) <= 2, f"receive(2) returned {len(first)} bytes"
        rest = await _receive_exactly(receive, 7 - len(first))
        assert first + rest == b"abcdef\n"
        await send.aclose()
        await check_receive_stream_ends(receive)

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
