"""Every bad input gets a typed error naming the problem, before anything launches (SPEC §6)."""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

import sandlot

from ._helpers import exists, requires

M = "MARKER"  # replaced by the path of a marker file the command would create

# (id, call, expected message): each call would `touch` the marker if it launched.
BAD_CALLS: list[tuple[str, Callable[[sandlot.Sandbox, str], Awaitable[Any]], str]] = [
    ("empty command", lambda sb, m: sb.exec("", [m]), "command must not be empty"),
    ("NUL in command", lambda sb, m: sb.exec("tou\0ch", [m]), "command contains a NUL"),
    ("NUL in argument", lambda sb, m: sb.exec("touch", [m, "a\0b"]), "argument 2 contains a NUL"),
    ("non-str argument", lambda sb, m: sb.exec("touch", [m, 3]), "argument 2 must be a str"),
    ("args as a str", lambda sb, m: sb.exec("touch", m), "args must be a list of str"),
    ("command not a str", lambda sb, m: sb.exec(["touch", m]), "command must be a str"),
    (
        "empty env name",
        lambda sb, m: sb.exec("touch", [m], env={"": "x"}),
        "invalid environment variable name: ''",
    ),
    (
        "'=' in env name",
        lambda sb, m: sb.exec("touch", [m], env={"A=B": "x"}),
        "invalid environment variable name: 'A=B'",
    ),
    (
        "env name starting with a digit",
        lambda sb, m: sb.exec("touch", [m], env={"1A": "x"}),
        "invalid environment variable name: '1A'",
    ),
    (
        "space in env name",
        lambda sb, m: sb.exec("touch", [m], env={"A B": "x"}),
        "invalid environment variable name: 'A B'",
    ),
    (
        "NUL in env value",
        lambda sb, m: sb.exec("touch", [m], env={"A": "x\0y"}),
        "value of environment variable A contains a NUL",
    ),
    (
        "non-str env value",
        lambda sb, m: sb.exec("touch", [m], env={"A": 1}),
        "value of environment variable A must be a str",
    ),
    (
        "env not a mapping",
        lambda sb, m: sb.exec("touch", [m], env=["A=1"]),
        "env must be a mapping",
    ),
    ("zero timeout", lambda sb, m: sb.exec("touch", [m], timeout=0), "timeout must be positive"),
    (
        "negative timeout",
        lambda sb, m: sb.exec("touch", [m], timeout=-1),
        "timeout must be positive",
    ),
    (
        "NaN timeout",
        lambda sb, m: sb.exec("touch", [m], timeout=math.nan),
        "timeout must be positive",
    ),
    (
        "str timeout",
        lambda sb, m: sb.exec("touch", [m], timeout="5"),
        "timeout must be a number of seconds",
    ),
    (
        "negative max_output_bytes",
        lambda sb, m: sb.exec("touch", [m], max_output_bytes=-1),
        "max_output_bytes must be a non-negative int",
    ),
    ("str input", lambda sb, m: sb.exec("touch", [m], input="text"), "input must be bytes"),
    ("empty cwd", lambda sb, m: sb.exec("touch", [m], cwd=""), "cwd must not be empty"),
    ("NUL in cwd", lambda sb, m: sb.exec("touch", [m], cwd="/tmp\0x"), "cwd contains a NUL"),
    (
        "NUL in spawn argument",
        lambda sb, m: sb.spawn("touch", [m, "\0"]).__aenter__(),
        "argument 2 contains a NUL",
    ),
    (
        "bad env in spawn",
        lambda sb, m: sb.spawn("touch", [m], env={"-": "x"}).__aenter__(),
        "invalid environment variable name: '-'",
    ),
    (
        "pty rows 0",
        lambda sb, m: sb.pty("touch", [m], size=(0, 80)).__aenter__(),
        r"terminal rows must be in 1\.\.65535, got 0",
    ),
    (
        "pty cols 65536",
        lambda sb, m: sb.pty("touch", [m], size=(24, 65536)).__aenter__(),
        r"terminal cols must be in 1\.\.65535, got 65536",
    ),
    (
        "pty size not a pair",
        lambda sb, m: sb.pty("touch", [m], size=24).__aenter__(),
        r"size must be a TerminalSize or \(rows, cols\)",
    ),
    ("pty empty command", lambda sb, m: sb.pty("", [m]).__aenter__(), "command must not be empty"),
    ("write_file str data", lambda sb, m: sb.write_file(m, "text"), "input must be bytes"),
    (
        "write_file bad mode",
        lambda sb, m: sb.write_file(m, b"", mode=0o17777),
        r"mode must be an int in 0\.\.0o7777",
    ),
    ("read_file NUL path", lambda sb, m: sb.read_file(m + "\0"), "path contains a NUL"),
]


@pytest.mark.parametrize(
    ("call", "message"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
async def test_bad_input_is_rejected_before_launch(
    sb: sandlot.Sandbox,
    scratch: str,
    call: Callable[[sandlot.Sandbox, str], Awaitable[Any]],
    message: str,
) -> None:
    marker = f"{scratch}/marker"
    with pytest.raises(sandlot.InvalidArgument, match=message):
        await call(sb, marker)
    assert not await exists(sb, marker), "the command ran despite the bad input"


async def test_bad_input_on_a_running_process(sb: sandlot.Sandbox) -> None:
    async with sb.spawn("sleep", ["60"]) as proc:
        with pytest.raises(sandlot.InvalidArgument, match="unknown signal: 999"):
            await proc.kill(999)
        with pytest.raises(sandlot.InvalidArgument, match="unknown signal: 'SIGNOPE'"):
            await proc.kill("SIGNOPE")
        assert proc.returncode is None


async def test_bad_input_on_a_running_terminal(sb: sandlot.Sandbox) -> None:
    requires(sb, "pty")  # resize validates its size before asking for pty_resize
    async with sb.pty("sleep", ["60"]) as term:
        with pytest.raises(sandlot.InvalidArgument, match=re.escape("rows must be in 1..65535")):
            await term.resize(0, 10)
        with pytest.raises(sandlot.InvalidArgument, match="cols must be an int"):
            await term.resize(10, "wide")  # type: ignore[arg-type]
        assert term.returncode is None


def test_exit_status_needs_exactly_one_of_code_and_signal() -> None:
    with pytest.raises(sandlot.InvalidArgument, match="exactly one of code and signal"):
        sandlot.ExitStatus()


async def test_env_values_never_appear_in_errors(sb: sandlot.Sandbox) -> None:
    for bad in ("s3cret\0", b"s3cret"):
        with pytest.raises(sandlot.InvalidArgument) as info:
            await sb.exec("true", env={"TOKEN": bad})  # type: ignore[dict-item]
        assert "s3cret" not in str(info.value)
        assert "environment variable TOKEN" in str(info.value)


def oversized_pty(sb: sandlot.Sandbox, m: str) -> Awaitable[Any]:
    return sb.pty("touch", [m], env={"BIG": "x" * 300_000}).__aenter__()


#: Linux's longest single argument or environment string (MAX_ARG_STRLEN less the NUL).
MAX_ARG = 131071


@pytest.mark.parametrize(
    "oversized",
    [
        lambda sb, m: sb.exec("touch", [m, "x" * 300_000]),
        lambda sb, m: sb.exec("touch", [m], env={"BIG": "x" * 300_000}),
        lambda sb, m: sb.spawn("touch", [m, "x" * 300_000]).__aenter__(),
        oversized_pty,
        lambda sb, m: sb.exec("touch", [m, *["x" * 1000] * 3000]),  # many: 3 MB in all
    ],
    ids=["argument", "env value", "spawn", "pty", "many arguments"],
)
async def test_an_oversized_command_line_is_rejected_and_harms_no_other_process(
    sb: sandlot.Sandbox, scratch: str, oversized: Callable[[sandlot.Sandbox, str], Awaitable[Any]]
) -> None:
    # Over SSH the whole command line travels in one packet: one too large for sshd made it
    # drop the connection, killing every process on it. It fails alone, with the limit.
    if oversized is oversized_pty:
        requires(sb, "pty")
    marker = f"{scratch}/marker"
    async with sb.spawn("sh", ["-c", 'read -r line; echo "$line"']) as bystander:
        await bystander.ready
        with anyio.fail_after(10), pytest.raises(sandlot.InvalidArgument) as info:
            await oversized(sb, marker)
        assert "too large" in str(info.value) and str(MAX_ARG) in str(info.value)
        assert "input=" in str(info.value)  # says how to pass large data instead
        with anyio.fail_after(10):
            await bystander.stdin.send(b"still here\n")
            assert await bystander.stdout.receive() == b"still here\n"
            assert (await bystander.exit).code == 0
    assert not await exists(sb, marker)


async def test_a_large_command_line_under_the_limit_works(sb: sandlot.Sandbox) -> None:
    big = "y" * 50_000
    r = await sb.exec("sh", ["-c", 'printf %s "$1$BIG" | wc -c', "sh", big], env={"BIG": big})
    assert r.stdout.strip() == b"100000"
