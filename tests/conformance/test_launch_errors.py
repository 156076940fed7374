"""Launch failures read the same on every backend (issue 11: one launcher protocol):
exec, spawn and pty raise the same error type with the same message text."""

from __future__ import annotations

import signal

import anyio
import pytest

import sandlot

CASES = [
    # (command, cwd, error type, message, exit code)
    ("sandlot-no-such-cmd", None, sandlot.CommandNotFound, "command not found: {c!r}", 127),
    ("{d}/missing", None, sandlot.CommandNotFound, "command not found: {c!r}", 127),
    ("{d}/plain", None, sandlot.LaunchError, "cannot execute {c!r}: Permission denied", 126),
    ("{d}", None, sandlot.LaunchError, "cannot execute {c!r}: Permission denied", 126),
    (
        "true",
        "{d}/missing",
        sandlot.LaunchError,
        "cannot use working directory {w!r}: No such file or directory",
        126,
    ),
    (
        "true",
        "{d}/plain",
        sandlot.LaunchError,
        "cannot use working directory {w!r}: Not a directory",
        126,
    ),
]


@pytest.mark.parametrize(
    ("cmd", "cwd", "kind", "message", "code"),
    CASES,
    ids=["missing", "missing-path", "not-executable", "directory", "no-cwd", "cwd-not-a-dir"],
)
async def test_the_same_launch_error_everywhere(
    sb: sandlot.Sandbox,
    scratch: str,
    cmd: str,
    cwd: str | None,
    kind: type[sandlot.LaunchError],
    message: str,
    code: int,
) -> None:
    if not sb.capabilities.files:
        pytest.skip("the setup writes files: test_capabilities.py::test_files checks the lack")
    await sb.write_file(f"{scratch}/plain", b"#!/bin/sh\necho hi\n", mode=0o644)
    cmd = cmd.format(d=scratch)
    cwd = cwd.format(d=scratch) if cwd else None
    expected = message.format(c=cmd, w=cwd)
    with anyio.fail_after(30):
        with pytest.raises(sandlot.LaunchError) as info:
            await sb.exec(cmd, cwd=cwd)
        assert (type(info.value), str(info.value)) == (kind, expected)
        async with sb.spawn(cmd, cwd=cwd) as proc:
            with pytest.raises(sandlot.LaunchError) as info:
                await proc.ready
            assert (type(info.value), str(info.value)) == (kind, expected)
            assert await proc.exit == sandlot.ExitStatus(code=code)
        if not sb.capabilities.pty:  # test_capabilities.py::test_pty checks that
            return
        async with sb.pty(cmd, cwd=cwd) as term:
            with pytest.raises(sandlot.LaunchError) as info:
                await term.ready
            assert (type(info.value), str(info.value)) == (kind, expected)


@pytest.mark.parametrize(("cmd", "cwd", "kind", "message", "code"), [CASES[1], CASES[4]])
async def test_the_same_launch_error_when_the_caller_ignores_sigint(
    sb: sandlot.Sandbox,
    scratch: str,
    cmd: str,
    cwd: str | None,
    kind: type[sandlot.LaunchError],
    message: str,
    code: int,
) -> None:
    # The local backend then starts commands another way (test_spawn.py's signal tests).
    cmd = cmd.format(d=scratch)
    cwd = cwd.format(d=scratch) if cwd else None
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with anyio.fail_after(30):
            proc = await sb.spawn(cmd, cwd=cwd)
    finally:
        signal.signal(signal.SIGINT, previous)
    async with proc:
        with pytest.raises(sandlot.LaunchError) as info:
            await proc.ready
        assert (type(info.value), str(info.value)) == (kind, message.format(c=cmd, w=cwd))
        assert await proc.exit == sandlot.ExitStatus(code=code)
