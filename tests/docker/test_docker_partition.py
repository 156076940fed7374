"""An Engine that freezes (SIGSTOP) or dies (SIGKILL) never hangs a call: a start under
way ends at the caller's deadline and what it started is stopped once the Engine answers
again; a process whose Engine died ends with ConnectionLost in bounded time."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import uuid
from collections.abc import Iterator

import anyio
import pytest
from abandoned import abandoned_pgid, group_gone

import sandlot
from targets import processes
from targets.docker import Dockerd, open_docker, private_dockerd

#: How far past a deadline a call may return while the Engine is frozen.
PAST_DEADLINE = 1.0


@contextlib.contextmanager
def frozen(d: Dockerd) -> Iterator[None]:
    """The Engine stops answering (its connections stay open)."""
    os.kill(d.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(d.pid, signal.SIGCONT)


@pytest.mark.parametrize("kind", ["exec", "spawn", "pty"])
async def test_a_start_under_way_when_the_engine_freezes_ends_at_the_deadline(
    dockerd: Dockerd, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The start is not shielded past the caller's deadline (it used to wait for the
    request timeout, 60 s); once the Engine answers again, what it started is stopped."""
    caplog.set_level(logging.INFO, logger="sandlot")
    token = f"sandlot-abandoned-{uuid.uuid4().hex}"
    argv = ["-c", "exec sleep 60", token]
    async with open_docker(dockerd) as sb:
        assert (await sb.exec("true")).ok  # the connections are up
        with anyio.fail_after(30):
            with frozen(dockerd):
                started = anyio.current_time()
                if kind == "exec":
                    with anyio.fail_after(2 + PAST_DEADLINE):
                        r = await sb.exec("sh", argv, timeout=2)
                    assert r.timed_out and r.exit == sandlot.ExitStatus(signal=signal.SIGKILL)
                    assert (r.stdout, r.stderr) == (b"", b"")
                else:
                    launch = sb.spawn if kind == "spawn" else sb.pty
                    with pytest.raises(TimeoutError), anyio.fail_after(2):
                        async with launch("sh", argv):
                            pass
                returned = anyio.current_time() - started
            assert returned < 2 + PAST_DEADLINE, returned
            pgid = await abandoned_pgid(caplog, token)
            assert await group_gone(sb, pgid), f"process group {pgid} was never stopped"


async def test_closing_the_sandbox_while_the_engine_is_frozen_is_bounded(
    dockerd: Dockerd, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandlot")
    token = f"sandlot-abandoned-{uuid.uuid4().hex}"
    with anyio.fail_after(30):
        async with contextlib.AsyncExitStack() as stack:
            sb = await stack.enter_async_context(open_docker(dockerd))
            with frozen(dockerd):
                with pytest.raises(TimeoutError), anyio.fail_after(1):
                    await sb.spawn("sh", ["-c", "exec sleep 60", token])
                started = anyio.current_time()
                await stack.aclose()  # the Sandbox's close
                closed = anyio.current_time() - started
        assert closed < 6.0, closed
        messages = [r.getMessage() for r in caplog.records]
        assert any(token in m and "may still" in m for m in messages), messages


def _processes_under(path: str) -> list[int]:
    """Host processes whose command line names ``path`` (a dead dockerd's containerd and
    shims, which outlive it)."""
    return [pid for pid, p in processes().items() if path.encode() in p.cmdline]


@contextlib.contextmanager
def killable_dockerd() -> Iterator[Dockerd]:
    """A dockerd of the test's own; whatever its death leaves running (containerd, the
    shim, the container's processes) is killed at the end."""
    with private_dockerd() as d:
        state = d.api("GET", f"/containers/{d.container}/json")
        assert isinstance(state, dict)
        init = int(state["State"]["Pid"])
        try:
            yield d
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(d.pid, signal.SIGKILL)
            # The container's init: its pid namespace, and every process in it, dies with it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(init, signal.SIGKILL)
            for pid in _processes_under(d.dir):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


async def test_a_process_whose_engine_dies_ends_with_connection_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("a private dockerd needs root")
    with killable_dockerd() as d:
        async with open_docker(d) as sb:
            with anyio.fail_after(30):
                reading = await sb.spawn("sh", ["-c", "echo up; exec sleep 60"])
                waiting = await sb.spawn("sh", ["-c", "exec sleep 60"])
                assert await reading.stdout.receive() == b"up\n"
                await waiting.ready
                errors: dict[str, BaseException] = {}

                async def read() -> None:
                    try:
                        await reading.stdout.receive()
                    except Exception as exc:
                        errors["read"] = exc

                async def wait() -> None:
                    try:
                        await waiting.exit
                    except Exception as exc:
                        errors["exit"] = exc

                async with anyio.create_task_group() as tg:
                    tg.start_soon(read)
                    tg.start_soon(wait)
                    await anyio.wait_all_tasks_blocked()
                    started = anyio.current_time()
                    os.kill(d.pid, signal.SIGKILL)
                assert anyio.current_time() - started < 5.0
                assert sorted(errors) == ["exit", "read"], errors
                for exc in errors.values():
                    assert isinstance(exc, sandlot.ConnectionLost), repr(exc)
                    assert "Docker" in str(exc), exc
                with pytest.raises(sandlot.ConnectionLost):
                    await reading.exit
                # Cleanup cannot reach the Engine: it gives up within its bound.
                started = anyio.current_time()
                await reading.aclose()
                await waiting.aclose()
                assert anyio.current_time() - started < 2 * 5.5


async def test_a_quiet_read_notices_a_frozen_engine(
    dockerd: Dockerd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output awaited with no deadline: after a quiet spell the Engine is asked whether it
    still answers, so a frozen one ends the read with ConnectionLost (not a hang)."""
    from sandlot._backends.docker import _engine, _process

    monkeypatch.setattr(_process, "IDLE_PROBE", 0.5)
    monkeypatch.setattr(_engine, "PROBE_TIMEOUT", 1.0)
    async with open_docker(dockerd) as sb:
        with anyio.fail_after(30):
            async with sb.spawn("sh", ["-c", "echo up; exec sleep 60"]) as proc:
                assert await proc.stdout.receive() == b"up\n"
                await anyio.sleep(1)  # quiet for longer than a probe interval: still fine
                with frozen(dockerd):
                    started = anyio.current_time()
                    with pytest.raises(sandlot.ConnectionLost, match="stopped answering"):
                        await proc.stdout.receive()
                    assert anyio.current_time() - started < 3
