"""``sandlot shell``: an interactive pty bridge that behaves like a remote login.

The local terminal goes into raw mode, so every key (Ctrl-C included) reaches the remote
program; it is restored on every way out. SIGWINCH is forwarded as a resize.
"""

from __future__ import annotations

import argparse
import os
import signal
import termios
import tty
from collections.abc import Iterator
from contextlib import contextmanager

import anyio

from .._errors import ProcessExited
from .._process import Terminal
from .._records import ExitStatus, TerminalSize
from .._sandbox import Sandbox
from ._exec import deliver_rest, stream_command
from ._io import STDIN, STDOUT, OutputPumps, copy_in

#: Like a remote login: the sandbox user's login shell.
DEFAULT_COMMAND = ["sh", "-c", 'exec "${SHELL:-/bin/sh}" -l']


def local_size(fd: int) -> TerminalSize:
    try:
        cols, rows = os.get_terminal_size(fd)
    except OSError:
        return TerminalSize()
    return TerminalSize(rows=rows or 24, cols=cols or 80)


@contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """Raw mode for the duration; the saved settings are restored however we leave."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSADRAIN)
        yield
    finally:
        try:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        except termios.error:
            pass  # the terminal hung up: there is nothing left to restore


async def _forward_resizes(term: Terminal, fd: int) -> None:
    with anyio.open_signal_receiver(signal.SIGWINCH) as signals:
        # A resize between opening the pty and installing the handler is not lost.
        size = local_size(fd)
        try:
            if size != term.size:
                await term.resize(size)
            async for _ in signals:
                size = local_size(fd)
                if size != term.size:
                    await term.resize(size)
        except ProcessExited:
            pass


async def bridge(term: Terminal, fd: int = STDIN, out: int = STDOUT) -> ExitStatus:
    """Connect the terminal on ``fd`` to ``term`` until the remote program exits and its
    output is delivered (the drain rule of ``sandlot exec``)."""
    async with anyio.create_task_group() as tg:
        pumps = OutputPumps()
        pumps.start(tg, term.output, out)
        # A tty never reads EOF in raw mode (Ctrl-D is a byte): only a hang-up ends it.
        tg.start_soon(lambda: copy_in(fd, term.input, eof=False))
        tg.start_soon(_forward_resizes, term, fd)
        status = await term.exit
        await deliver_rest(pumps, term)
        tg.cancel_scope.cancel()
    return status


async def run(sb: Sandbox, args: argparse.Namespace) -> int:
    argv = args.command or DEFAULT_COMMAND
    env = {"TERM": os.environ["TERM"]} if os.environ.get("TERM") else None
    if not os.isatty(STDIN):
        return await stream_command(sb, argv, env=env)
    async with sb.pty(argv[0], argv[1:], env=env, size=local_size(STDIN)) as term:
        await term.ready  # a launch error is reported before the terminal changes mode
        with raw_mode(STDIN):
            status = await bridge(term)
    return status.shell_code
