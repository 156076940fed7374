"""A minimal ssh-like client over ``pty``: your terminal, a program in the sandbox.

    python examples/ssh_like_client.py [SANDBOX_URL] [CMD [ARGS...]]   # default: local sh

On a terminal, it switches to raw mode (restored on exit), forwards every key and every
window resize. With piped stdin it types the input into the terminal and prints what
comes back, so it can be scripted. Exits with the remote program's exit code.
"""

from __future__ import annotations

import os
import signal
import sys
import termios
import tty

import anyio

import sandlot


def local_size() -> sandlot.TerminalSize:
    try:
        cols, rows = os.get_terminal_size(sys.stdin.fileno())
        return sandlot.TerminalSize(rows=rows, cols=cols)
    except OSError:
        return sandlot.TerminalSize()


async def keys_to(term: sandlot.Terminal) -> None:
    fd = sys.stdin.fileno()
    while True:
        await anyio.wait_readable(fd)
        data = os.read(fd, 4096)
        if not data:
            return
        await term.input.send(data)


async def piped_to(term: sandlot.Terminal) -> None:
    data = await anyio.to_thread.run_sync(sys.stdin.buffer.read)
    try:
        await term.input.send(data)
        await term.input.send(b"\x04")  # Ctrl-D: end of input, as typed on a terminal
    except sandlot.StreamBroken:
        pass  # the program ended before reading it all (`exit` came first): its status tells


async def resizes_to(term: sandlot.Terminal) -> None:
    with anyio.open_signal_receiver(signal.SIGWINCH) as signals:
        async for _ in signals:
            await term.resize(local_size())


async def main(url: str, argv: list[str]) -> int:
    interactive = sys.stdin.isatty()
    async with (
        sandlot.open_sandbox(url) as sb,
        sb.pty(argv[0], argv[1:], size=local_size()) as term,
    ):
        await term.ready
        saved = termios.tcgetattr(sys.stdin) if interactive else None
        try:
            if saved is not None:
                tty.setraw(sys.stdin)
            async with anyio.create_task_group() as tg:
                tg.start_soon(keys_to if interactive else piped_to, term)
                if interactive:
                    tg.start_soon(resizes_to, term)
                async for chunk in term.output:
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.flush()
                tg.cancel_scope.cancel()
        finally:
            if saved is not None:
                termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)
        return (await term.exit).shell_code


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "local"
    sys.exit(anyio.run(main, url, sys.argv[2:] or ["sh"]))
