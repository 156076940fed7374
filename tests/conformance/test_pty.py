"""pty: a real terminal, resizable (SPEC §1)."""

from __future__ import annotations

import anyio
import pytest

import sandlot

from ._helpers import requires


@pytest.fixture(autouse=True)
def _uses_a_pty(sb: sandlot.Sandbox) -> None:
    requires(sb, "pty")


async def read_until(term: sandlot.Terminal, needle: bytes, within: float = 20) -> bytes:
    buf = b""
    with anyio.fail_after(within):
        while needle not in buf:
            buf += await term.output.receive()
    return buf


async def test_initial_size_and_controlling_terminal(sb: sandlot.Sandbox) -> None:
    size = sandlot.TerminalSize(rows=33, cols=101)
    async with sb.pty("sh", ["-c", "stty size; tty; test -t 0 && echo isatty"], size=size) as t:
        await t.ready
        out = await t.output.read_all()
        assert await t.exit == sandlot.ExitStatus(code=0)
    lines = out.replace(b"\r\n", b"\n").split(b"\n")
    assert lines[0] == b"33 101"
    assert lines[1].startswith(b"/dev/")
    assert lines[2] == b"isatty"
    assert t.size == size


async def test_resize_delivers_sigwinch_and_stty_agrees(sb: sandlot.Sandbox) -> None:
    requires(sb, "pty_resize")
    script = "trap 'echo WINCH; stty size' WINCH; echo ready; while :; do sleep 0.05; done"
    async with sb.pty("sh", ["-c", script], size=(24, 80)) as t:
        await read_until(t, b"ready")
        await t.resize(40, 140)
        await read_until(t, b"WINCH\r\n40 140")
        assert t.size == sandlot.TerminalSize(rows=40, cols=140)
        await t.resize(sandlot.TerminalSize(rows=10, cols=20))
        await read_until(t, b"10 20")


async def test_input_echo_and_exit_code(sb: sandlot.Sandbox) -> None:
    async with sb.pty("sh", ["-c", 'read line; echo "got:$line"; exit 6']) as t:
        await t.input.send(b"hello\n")
        out = await t.output.read_all()  # the end of output (EIO) is a clean end of stream
        assert b"hello\r\n" in out and b"got:hello\r\n" in out
        assert await t.exit == sandlot.ExitStatus(code=6)
        with pytest.raises(anyio.EndOfStream):
            await t.output.receive()


async def test_ctrl_c_interrupts_the_foreground_program(sb: sandlot.Sandbox) -> None:
    async with sb.pty(
        "sh",
        ["-c", "trap 'echo INTERRUPTED; exit 9' INT; echo ready; while :; do sleep 0.05; done"],
    ) as t:
        await read_until(t, b"ready")
        await t.input.send(b"\x03")
        await read_until(t, b"INTERRUPTED")
        assert await t.exit == sandlot.ExitStatus(code=9)


async def test_resize_after_exit_is_an_error(sb: sandlot.Sandbox) -> None:
    requires(sb, "pty_resize")
    async with sb.pty("true") as t:
        await t.output.read_all()
        await t.exit
        with pytest.raises(sandlot.ProcessExited, match="has exited"):
            await t.resize(30, 100)


async def test_leaving_the_block_kills_the_terminal_process(sb: sandlot.Sandbox) -> None:
    async with sb.pty("sh", ["-c", "trap '' TERM HUP; echo armed; while :; do sleep 1; done"]) as t:
        await read_until(t, b"armed")
    assert (await t.exit).signal is not None


async def test_command_not_found_in_a_pty(sb: sandlot.Sandbox) -> None:
    async with sb.pty("no-such-cmd-xyz") as t:
        with pytest.raises(sandlot.CommandNotFound, match="no-such-cmd-xyz"):
            await t.ready
        assert await t.exit == sandlot.ExitStatus(code=127)
