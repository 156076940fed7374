"""The one module that reaches into the ``daytona`` SDK's private parts.

Following a session command's log has two routes:

``private`` (the default on the SDK versions in :data:`PRIVATE_RANGE`, the ones this was
written and tested for): the SDK's own log URL and headers
(``ProcessApi._get_session_command_logs_serialize``) and aiohttp session
(``api_client.http_session``); the WebSocket is read here and demultiplexed by
:mod:`._demux`, which holds back nothing but a possible partial marker, with no WebSocket
heartbeat (a slow reader stops reading the socket; a missed pong would kill it).

``public``: ``AsyncProcess.get_session_command_logs_async``. Every byte arrives,
stdout and stderr separated, and it ends with the log stream; but the SDK's demuxer holds
a message's last one or two bytes back until more output (or the end) comes, so a quiet
process's last line may wait. SDKs before :data:`PUBLIC_SAFE` lose marker bytes split
across messages (0.197's demuxer searches only the flushable part of its buffer), so
their output would be silently corrupted: there the public route is refused with a
:class:`NotSupported`.

The private route is used when the version is in range and the private attributes exist;
otherwise the public route, with a warning once on the ``sandlot`` logger. The environment
variable ``SANDLOT_DAYTONA_SDK_ROUTE`` (``public``, ``private`` or ``auto``) forces a
route, for tests; it is not part of the API.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from ..._errors import InvalidArgument, NotSupported
from ._demux import Demuxer

__all__ = ["PRIVATE_RANGE", "PUBLIC_SAFE", "ROUTE_VAR", "Route", "follow_logs", "log_route"]

Route = Literal["private", "public"]
#: Receives ("o" or "e", text) in order; awaited, so it applies backpressure.
OnText = Callable[[str, str], Awaitable[None]]

ROUTE_VAR = "SANDLOT_DAYTONA_SDK_ROUTE"
#: The versions the private route was written and tested for: [0.197, 0.227).
PRIVATE_RANGE = ((0, 197), (0, 227))
#: The first version whose public log demuxer keeps split markers (tested: 0.226.1).
PUBLIC_SAFE = (0, 226)

logger = logging.getLogger("sandlot")
_logged: set[str] = set()


def sdk_version() -> str:
    return importlib.metadata.version("daytona")


def _parse(version: str) -> tuple[int, ...]:
    m = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(p) for p in m.group(0).split(".")) if m else ()


def _has_private(process: Any) -> bool:
    try:
        api = process._api_client
        return callable(api._get_session_command_logs_serialize) and (
            api.api_client.http_session is not None
        )
    except Exception:  # missing, renamed, or a property that fails: not usable
        return False


def _log_once(message: str) -> None:
    if message not in _logged:
        _logged.add(message)
        logger.warning(message)


def log_route(process: Any, version: str | None = None) -> Route:
    """The route for following logs through ``process`` (an ``AsyncProcess``); raises
    NotSupported when no route keeps every byte on this SDK."""
    version = sdk_version() if version is None else version
    v = _parse(version)
    forced = os.environ.get(ROUTE_VAR, "auto").strip().lower() or "auto"
    if forced not in ("auto", "public", "private"):
        raise InvalidArgument(f"${ROUTE_VAR}={forced!r}: choose auto, public or private")
    if v < PRIVATE_RANGE[0]:
        raise NotSupported("daytona", f"daytona {version}", "sandlot needs daytona>=0.197")
    private = _has_private(process)
    if forced == "private" or (forced == "auto" and PRIVATE_RANGE[0] <= v < PRIVATE_RANGE[1]):
        if private:
            return "private"
        if forced == "private":
            raise NotSupported(
                "daytona", f"the private route on daytona {version}", "it lacks its parts"
            )
    if v < PUBLIC_SAFE:
        raise NotSupported(
            "daytona",
            f"following output on daytona {version}",
            "its public log call loses split stream markers; upgrade to daytona>=0.226",
        )
    why = "forced" if forced == "public" else f"daytona {version} is not a tested version"
    _log_once(
        f"Daytona: following output through the SDK's public log call ({why}); it holds"
        " back a message's last bytes until more output comes, so a quiet process's last"
        " line may wait (daytona 0.197-0.226 take the direct route without this delay)"
    )
    return "public"


async def follow_logs(
    route: Route,
    process: Any,
    sid: str,
    cid: str,
    on_text: OnText,
    probe: Callable[[], Awaitable[None]],
    idle: float,
) -> None:
    """Deliver command ``cid``'s log until it ends. After ``idle`` seconds with no message
    (and no delivery pending), await ``probe`` (it raises if the server stopped
    answering). Stream failures raise ConnectionError."""
    if route == "private":
        await _follow_private(process, sid, cid, on_text, probe, idle)
    else:
        await _follow_public(process, sid, cid, on_text, probe, idle)


async def _follow_private(
    process: Any,
    sid: str,
    cid: str,
    on_text: OnText,
    probe: Callable[[], Awaitable[None]],
    idle: float,
) -> None:
    import aiohttp

    api = process._api_client
    _, url, headers, *_ = api._get_session_command_logs_serialize(
        session_id=sid,
        command_id=cid,
        follow=True,
        _request_auth=None,
        _content_type=None,
        _headers=None,
        _host_index=None,
    )
    # No WebSocket heartbeat: a reader that applies backpressure (a slow consumer)
    # stops reading the socket, and a missed pong would then kill a healthy stream.
    # An idle stream is probed with a request instead.
    session = api.api_client.http_session
    ws = await session.ws_connect(re.sub(r"^http", "ws", url), headers=headers)
    demux = Demuxer()
    receiving: asyncio.Future[Any] | None = None
    try:
        while True:
            # One receive kept across probes: cancelling it would mark the socket closed.
            if receiving is None:
                receiving = asyncio.ensure_future(ws.receive())
            done, _ = await asyncio.wait({receiving}, timeout=idle)
            if not done:
                await probe()
                continue
            msg, receiving = receiving.result(), None
            if msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                for channel, payload in demux.feed(data):
                    await on_text(channel, payload.decode("ascii", "replace"))
                continue
            if msg.type == aiohttp.WSMsgType.ERROR:
                raise ConnectionError(f"log stream error: {ws.exception()}")
            code = msg.data if msg.type == aiohttp.WSMsgType.CLOSE else ws.close_code
            if code not in (None, 1000):
                raise ConnectionError(f"log stream closed with code {code}: {msg.extra}")
            for channel, payload in demux.flush():
                await on_text(channel, payload.decode("ascii", "replace"))
            return
    finally:
        if receiving is not None:
            receiving.cancel()
        if not ws.closed:
            await ws.close()


async def _follow_public(
    process: Any,
    sid: str,
    cid: str,
    on_text: OnText,
    probe: Callable[[], Awaitable[None]],
    idle: float,
) -> None:
    delivered = 0  # deliveries started: a change means the stream is not idle
    busy = 0  # deliveries under way: a slow reader holds one, and is never probed
    failure: list[BaseException] = []

    def handler(channel: str) -> Callable[[str], Awaitable[None]]:
        async def deliver(text: str) -> None:
            nonlocal delivered, busy
            delivered += 1
            busy += 1
            try:
                await on_text(channel, text)
            except BaseException as exc:
                failure.append(exc)  # ours, not the stream's: re-raised as it is
                raise
            finally:
                busy -= 1

        return deliver

    reading = asyncio.ensure_future(
        process.get_session_command_logs_async(sid, cid, handler("o"), handler("e"))
    )
    try:
        while True:
            seen = delivered
            done, _ = await asyncio.wait({reading}, timeout=idle)
            if done:
                break
            if not busy and delivered == seen:
                await probe()
        try:
            reading.result()
        except Exception as exc:
            if failure:
                raise failure[0] from None
            raise ConnectionError(f"log stream error: {exc}") from exc
    finally:
        if not reading.done():
            reading.cancel()
            await asyncio.wait({reading})
