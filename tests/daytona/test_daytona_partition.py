"""A frozen Daytona server (SIGSTOP: connections open, nothing answers) never hangs a
call: timeouts and cancel scopes take effect within a bound, and an idle log stream
notices the silence and fails with ConnectionLost."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import anyio
import pytest
from abandoned import abandoned_pgid

import daytona_server
import sandlot
from sandlot._backends.daytona import _oneshot, _pty, _session
from targets import LEAK_TAG, LEAK_TAG_VAR, infrastructure_env
from targets.daytona import options

#: How far past a deadline a call may return while the server is frozen: one signal
#: attempt (3 s), then the session's release (2 s).
PAST_DEADLINE = 5.5


@contextlib.asynccontextmanager
async def own_server() -> AsyncIterator[tuple[daytona_server.LocalDaytona, sandlot.Sandbox]]:
    """A server of this test's own (stopping it kills what it runs)."""
    server = daytona_server.start(infrastructure_env(), {LEAK_TAG_VAR: LEAK_TAG})
    try:
        async with sandlot.open_sandbox(
            f"daytona://{daytona_server.SANDBOX_ID}", daytona=options(server), kill_grace=0.2
        ) as sb:
            yield server, sb
    finally:
        server.stop()


@contextlib.contextmanager
def frozen(server: daytona_server.LocalDaytona) -> Iterator[None]:
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


async def until(condition: Callable[[], bool]) -> None:
    while True:
        if condition():
            return
        await anyio.sleep(0.01)  # polling a condition: there is no event to wait on


async def test_exec_timeout_fires_while_the_server_is_frozen(tmp_path: Path) -> None:
    marker = tmp_path / "started"  # the stand-in runs commands on this machine
    async with own_server() as (server, sb):
        result: list[sandlot.ExecResult] = []

        async def run() -> None:
            cmd = f"touch {marker}; exec sleep 60"
            result.append(await sb.exec("sh", ["-c", cmd], timeout=2))

        with anyio.fail_after(30), contextlib.ExitStack() as stack:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await until(marker.exists)
                stack.enter_context(frozen(server))
                started = anyio.current_time()
            returned = anyio.current_time() - started
        # The answer is awaited past the deadline for the kill grace and a margin.
        assert returned < 2 + _oneshot.MARGIN + 0.2 + 0.25 + 1.0, returned
        (r,) = result
        assert r.timed_out and r.exit == sandlot.ExitStatus(signal=signal.SIGKILL)


async def test_a_cancel_scope_around_a_read_fires_while_the_server_is_frozen() -> None:
    async with own_server() as (server, sb):
        with anyio.fail_after(30):
            proc = await sb.spawn("sh", ["-c", "echo up; exec sleep 60"])
            assert await proc.stdout.receive() == b"up\n"
            with frozen(server):
                started = anyio.current_time()
                with pytest.raises(TimeoutError), anyio.fail_after(1):
                    async with proc:
                        await proc.stdout.receive()
                returned = anyio.current_time() - started
            assert returned < 1 + PAST_DEADLINE, returned


async def test_an_idle_log_stream_detects_a_frozen_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_session, "_IDLE_PROBE", 0.5)
    async with own_server() as (server, sb):
        with anyio.fail_after(30):
            proc = await sb.spawn("sh", ["-c", "echo up; exec sleep 60"])
            assert await proc.stdout.receive() == b"up\n"
            await anyio.sleep(1.2)  # idle, and probed: a live server answers
            assert proc.returncode is None
            with frozen(server):
                started = anyio.current_time()
                with pytest.raises(sandlot.ConnectionLost):
                    await proc.exit
                assert anyio.current_time() - started < 0.5 * 2 + 1.0
                await proc.aclose()  # bounded


def group_gone(pgid: int) -> bool:
    """The stand-in runs commands on this machine (and reaps them)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("kind", ["exec", "pty"])
async def test_a_start_under_way_when_the_server_freezes_ends_at_the_deadline(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The start is not shielded past the caller's deadline (it used to wait up to the
    60 s launch bound); once the server answers again, the process it started is stopped."""
    caplog.set_level(logging.INFO, logger="sandlot")
    token = f"sandlot-abandoned-{uuid.uuid4().hex}"
    async with own_server() as (server, sb):
        with anyio.fail_after(30):
            with frozen(server):
                started = anyio.current_time()
                if kind == "exec":
                    # One request: its answer is awaited past the deadline for the kill
                    # grace and a margin, then given up on.
                    bound = 2 + 0.2 + 0.25 + _oneshot.MARGIN
                    with anyio.fail_after(bound + 1.0):
                        r = await sb.exec("sh", ["-c", "exec sleep 60", token], timeout=2)
                    assert r.timed_out and r.exit == sandlot.ExitStatus(signal=signal.SIGKILL)
                else:
                    bound = 2
                    with pytest.raises(TimeoutError), anyio.fail_after(2):
                        async with sb.pty("sh", ["-c", "exec sleep 60", token]):
                            pass
                returned = anyio.current_time() - started
            assert returned < bound + 1.0, returned

            if kind == "exec":
                # Its kill went out once the server answered; or it came first, and the
                # launcher ran nothing. Either way nothing with the token runs.
                await abandoned_exec(caplog, token)
                await until(lambda: not running_with(token))
            else:
                pgid = await abandoned_pgid(caplog, token)
                await until(lambda: group_gone(pgid))


def running_with(token: str) -> bool:
    """A process on this machine (the stand-in's sandbox) with ``token`` in its argv."""
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    return True
        except OSError:
            continue
    return False


async def abandoned_exec(caplog: pytest.LogCaptureFixture, token: str) -> None:
    def logged() -> bool:
        return any(token in r.getMessage() and "gave up" in r.getMessage() for r in caplog.records)

    with anyio.fail_after(20):
        await until(logged)  # the log line comes from a task


async def test_an_idle_pty_detects_a_frozen_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pty, "_IDLE_PROBE", 0.5, raising=False)
    async with own_server() as (server, sb):
        with anyio.fail_after(30):
            term = await sb.pty("sh", ["-c", "echo up; exec sleep 60"])
            assert await term.output.receive() == b"up\r\n"
            await anyio.sleep(1.2)  # idle, and probed: a live server answers
            assert term.returncode is None
            with frozen(server):
                started = anyio.current_time()
                with pytest.raises(sandlot.ConnectionLost):
                    await term.exit
                assert anyio.current_time() - started < 0.5 * 2 + 1.0
                await term.aclose()  # bounded
