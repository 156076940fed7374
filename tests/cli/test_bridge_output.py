"""The ``sandlot shell`` pty bridge delivers all output to a slow reader (in process)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import anyio
import pytest

import sandlot
from sandlot._cli._shell import bridge
from targets.ssh import TEST_USER, Sshd

from .test_output import SLOW_READER

SIZE = 6_000_000


@pytest.fixture(params=["local", "ssh"])
def url(request: pytest.FixtureRequest) -> tuple[str, dict[str, object]]:
    if request.param == "local":
        return "local", {}
    sshd: Sshd = request.getfixturevalue("sshd")
    return sshd.url(TEST_USER), {"ssh": sshd.options()}


async def test_the_bridge_delivers_everything_to_a_slow_reader(
    url: tuple[str, dict[str, object]],
) -> None:
    # No newline in the output: the terminal passes it through unchanged.
    command = f"head -c {SIZE} /dev/zero | tr '\\0' a"
    keys_r, keys_w = os.pipe()  # our "keyboard": never typed on
    out_r, out_w = os.pipe()
    try:
        with anyio.fail_after(40):
            async with await anyio.open_process(
                [sys.executable, "-c", SLOW_READER, "0.5", "0.02"],
                stdin=out_r,
                stdout=subprocess.PIPE,
            ) as reader:
                os.close(out_r)
                out_r = -1
                async with (
                    sandlot.open_sandbox(url[0], **url[1]) as sb,  # type: ignore[arg-type]
                    sb.pty("sh", ["-c", command]) as term,
                ):
                    status = await bridge(term, keys_r, out_w)
                os.close(out_w)
                out_w = -1
                assert reader.stdout is not None
                report = b"".join([chunk async for chunk in reader.stdout])
    finally:
        for fd in (keys_r, keys_w, out_r, out_w):
            if fd >= 0:
                os.close(fd)
    assert status == sandlot.ExitStatus(code=0)
    assert report.split() == [str(SIZE).encode(), hashlib.sha256(b"a" * SIZE).hexdigest().encode()]
