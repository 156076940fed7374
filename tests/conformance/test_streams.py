"""Our stream classes pass the reusable checks of ``sandlot.testing``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from anyio.abc import ByteReceiveStream, ByteSendStream

import sandlot
from sandlot.testing import (
    check_aclose_wakes_receive,
    check_one_way_stream,
    check_receive_arguments,
)

from ._helpers import requires


@pytest.mark.parametrize("route", ["stdout", "stderr"])
async def test_stdin_to_output_is_a_conforming_one_way_stream(
    sb: sandlot.Sandbox, route: str
) -> None:
    requires(sb, "stdin_eof")
    script = "exec cat" if route == "stdout" else "exec cat >&2"

    @asynccontextmanager
    async def maker() -> AsyncIterator[tuple[ByteSendStream, ByteReceiveStream]]:
        async with sb.spawn("sh", ["-c", script]) as proc:
            yield proc.stdin, proc.stdout if route == "stdout" else proc.stderr

    await check_one_way_stream(maker, big=2 << 20)


@pytest.mark.parametrize("route", ["stdout", "stderr", "pty"])
async def test_output_of_a_silent_process_meets_the_receive_contract(
    sb: sandlot.Sandbox, route: str
) -> None:
    # Every output stream, whatever the backend: bad max_bytes raise ValueError (a
    # sandlot error), and closing the stream wakes a receive waiting on a silent process.
    if route == "pty":
        requires(sb, "pty")

    async def check(stream: sandlot.ProcessOutput) -> None:
        await check_receive_arguments(stream)
        with pytest.raises(sandlot.InvalidArgument, match="max_bytes"):
            await stream.receive(0)
        await check_aclose_wakes_receive(stream)
        with pytest.raises(sandlot.StreamClosed):
            await stream.receive()

    with anyio.fail_after(30):
        if route == "pty":
            async with sb.pty("sleep", ["60"]) as term:
                await term.ready
                await check(term.output)
        else:
            async with sb.spawn("sleep", ["60"]) as proc:
                await proc.ready
                await check(proc.stdout if route == "stdout" else proc.stderr)


@pytest.mark.parametrize("route", ["stdout", "stderr"])
@pytest.mark.parametrize(
    "tail",
    [b"\x1e", b"x\x1esandlot-", b"x\x01\x01", b"x\x02\x02"],
    ids=["RS", "RS-tag", "SOH", "STX"],  # (SOH, STX: Daytona's log markers start so)
)
async def test_output_ending_like_a_report_reaches_the_reader_at_once(
    sb: sandlot.Sandbox, route: str, tail: bytes
) -> None:
    """Bytes that could start one of the launchers' reports (which begin with RS) or a
    provider's stream marker are the command's output while it runs: nothing holds them
    back until more output comes."""
    octal = "".join(f"\\{b:03o}" for b in tail)
    redirect = "" if route == "stdout" else ">&2"
    async with sb.spawn("sh", ["-c", f"printf '{octal}' {redirect}; exec sleep 30"]) as proc:
        stream = proc.stdout if route == "stdout" else proc.stderr
        got = b""
        with anyio.fail_after(10):
            while len(got) < len(tail):
                got += await stream.receive()
        assert got == tail
        await proc.kill()
