"""Shared helpers for the durable-jobs tests."""

from __future__ import annotations

import signal
from contextlib import aclosing

import anyio

import sandlot
from sandlot import JobHandle, Jobs, JobStatus

# Enough for a job that the test has just told to finish; nothing here runs long.
DEADLINE = 30


async def drain(
    jobs: Jobs, handle: JobHandle, cursor: int = 0, *, stream: str | None = None
) -> tuple[bytes, JobStatus]:
    """Follow the job to its end; return everything after ``cursor`` and the status."""
    data = bytearray()
    with anyio.fail_after(DEADLINE):
        async for chunk in jobs.follow(handle, cursor, stream=stream, poll=0.5):
            assert chunk.cursor == cursor + len(chunk.data)  # no gap, no overlap
            cursor = chunk.cursor
            data += chunk.data
        status = await jobs.status(handle)
    assert status.ended
    return bytes(data), status


async def wait_for_output(jobs: Jobs, handle: JobHandle, needle: bytes) -> int:
    """Wait until the log contains ``needle``; return the cursor after it."""
    seen = b""
    with anyio.fail_after(DEADLINE):
        async with aclosing(jobs.follow(handle, poll=0.2)) as chunks:
            async for chunk in chunks:
                seen += chunk.data
                if needle in seen:
                    return chunk.cursor
    raise AssertionError(f"the job ended without writing {needle!r}; it wrote {seen!r}")


#: SigIgn's bits for SIGINT and SIGQUIT (2 and 3 on every Linux architecture).
INT_AND_QUIT = 1 << 1 | 1 << 2

# The SigIgn line of the job's command, once it has become `sleep` (bounded: 5 s).
_SIG_IGNORED = (
    'read -r pid _ < "$1/pid"; n=0; while [ "$(cat "/proc/$pid/comm")" != sleep ] '
    "&& [ $n -lt 500 ]; do sleep 0.01; n=$((n+1)); done; grep '^SigIgn:' \"/proc/$pid/status\""
)


async def ignored_signals(sb: sandlot.Sandbox, jobs: Jobs, handle: JobHandle) -> int:
    """The signals the job's command (a ``sleep``) ignores: its SigIgn mask."""
    result = await sb.exec("sh", ["-c", _SIG_IGNORED, "sh", f"{jobs.root}/{handle.id}"])
    return int(result.check().stdout.split()[1], 16)


async def processes_mentioning(sb: sandlot.Sandbox, needle: str) -> bytes:
    """The command lines of the processes whose command line mentions ``needle``."""
    # The needle travels in two halves, so that this shell's own command line has no match.
    script = (
        'n=$1$2; for f in /proc/[0-9]*/cmdline; do l=$(tr "\\000" " " < "$f" 2>/dev/null); '
        'case $l in *"$n"*) echo "$l" ;; esac; done; true'
    )
    half = len(needle) // 2
    argv = ["-c", script, "sh", needle[:half], needle[half:]]
    return (await sb.exec("sh", argv)).check().stdout


async def check_int_or_quit_ends_a_job(
    jobs: Jobs, sb: sandlot.Sandbox, sig: signal.Signals, *, by_name: bool
) -> None:
    """SIGINT or SIGQUIT (``sig``, sent by name or as a Signals) ends a job's ``sleep``, is
    recorded by name, and the command never had it ignored: dash and busybox sh start a
    background job with both ignored, for good (inherited across exec), so the command
    must neither be one nor descend from one."""
    handle = await jobs.start("sleep", ["30"])
    ignored = await ignored_signals(sb, jobs, handle)
    await jobs.kill(handle, sig.name.removeprefix("SIG") if by_name else sig)
    with anyio.fail_after(10):  # sleep 30 would end by itself, with code 0
        _, status = await drain(jobs, handle)
    assert status.exit == sandlot.ExitStatus(signal=sig)
    assert ignored & INT_AND_QUIT == 0
    name = sig.name.removeprefix("SIG")
    exit_file = await sb.read_file(f"{jobs.root}/{handle.id}/exit")
    assert exit_file == f"signal {int(sig)} {name}\n".encode()
