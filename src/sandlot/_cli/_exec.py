"""``sandlot exec``: run one command, streaming its output and our stdin."""

from __future__ import annotations

import argparse
import math

import anyio

from .._sandbox import Sandbox
from ._errors import EXIT_TIMEOUT, CommandFailed
from ._io import STDERR, STDIN, STDOUT, copy_in, copy_out

# After the process exited, how long to wait for output still held by a grandchild.
_DRAIN_AFTER_EXIT = 1.0


async def stream_command(
    sb: Sandbox,
    argv: list[str],
    *,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    stdin: bool = True,
) -> int:
    """Run ``argv`` with our stdio wired to it; return its shell-style exit code."""
    async with sb.spawn(argv[0], argv[1:], cwd=cwd, env=env) as proc:
        await proc.ready
        async with anyio.create_task_group() as tg:
            out_done, err_done = anyio.Event(), anyio.Event()

            async def pump_out(which: str, fd: int, done: anyio.Event) -> None:
                await copy_out(getattr(proc, which), fd)
                done.set()

            tg.start_soon(pump_out, "stdout", STDOUT, out_done)
            tg.start_soon(pump_out, "stderr", STDERR, err_done)
            if stdin:
                tg.start_soon(copy_in, STDIN, proc.stdin)
            else:
                await proc.stdin.aclose()
            with anyio.move_on_after(math.inf if timeout is None else timeout) as limit:
                status = await proc.exit
            if limit.cancelled_caught:
                await proc.aclose()
                raise CommandFailed(
                    f"timed out after {timeout:g}s; the command was killed", EXIT_TIMEOUT
                )
            with anyio.move_on_after(_DRAIN_AFTER_EXIT):
                await out_done.wait()
                await err_done.wait()
            tg.cancel_scope.cancel()
    return status.shell_code


def parse_env(items: list[str]) -> dict[str, str]:
    from ._errors import UsageError

    env = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--env takes NAME=VALUE, got {item!r}")
        env[name] = value
    return env


async def run(sb: Sandbox, args: argparse.Namespace) -> int:
    return await stream_command(
        sb,
        args.command,
        cwd=args.cwd,
        env=parse_env(args.env),
        timeout=args.timeout,
        stdin=not args.no_stdin,
    )
