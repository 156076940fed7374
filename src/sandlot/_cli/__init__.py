"""The ``sandlot`` command line: ``exec``, ``shell``, ``jobs`` and ``serve`` on any sandbox,
and ``sandboxes``: the durable records."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import anyio

from .. import __version__
from .._errors import SandlotError, most_telling
from ..backends import available
from ._args import positive_seconds, sandbox_arg
from ._config import open_target
from ._errors import CommandFailed, UsageError, exit_code_for

__all__ = ["main"]

#: Which event loop the CLI runs on (``asyncio`` or ``trio``); for testing both.
ASYNC_BACKEND_VAR = "SANDLOT_CLI_ASYNC_BACKEND"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    parser = _Parser(
        prog="sandlot",
        description="Run processes in sandboxes. Backends: "
        + ", ".join(b.name for b in available())
        + ".",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"sandlot {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "exec",
        parents=[common],
        help="run a command, streaming its output",
        usage="sandlot exec [options] [SANDBOX] -- CMD [ARGS...]",
        description="Run CMD in SANDBOX. Its stdout and stderr are streamed to ours, our "
        "stdin is forwarded (EOF when it ends) and its exit code is ours (128+N if signal "
        "N killed it; 124 on --timeout).",
    )
    sandbox_arg(p)
    p.add_argument(
        "--timeout", type=positive_seconds, metavar="SECONDS", help="kill the command after SECONDS"
    )
    p.add_argument("--cwd", metavar="DIR", help="working directory in the sandbox")
    p.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="set a variable"
    )
    p.add_argument(
        "-n", "--no-stdin", action="store_true", help="do not forward stdin (EOF at once)"
    )
    p.set_defaults(run="exec", needs_command=True)

    p = sub.add_parser(
        "shell",
        parents=[common],
        help="an interactive terminal, like a remote login",
        usage="sandlot shell [options] [SANDBOX] [-- CMD [ARGS...]]",
        description="Open CMD (default: the sandbox user's login shell) on a terminal in "
        "SANDBOX, bridged to this terminal. Exit code is the remote program's.",
    )
    sandbox_arg(p)
    p.set_defaults(run="shell", needs_command=False)

    from ._jobs import add_parsers
    from ._serve import add_parser as add_serve

    add_parsers(sub, common)
    from ._sandboxes import add_parsers as add_sandboxes

    add_sandboxes(sub, common)
    add_serve(sub, common)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    command: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1 :]
    args, extra = build_parser().parse_known_args(argv)
    options = [word for word in extra if word.startswith("-")]
    if options:
        raise UsageError(f"unrecognized arguments: {' '.join(options)}")
    if args.group == "sandboxes":
        if extra or command:
            raise UsageError(f"unexpected {' '.join([*extra, *command])!r}")
        return args
    words = [*args.words, *extra]
    name = " ".join(["sandlot", args.group, *([args.verb] if "verb" in args else [])])
    if len(words) > (2 if args.with_id else 1):
        if getattr(args, "needs_command", None) is not None:
            raise UsageError(
                f"unexpected {' '.join(words[1:])!r}: put the command after '--', as in "
                f"'{name} [SANDBOX] -- CMD [ARGS...]'"
            )
        raise UsageError(f"unexpected {' '.join(words)!r}: use '{name} [SANDBOX] JOB_ID'")
    if args.with_id:
        if not words:
            raise UsageError(f"no job id given: use '{name} [SANDBOX] JOB_ID'")
        args.job_id = words[-1]
        words = words[:-1]
    args.sandbox = words[0] if words else None
    wants = getattr(args, "needs_command", None)
    if wants is None:
        if command:
            raise UsageError(f"'{name}' takes no command after '--'")
    elif wants and not command:
        raise UsageError(f"no command given: use '{name} [SANDBOX] -- CMD [ARGS...]'")
    args.command = command
    return args


async def _run(args: argparse.Namespace) -> int:
    """Run the command; SIGINT, SIGTERM and SIGHUP cancel it (and so clean it up).

    ``serve`` stops gracefully instead (``args.stop``: it stops taking connections and
    lets the open ones finish within its grace); a second signal cancels it."""
    caught: list[int] = []
    graceful = args.run == "serve"
    args.stop = anyio.Event()

    async def run_command() -> int:
        if args.run == "sandboxes":
            from ._sandboxes import run as records

            return await records(args)
        if args.run == "exec":
            from ._exec import run as command
        elif args.run == "shell":
            from ._shell import run as command
        elif args.run == "serve":
            from ._serve import check_listen
            from ._serve import run as command

            check_listen(args)  # refuse before the sandbox is opened
        else:
            from ._jobs import run as command
        async with open_target(args.sandbox) as sb:
            return await command(sb, args)

    async with anyio.create_task_group() as tg:

        async def watch_signals() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as sigs:
                async for signum in sigs:
                    caught.append(int(signum))
                    if graceful and not args.stop.is_set():
                        args.stop.set()
                        continue
                    tg.cancel_scope.cancel()
                    return

        tg.start_soon(watch_signals)
        code = await run_command()
        tg.cancel_scope.cancel()
    if caught:
        return 128 + caught[0]
    return code


def _show_warnings() -> None:
    """The library's warnings (a kill that could not reach the host) go to stderr."""
    logger = logging.getLogger("sandlot")
    if any(getattr(h, "sandlot_cli", False) for h in logger.handlers):
        return  # main() ran before in this process
    handler = logging.StreamHandler(sys.stderr)
    handler.sandlot_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("sandlot: warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """The ``sandlot`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    options = argv[: argv.index("--")] if "--" in argv else argv
    debug = "--debug" in options
    _show_warnings()
    try:
        args = parse_args(argv)
        backend = os.environ.get(ASYNC_BACKEND_VAR) or "asyncio"
        if backend not in ("asyncio", "trio"):
            raise UsageError(f"${ASYNC_BACKEND_VAR} must be asyncio or trio, not {backend!r}")
        result: Any = anyio.run(_run, args, backend=backend)
        return int(result)
    except SystemExit:
        raise  # --help, --version
    except BaseException as raised:
        exc = most_telling(raised)  # task groups wrap errors in groups
        if isinstance(exc, KeyboardInterrupt):
            return 128 + signal.SIGINT
        if not isinstance(exc, Exception):
            raise
        if debug:
            traceback.print_exception(raised)
        known = isinstance(exc, SandlotError | UsageError | CommandFailed)
        message = str(exc) or type(exc).__name__
        if not known:  # a bug: say what it was, even without --debug
            message = f"{type(exc).__name__}: {message}"
            if not debug:
                message += " (run with --debug for the traceback)"
        sys.stderr.write(f"sandlot: error: {message}\n")
        sys.stderr.flush()
        return exit_code_for(exc) if known else 1
