"""``sandlot exec``: run one command, streaming its output and our stdin."""

from __future__ import annotations

import argparse
import math
import signal

import anyio

from .._errors import NotSupported
from .._process import Process, Terminal
from .._sandbox import Sandbox
from ._errors import EXIT_TIMEOUT, CommandFailed
from ._io import STDERR, STDIN, STDOUT, OutputPumps, copy_in

#: After the process exited, how long its output may stay silent (every stream waiting
#: for the process, none for our reader) before we take it as held open by a background
#: child: the group is then swept with SIGKILL, and after as long again without EOF (a
#: child that left the group) we stop waiting.
QUIET_AFTER_EXIT = 1.0
#: After EPIPE on our output, how long the command has to die of SIGPIPE before it is
#: terminated (SIGTERM, then SIGKILL).
_SIGPIPE_GRACE = 1.0


async def deliver_rest(pumps: OutputPumps, proc: Process | Terminal) -> None:
    """Once ``proc`` exited: copy the rest of its output, however slow our reader, and
    sweep the group members that hold it open with nothing coming (see QUIET_AFTER_EXIT)."""
    if await pumps.settle(QUIET_AFTER_EXIT):
        return
    await proc.send_signal(signal.SIGKILL)
    await pumps.settle(QUIET_AFTER_EXIT)


async def _end_on_broken_pipe(pumps: OutputPumps, proc: Process) -> None:
    """Our reader went away (``| head``): as with a remote shell client or a local
    pipeline, the command gets SIGPIPE (its group does); the pumps drain and drop what it
    still writes."""
    await pumps.broken.wait()
    try:
        await proc.send_signal(signal.SIGPIPE)
    except NotSupported:
        pass  # a backend with TERM and KILL only: terminated below
    else:
        with anyio.move_on_after(_SIGPIPE_GRACE):
            await proc.exit
    if proc.returncode is None:
        await proc.aclose()  # it ignores SIGPIPE: SIGTERM, grace, SIGKILL


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
            pumps = OutputPumps()
            pumps.start(tg, proc.stdout, STDOUT)
            pumps.start(tg, proc.stderr, STDERR)
            tg.start_soon(_end_on_broken_pipe, pumps, proc)
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
            await deliver_rest(pumps, proc)
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
