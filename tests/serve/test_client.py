"""The sandlot+http backend's URL and options: the token never shows."""

from __future__ import annotations

import pytest

import sandlot
from sandlot.backends import parse_url
from sandlot.http import HttpOptions
from targets.serve import Server


def test_the_token_stays_out_of_urls_and_reprs() -> None:
    url = parse_url("sandlot+http://127.0.0.1:2468?token=s3cret")
    assert str(url) == "sandlot+http://127.0.0.1:2468"
    assert "s3cret" not in repr(url)
    assert parse_url(str(url)) == url
    assert "s3cret" not in repr(HttpOptions(token="s3cret"))
    with pytest.raises(sandlot.InvalidSandboxURL, match=r"token=\*\*\*") as info:
        parse_url("sandlot+http://127.0.0.1?token=s3cret")  # no port
    assert "s3cret" not in str(info.value)
    with pytest.raises(sandlot.InvalidSandboxURL, match="unknown parameter"):
        parse_url("sandlot+http://127.0.0.1:1?nope=1")


async def test_a_wrong_token_fails_to_open(serve_server: Server) -> None:
    with pytest.raises(sandlot.AuthenticationFailed, match="wrong token"):
        async with sandlot.open_sandbox(
            serve_server.url, **{"sandlot+http": HttpOptions(token="wrong")}
        ):
            pass
    async with sandlot.open_sandbox(f"{serve_server.url}?token={serve_server.token}") as sb:
        assert repr(sb) == f"<Sandbox {serve_server.url}>"
        assert (await sb.exec("echo", ["hi"])).stdout == b"hi\n"
