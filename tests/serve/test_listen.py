"""The listening socket ``sandlot serve`` hands to Hypercorn."""

from __future__ import annotations

import socket

import pytest

from sandlot._errors import InvalidArgument
from sandlot._serve._server import listen, parse_listen


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_accepted_connections_send_without_delay(host: str) -> None:
    """Hypercorn sets TCP_NODELAY only on sockets it binds itself; a response goes out in
    pieces (head, body), which Nagle's algorithm would hold back for an ACK."""
    try:
        sock = listen(host, 0)
    except OSError as exc:  # a machine without IPv6 on loopback
        pytest.skip(f"cannot listen on {host}: {exc}")
    with sock, socket.create_connection(sock.getsockname()[:2], timeout=10):
        accepted, _ = sock.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_listen_address_forms() -> None:
    assert parse_listen("127.0.0.1:2468") == ("127.0.0.1", 2468)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen(":80") == ("127.0.0.1", 80)
    with pytest.raises(InvalidArgument, match="--listen takes HOST:PORT, not 'nope'"):
        parse_listen("nope")
