"""Sandbox URLs: parsing and the errors for malformed ones."""

from __future__ import annotations

import pytest

import sandlot
from sandlot._url import SandboxURL
from sandlot.backends import parse_url


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("local", SandboxURL("local")),
        ("local://", SandboxURL("local")),
        ("ssh://me@example.org:2222", SandboxURL("ssh", "me@example.org:2222")),
        ("SSH://Example.org/", SandboxURL("ssh", "example.org")),
        ("ssh://[::1]:22", SandboxURL("ssh", "[::1]:22")),
        ("daytona://my-box", SandboxURL("daytona", "my-box")),
    ],
)
def test_parse(url: str, parsed: SandboxURL) -> None:
    assert parse_url(url) == parsed
    assert parse_url(str(parsed)) == parsed


def test_default_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDLOT_SANDBOX", raising=False)
    assert parse_url(None) == SandboxURL("local")
    monkeypatch.setenv("SANDLOT_SANDBOX", "daytona://abc")
    assert parse_url(None) == SandboxURL("daytona", "abc")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "ftp://host",
            r"unknown sandbox scheme 'ftp' in 'ftp://host'; known: daytona, docker, "
            r"sandlot\+http, sandlot\+https, local, ssh",
        ),
        (
            "localhost",
            r"malformed sandbox URL 'localhost': expected daytona://<id>, docker://<container>, "
            r"sandlot\+http://HOST:PORT, local, ssh://\[user@\]host\[:port\]",
        ),
        ("local://x", "use plain 'local'"),
        ("ssh", r"expected ssh://\[user@\]host\[:port\]"),
        ("ssh://", "no host"),
        ("ssh://host:notaport", "bad port"),
        ("ssh://host/path", "an ssh URL has no path"),
        ("ssh://host?x=1", "unexpected query"),
        ("daytona://", "expected daytona://<id>"),
        ("daytona://a/b", "expected daytona://<id>"),
    ],
)
async def test_malformed_urls(url: str, message: str) -> None:
    with pytest.raises(sandlot.InvalidSandboxURL, match=message):
        async with sandlot.open_sandbox(url):
            pass


def test_a_password_in_the_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(sandlot.InvalidSandboxURL) as info:
        parse_url("ssh://me:hunter2@host")
    assert "hunter2" not in str(info.value)


async def test_unknown_option_for_local() -> None:
    with pytest.raises(sandlot.InvalidArgument, match=r"unknown option.*bogus"):
        async with sandlot.open_sandbox("local", bogus=1):
            pass
