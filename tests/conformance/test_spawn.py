"""spawn: long-lived processes with separate streams, ready and exit (SPEC §1)."""

from __future__ import annotations

import signal

import anyio
import pytest

import sandlot

from ._helpers import exists, gone, requires


async def test_streams_ready_and_exit(sb: sandlot.Sandbox) -> None:
    requires(sb, "stdin_eof")
    async with sb.spawn("sh", ["-c", "cat; echo to-err >&2; exit 4"]) as proc:
        await proc.ready
        await proc.stdin.send(b"line 1\n")
        await proc.stdin.send(b"line 2\n")
        await proc.stdin.aclose()
        assert await proc.stdout.read_all() == b"line 1\nline 2\n"
        assert await proc.stderr.read_all() == b"to-err\n"
        assert await proc.exit == sandlot.ExitStatus(code=4)
        assert proc.returncode == 4


async def test_ready_and_exit_are_awaitable_many_times_by_many_tasks(
    sb: sandlot.Sandbox,
) -> None:
    async with sb.spawn("sh", ["-c", "read x; exit 5"]) as proc:
        seen: list[sandlot.ExitStatus] = []

        async def waiter() -> None:
            await proc.ready
            seen.append(await proc.exit)
            seen.append(await proc.exit)

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(waiter)
            await proc.ready
            await proc.stdin.send(b"go\n")
        assert seen == [sandlot.ExitStatus(code=5)] * 10
        await proc.ready
        assert await proc.exit == sandlot.ExitStatus(code=5)


async def test_output_written_before_exit_is_never_lost(sb: sandlot.Sandbox) -> None:
    async with sb.spawn("sh", ["-c", "head -c 30000 /dev/zero; echo tail; echo e >&2"]) as p:
        status = await p.exit  # resolve exit first, read afterwards
        assert status.code == 0
        out = await p.stdout.read_all()
        assert len(out) == 30005 and out.endswith(b"\0tail\n")
        assert await p.stderr.read_all() == b"e\n"


async def test_kill_with_a_signal_is_reported(sb: sandlot.Sandbox) -> None:
    async with sb.spawn("sh", ["-c", "echo up; exec sleep 60"]) as proc:
        await proc.ready
        assert await proc.stdout.receive() == b"up\n"
        await proc.kill(signal.SIGTERM)
        status = await proc.exit
        assert status == sandlot.ExitStatus(signal=signal.SIGTERM)
        assert status.returncode == -15 and proc.returncode == -15
        await proc.kill(signal.SIGKILL)  # after exit: a no-op, not an error


# Not SIGINT/SIGQUIT: the command's `sh` starts its background job with those ignored.
@pytest.mark.parametrize(
    "sig",
    [signal.SIGUSR1, signal.SIGHUP, signal.SIGALRM, signal.SIGKILL],
    ids=lambda s: s.name,
)
async def test_any_signal_reaches_the_process_group(
    sb: sandlot.Sandbox, sig: signal.Signals
) -> None:
    if sig not in (signal.SIGTERM, signal.SIGKILL):
        requires(sb, "signals")
    # The signal reaches the whole group: a child that does not handle it dies too.
    async with sb.spawn("sh", ["-c", "sleep 60 & echo $!; wait"]) as proc:
        child = (await proc.stdout.receive()).strip().decode()
        await proc.kill(sig.name)
        assert await proc.exit == sandlot.ExitStatus(signal=sig)
        assert await gone(sb, child), f"child {child} survived {sig.name}"


# A command the launcher starts does not inherit ignored SIGINT/SIGQUIT (as a non-interactive
# shell's background jobs would): their default action ends it.
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT], ids=lambda s: s.name)
async def test_sigint_and_sigquit_end_a_spawned_command(
    sb: sandlot.Sandbox, sig: signal.Signals
) -> None:
    requires(sb, "signals")
    async with sb.spawn("sleep", ["60"]) as proc:
        await proc.ready
        await proc.kill(sig)
        with anyio.fail_after(10):
            assert await proc.exit == sandlot.ExitStatus(signal=sig)


# The command starts with the signal dispositions a fresh session gives, whatever the caller
# ignores (a program run as `app &` from a script ignores SIGINT/SIGQUIT; a TUI may ignore
# SIGINT itself): its `kill` means the same on every backend.
@pytest.mark.parametrize("pty", [False, True], ids=["pipes", "pty"])
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE], ids=lambda s: s.name
)
async def test_a_signal_the_caller_ignores_still_ends_the_command(
    sb: sandlot.Sandbox, sig: signal.Signals, pty: bool
) -> None:
    requires(sb, "signals")
    if pty:
        requires(sb, "pty")
    previous = signal.signal(sig, signal.SIG_IGN)
    try:
        proc: sandlot.Process | sandlot.Terminal = await (
            sb.pty("sleep", ["60"]) if pty else sb.spawn("sleep", ["60"])
        )
        await proc.ready
    finally:
        signal.signal(sig, previous)
    async with proc:
        await proc.kill(sig)
        with anyio.fail_after(10):
            assert await proc.exit == sandlot.ExitStatus(signal=sig)


async def test_leaving_the_block_terminates_the_process_and_its_children(
    sb: sandlot.Sandbox,
) -> None:
    async with sb.spawn("sh", ["-c", "sleep 60 & echo $! $$; wait"]) as proc:
        pids = (await proc.stdout.receive()).split()
    assert proc.returncode is not None
    assert (await proc.exit).signal == signal.SIGTERM
    assert await gone(sb, *pids), f"{pids!r} still alive"


async def test_leaving_the_block_kills_a_process_ignoring_sigterm(sb: sandlot.Sandbox) -> None:
    async with sb.spawn("sh", ["-c", "trap '' TERM; echo armed; while :; do sleep 1; done"]) as p:
        assert await p.stdout.receive() == b"armed\n"
    assert await p.exit == sandlot.ExitStatus(signal=signal.SIGKILL)


async def test_write_after_close_raises_a_clear_error(sb: sandlot.Sandbox) -> None:
    requires(sb, "stdin_eof")
    async with sb.spawn("cat") as proc:
        await proc.stdin.aclose()
        with pytest.raises(sandlot.StreamClosed, match="stdin is closed"):
            await proc.stdin.send(b"late")
        with pytest.raises(anyio.ClosedResourceError):
            await proc.stdin.send(b"late")
        assert await proc.stdout.read_all() == b""
        with pytest.raises(anyio.EndOfStream):
            await proc.stdout.receive()
        with pytest.raises(sandlot.InvalidArgument, match="stdin takes bytes, not str"):
            await proc.stdin.send("text")  # type: ignore[arg-type]


async def test_command_not_found_fails_ready_and_resolves_exit(sb: sandlot.Sandbox) -> None:
    async with sb.spawn("no-such-cmd-xyz") as proc:
        with pytest.raises(sandlot.CommandNotFound, match="no-such-cmd-xyz") as first:
            await proc.ready
        with pytest.raises(sandlot.CommandNotFound) as second:
            await proc.ready
        assert first.value.command == second.value.command == "no-such-cmd-xyz"
        assert await proc.exit == sandlot.ExitStatus(code=127)


async def test_bad_cwd_fails_ready_naming_the_directory(sb: sandlot.Sandbox) -> None:
    async with sb.spawn("pwd", cwd="/no/such/dir-xyz") as proc:
        with pytest.raises(sandlot.LaunchError, match="/no/such/dir-xyz"):
            await proc.ready
        assert (await proc.exit).code == 126


async def test_await_spawn_without_a_block(sb: sandlot.Sandbox) -> None:
    proc = await sb.spawn("sh", ["-c", "echo hi"])
    try:
        assert await proc.stdout.read_all() == b"hi\n"
        assert (await proc.exit).code == 0
    finally:
        await proc.aclose()
    await proc.aclose()  # idempotent


async def test_many_concurrent_spawns(sb: sandlot.Sandbox) -> None:
    outputs: dict[int, bytes] = {}

    async def one(i: int) -> None:
        async with sb.spawn("sh", ["-c", f"read x; echo $x-{i}"]) as proc:
            await proc.stdin.send(b"v\n")
            outputs[i] = await proc.stdout.read_all()
            assert (await proc.exit).code == 0

    async with anyio.create_task_group() as tg:
        for i in range(25):
            tg.start_soon(one, i)
    assert outputs == {i: f"v-{i}\n".encode() for i in range(25)}


async def test_a_reader_that_does_not_read_holds_the_producer_back(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    # 64 MiB is far beyond any pipe, window or transfer buffer: if output were buffered
    # without bound, the producer would finish and create the marker.
    marker = f"{scratch}/finished"
    script = f"head -c {64 << 20} /dev/zero; touch {marker}; echo done >&2"
    async with sb.spawn("sh", ["-c", script]) as proc:
        first = await proc.stdout.receive()
        assert first and set(first) == {0}
        with anyio.move_on_after(1.5):  # what must NOT happen has no event to wait for
            await proc.stderr.receive()
            pytest.fail("the producer finished although nobody read its output")
        assert not await exists(sb, marker)
        # Reading resumes the producer, which then finishes.
        total = len(first)
        async for chunk in proc.stdout:
            total += len(chunk)
        assert total == 64 << 20
        assert await proc.stderr.receive() == b"done\n"
        assert (await proc.exit).code == 0


async def test_closing_while_another_task_reads_ends_that_read_cleanly(
    sb: sandlot.Sandbox,
) -> None:
    # A reader blocked in receive() when the process is closed under it must see the
    # stream closed (ClosedResourceError) or ended, never a connection error.
    async with sb.spawn("sh", ["-c", "echo up; exec sleep 60"]) as proc:
        assert await proc.stdout.receive() == b"up\n"
        outcome: list[BaseException | None] = []

        async def reader() -> None:
            try:
                await proc.stdout.receive()
            except (anyio.ClosedResourceError, anyio.EndOfStream) as exc:
                outcome.append(exc)
            else:
                outcome.append(None)

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await anyio.wait_all_tasks_blocked()
            await proc.aclose()
        assert len(outcome) == 1 and outcome[0] is not None, outcome
