"""``sandlot serve [SANDBOX]``: the sandbox's process API over HTTP and WebSocket."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .._errors import MissingDependency
from .._sandbox import Sandbox
from ._args import sandbox_arg
from ._errors import UsageError

__all__ = ["add_parser", "run"]

#: Where the token comes from without --token-file.
TOKEN_VAR = "SANDLOT_TOKEN"
DEFAULT_LISTEN = "127.0.0.1:2468"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve",
        parents=[common],
        help="serve the sandbox's process API over HTTP and WebSocket",
        usage="sandlot serve [options] [SANDBOX]",
        description="Serve SANDBOX's process API (runs, managed processes, logs, "
        "terminals, files) under /v1 (see /v1/openapi.json). Clients send the token as "
        "'Authorization: Bearer TOKEN'. Without a token only a loopback address is allowed.",
    )
    sandbox_arg(p)
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_LISTEN}; port 0: any free port)",
    )
    p.add_argument(
        "--token-file",
        metavar="FILE",
        help=f"file holding the token (default: ${TOKEN_VAR}; none: no token)",
    )
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin (https://host[:port]) whose pages may open WebSockets",
    )
    p.add_argument(
        "--jobs-root", metavar="DIR", help="where managed processes are kept in the sandbox"
    )
    p.set_defaults(run="serve", needs_command=None)


def read_token(args: argparse.Namespace) -> str | None:
    if args.token_file is not None:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as exc:
            raise UsageError(f"cannot read --token-file: {exc.strerror}") from None
        if not token:
            raise UsageError("the --token-file is empty")
        return token
    return os.environ.get(TOKEN_VAR) or None


def check_listen(args: argparse.Namespace) -> tuple[str, int, str | None]:
    """The address and token, before anything is opened: beyond loopback, a token."""
    from .._serve._server import is_loopback, parse_listen

    host, port = parse_listen(args.listen)
    token = read_token(args)
    if token is None and not is_loopback(host):
        raise UsageError(
            f"refusing to listen on {host} without a token: anyone who reaches it could run "
            f"commands; give --token-file or ${TOKEN_VAR}, or listen on 127.0.0.1"
        )
    return host, port, token


async def run(sb: Sandbox, args: argparse.Namespace) -> int:
    host, port, token = check_listen(args)
    try:
        from .._serve._app import create_app
        from .._serve._server import listen, serve_socket
        from .._web import PageApp
    except ImportError as exc:
        raise MissingDependency("serve", "starlette", exc.name) from None
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.listen}: {exc.strerror}") from None
    with sock:
        bound = sock.getsockname()
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        api = create_app(sb, token=token, origins=args.allow_origin, jobs_root=args.jobs_root)
        app = PageApp(api)  # the browser terminal at /, in front of the token guard
        sys.stderr.write(f"sandlot: serving {sb.url} on http://{shown}:{bound[1]}\n")
        sys.stderr.flush()
        await serve_socket(app, sock, shutdown=args.stop.wait)
    return 0
