"""``sandlot jobs``: durable jobs, found again by id from any later invocation."""

from __future__ import annotations

import argparse
import shlex
import time
from typing import Any

import anyio

from .._errors import ProcessExited, StreamClosed
from .._jobs import JobHandle, Jobs, JobState, JobStatus
from .._sandbox import Sandbox
from .._validate import check_signal
from ._args import positive_seconds, sandbox_arg
from ._errors import CommandFailed, UsageError
from ._exec import parse_env
from ._io import STDERR, STDIN, STDOUT, read_fd, write_fd

_EXIT_CRASHED = 1


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``sandlot jobs start|ls|logs|attach|stop|kill|rm``."""
    jobs = sub.add_parser(
        "jobs",
        parents=[common],
        help="durable jobs: start, list, follow, stop",
        description="Durable jobs outlive this command and the connection; their ids "
        "work from any later invocation that opens the same sandbox.",
    )
    verbs = jobs.add_subparsers(dest="verb", metavar="VERB", parser_class=type(jobs))
    verbs.required = True

    def verb(name: str, help: str, *, usage: str | None = None, needs_id: bool = True) -> Any:
        usage = usage or f"sandlot jobs {name} [options] [SANDBOX]{' JOB_ID' if needs_id else ''}"
        p = verbs.add_parser(name, parents=[common], help=help, description=help, usage=usage)
        sandbox_arg(p, with_id=needs_id)
        p.add_argument(
            "--root", metavar="DIR", help="jobs directory in the sandbox (default ~/.sandlot/jobs)"
        )
        p.set_defaults(run="jobs", needs_command=None)
        return p

    p = verb(
        "start",
        "start CMD as a detached job and print its id",
        usage="sandlot jobs start [options] [SANDBOX] -- CMD [ARGS...]",
        needs_id=False,
    )
    p.add_argument("--cwd", metavar="DIR", help="working directory in the sandbox")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument(
        "--timeout", type=positive_seconds, metavar="SECONDS", help="stop the job after SECONDS"
    )
    p.add_argument(
        "--separate", action="store_true", help="keep stdout and stderr in separate logs"
    )
    p.add_argument("--id", dest="new_id", metavar="JOB_ID", help="choose the job's id")
    p.set_defaults(needs_command=True)

    verb("ls", "list the jobs and their status", needs_id=False)

    p = verb("logs", "print a job's output (-f: and follow it until the job ends)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    p.add_argument("--tail", type=_count, metavar="N", help="only the last N lines")
    p.add_argument("--stream", choices=["stdout", "stderr"], help="with --separate jobs")

    p = verb(
        "attach",
        "replay a job's output, follow it, and exit with the job's exit code",
    )
    p.add_argument(
        "-i", "--stdin", action="store_true", help="forward our stdin to the job (EOF at end)"
    )

    p = verb("stop", "SIGTERM the job's process tree, then SIGKILL after a grace period")
    p.add_argument("--grace", type=positive_seconds, metavar="SECONDS")

    p = verb("kill", "send a signal (default KILL) to every process of the job")
    p.add_argument("-s", "--signal", default="KILL", help="name or number, e.g. TERM or 15")

    p = verb("rm", "delete a finished job and its logs")
    p.add_argument("-f", "--force", action="store_true", help="kill it first if it still runs")


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number of lines, got {text!r}")
    return int(text)


def _command(handle: JobHandle) -> str:
    return shlex.join(handle.argv)


def _status_text(status: JobStatus) -> str:
    text = str(status)
    if status.log_truncated:
        text += ", log truncated"
    return text


def _exit_code(job_id: str, status: JobStatus) -> int:
    if status.state is JobState.CRASHED:
        raise CommandFailed(
            f"job {job_id!r} crashed: it ended without recording an exit status", _EXIT_CRASHED
        )
    assert status.exit is not None
    return status.exit.shell_code


async def _follow(jobs: Jobs, handle: JobHandle, stream: str, fd: int) -> JobStatus:
    """Replay ``stream`` from the start and follow it until the job ends."""
    status = None
    async for chunk in jobs.follow(handle, stream=stream, poll=0.5):
        await write_fd(fd, chunk.data)
        status = chunk.status
    if status is None or status.running:
        status = await jobs.status(handle)
    return status


async def _forward_stdin(jobs: Jobs, handle: JobHandle) -> None:
    try:
        while data := await read_fd(STDIN):
            await jobs.write(handle, data)
        await jobs.close_stdin(handle)
    except (ProcessExited, StreamClosed):
        pass  # the job ended (or closed its stdin) first: its output tells the rest


async def run(sb: Sandbox, args: argparse.Namespace) -> int:
    jobs = sb.jobs if args.root is None else Jobs(sb, root=args.root)
    if args.verb == "start":
        handle = await jobs.start(
            args.command[0],
            args.command[1:],
            cwd=args.cwd,
            env=parse_env(args.env),
            timeout=args.timeout,
            separate_streams=args.separate,
            job_id=args.new_id,
        )
        await write_fd(STDOUT, f"{handle.id}\n".encode())
        return 0
    if args.verb == "ls":
        rows = [("ID", "STATUS", "STARTED", "COMMAND")]
        for info in await jobs.list():
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.handle.created))
            rows.append((info.handle.id, _status_text(info.status), started, _command(info.handle)))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [
            "  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[3]]) for r in rows
        ]
        await write_fd(STDOUT, ("\n".join(lines) + "\n").encode())
        return 0

    # Bad input fails before any round trip.
    if args.verb == "kill":
        args.signal = check_signal(int(args.signal) if args.signal.isdigit() else args.signal)
    if args.verb == "logs" and args.tail is not None and args.follow:
        raise UsageError("--tail and --follow cannot be combined")
    handle = await jobs.attach(args.job_id)
    if args.verb == "logs":
        if args.tail is not None:
            await write_fd(STDOUT, await jobs.tail(handle, args.tail, stream=args.stream))
        elif args.follow:
            await _follow(jobs, handle, args.stream or handle.streams[0], STDOUT)
        else:
            cursor = 0
            while True:
                chunk = await jobs.read(handle, cursor, stream=args.stream)
                await write_fd(STDOUT, chunk.data)
                if not chunk.data or chunk.cursor == cursor:
                    break
                cursor = chunk.cursor
        return 0
    if args.verb == "attach":
        statuses: list[JobStatus] = []

        async def follow(stream: str, fd: int) -> None:
            statuses.append(await _follow(jobs, handle, stream, fd))

        async with anyio.create_task_group() as tg:
            if args.stdin:
                tg.start_soon(_forward_stdin, jobs, handle)
            async with anyio.create_task_group() as followers:
                for stream, fd in zip(handle.streams, (STDOUT, STDERR), strict=False):
                    followers.start_soon(follow, stream, fd)
            tg.cancel_scope.cancel()
        return _exit_code(handle.id, statuses[-1])
    if args.verb == "stop":
        status = await jobs.stop(handle, grace=args.grace)
    elif args.verb == "kill":
        status = await jobs.kill(handle, args.signal)
    else:  # rm
        await jobs.remove(handle, force=args.force)
        return 0
    await write_fd(STDOUT, f"{handle.id} {_status_text(status)}\n".encode())
    return 0
