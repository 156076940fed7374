"""Against real Daytona: runs only when DAYTONA_API_KEY is set (DAYTONA_API_URL and
DAYTONA_TARGET as the SDK reads them). Creates a sandbox, runs the checks, deletes it."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import pytest

import sandlot
import sandlot.daytona

pytestmark = pytest.mark.skipif(
    not os.environ.get("DAYTONA_API_KEY"), reason="DAYTONA_API_KEY is not set: no live Daytona"
)


@pytest.fixture(params=["asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def live() -> AsyncIterator[sandlot.Sandbox]:
    sid = await sandlot.daytona.create_sandbox(labels={"created-by": "sandlot-tests"})
    try:
        async with sandlot.open_sandbox(f"daytona://{sid}") as sb:
            yield sb
    finally:
        await sandlot.daytona.delete_sandbox(sid)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_live_exec_spawn_pty_and_files(live: sandlot.Sandbox) -> None:
    sb = live
    r = await sb.exec("sh", ["-c", "printf 'a\\0b'; echo err >&2; exit 3"])
    assert (r.stdout, r.stderr, r.exit) == (b"a\0b", b"err\n", sandlot.ExitStatus(code=3))
    async with sb.spawn("cat") as proc:
        await proc.stdin.send(b"\0binary\xff")
        await proc.stdin.aclose()
        assert await proc.stdout.read_all() == b"\0binary\xff"
        assert await proc.exit == sandlot.ExitStatus(code=0)
    async with sb.spawn("sleep", ["60"]) as proc:
        await proc.ready
        await proc.kill(signal.SIGTERM)
        assert await proc.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
    async with sb.pty("sh", ["-c", "stty size"], size=(33, 101)) as term:
        assert b"33 101" in await term.output.read_all()
        assert await term.exit == sandlot.ExitStatus(code=0)
    await sb.write_file("/tmp/sandlot-live", b"\0\1\2", mode=0o600)
    assert await sb.read_file("/tmp/sandlot-live") == b"\0\1\2"
    with pytest.raises(sandlot.FileNotFound):
        await sb.read_file("/tmp/sandlot-live-missing")


async def test_live_unknown_sandbox() -> None:
    with pytest.raises(sandlot.SandboxNotFound):
        async with sandlot.open_sandbox("daytona://sandlot-no-such-sandbox-4b1f"):
            pass
