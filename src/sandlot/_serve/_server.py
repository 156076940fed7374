"""Running the app: Hypercorn, on whichever of asyncio and trio runs the caller."""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import sniffio

from .._errors import InvalidArgument

__all__ = ["is_loopback", "listen", "parse_listen", "serve_socket"]

logger = logging.getLogger("sandlot.serve")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6); port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise InvalidArgument(f"--listen takes HOST:PORT, not {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening socket (bound before the server starts, so port 0 is known)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if kind == socket.SOCK_STREAM and family in (socket.AF_INET, socket.AF_INET6):
        # Accepted sockets inherit it: Hypercorn sets it on the sockets it binds, not on
        # one handed to it (fd://), and a response is written in pieces.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(address)
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


async def serve_socket(
    app: Any, sock: socket.socket, shutdown: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Serve ``app`` on ``sock`` until cancelled (or ``shutdown`` returns)."""
    from hypercorn.config import Config

    config = Config()
    # A copy of the descriptor: Hypercorn wraps it in a socket of its own and closes that
    # when it stops; the caller still closes ``sock`` (closing one descriptor twice would
    # fail, or close whatever file took its number meanwhile).
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.accesslog = None  # a token in a WebSocket URL must not reach a log
    config.errorlog = logger
    config.graceful_timeout = 1.0
    config.websocket_ping_interval = 20.0
    trigger = shutdown or anyio.sleep_forever
    if sniffio.current_async_library() == "trio":
        import hypercorn.trio

        await hypercorn.trio.serve(app, config, shutdown_trigger=trigger, mode="asgi")
    else:
        import asyncio

        import hypercorn.asyncio

        _quiet_cancelled_connections(asyncio.get_running_loop())
        # In a task of its own: on Python 3.11, the asyncio.TaskGroup Hypercorn stops with
        # leaves a cancellation request on the task that runs it.
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                functools.partial(
                    hypercorn.asyncio.serve, app, config, shutdown_trigger=trigger, mode="asgi"
                )
            )


def _quiet_cancelled_connections(loop: Any) -> None:
    """Past the grace of a stop, Hypercorn cancels the connections still open (a follow,
    a terminal); asyncio's stream server (before Python 3.12) then reports each one's
    cancellation as an error from a callback. It is the stop working: not an error."""
    import asyncio

    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), asyncio.CancelledError):
            logger.debug("a connection was cancelled at the stop: %s", context.get("message"))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
