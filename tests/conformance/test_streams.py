"""Our stream classes pass the reusable checks of ``sandlot.testing``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from anyio.abc import ByteReceiveStream, ByteSendStream

import sandlot
from sandlot.testing import check_one_way_stream

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
