"""The SDK adapter: private SDK access only in ``_sdk.py``, the route it picks per SDK
version, and the public route (forced) keeping every byte."""

from __future__ import annotations

import ast
import hashlib
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import sandlot
from sandlot._backends.daytona import _sdk
from targets import Target

PACKAGE = Path(_sdk.__file__).parent
#: Objects of the SDK's: a ``_name`` read on one of these is private SDK access.
SDK_OBJECTS = {"sandbox", "process", "client", "handle", "fs", "api", "api_client", "sdk"}
#: Imports and names that only the adapter may use.
PRIVATE_TEXT = re.compile(
    r"from daytona\.|import daytona\.|daytona_(toolbox_)?api_client|_serialize\b"
    r"|\bhttp_session\b|\b_api_client\b"
)


def private_access(source: str) -> list[str]:
    found = [m.group(0) for m in PRIVATE_TEXT.finditer(source)]
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__"):
            continue
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if name.lstrip("_") in SDK_OBJECTS:
            found.append(ast.unparse(node))
    return found


def test_the_check_sees_private_access() -> None:
    source = (
        "async def f(self):\n"
        "    _, url, *_ = self._sandbox.process._api_client._x_serialize()\n"
        "    from daytona.common.pty import PtySize\n"
        "    return process._language, self._proc.poll()\n"
    )
    found = private_access(source)
    assert "self._sandbox.process._api_client" in found
    assert "process._language" in found
    assert "from daytona." in found
    assert "self._proc.poll" not in " ".join(found)


def test_only_the_adapter_touches_private_sdk_parts() -> None:
    offenders = {
        path.name: found
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name != "_sdk.py" and (found := private_access(path.read_text()))
    }
    assert offenders == {}


class _Api:
    def __init__(self) -> None:
        self.api_client = SimpleNamespace(http_session=object())

    def _get_session_command_logs_serialize(self, **kw: Any) -> None: ...


PRIVATE = SimpleNamespace(_api_client=_Api())
PUBLIC_ONLY = SimpleNamespace()


@pytest.fixture
def auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_sdk.ROUTE_VAR, raising=False)


@pytest.mark.usefixtures("auto")
@pytest.mark.parametrize("version", ["0.197.0", "0.210.3", "0.226.1", "0.226.9rc1"])
def test_a_tested_version_takes_the_private_route(version: str) -> None:
    assert _sdk.log_route(PRIVATE, version) == "private"


@pytest.mark.usefixtures("auto")
@pytest.mark.parametrize("version", ["0.227.0", "0.300.1", "1.0.0"])
def test_an_unknown_version_takes_the_public_route(
    version: str, caplog: pytest.LogCaptureFixture
) -> None:
    _sdk._logged.clear()
    with caplog.at_level(logging.INFO, logger="sandlot"):
        assert _sdk.log_route(PRIVATE, version) == "public"
        assert _sdk.log_route(PRIVATE, version) == "public"
    records = [r for r in caplog.records if r.name == "sandlot"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert (
        records[0]
        .getMessage()
        .startswith(
            "Daytona: following output through the SDK's public log call "
            f"(daytona {version} is not a tested version); it holds back"
        )
    )


@pytest.mark.usefixtures("auto")
def test_missing_private_parts_take_the_public_route() -> None:
    assert _sdk.log_route(PUBLIC_ONLY, "0.226.1") == "public"


@pytest.mark.usefixtures("auto")
def test_no_safe_route_is_a_clear_error() -> None:
    # Before 0.226 the public call's demuxer loses split markers: never used there.
    with pytest.raises(sandlot.NotSupported, match=r"daytona 0\.200\.0.*daytona>=0\.226"):
        _sdk.log_route(PUBLIC_ONLY, "0.200.0")
    with pytest.raises(sandlot.NotSupported, match=r"daytona 0\.150\.0.*daytona>=0\.197"):
        _sdk.log_route(PRIVATE, "0.150.0")


def test_the_route_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_sdk.ROUTE_VAR, "public")
    assert _sdk.log_route(PRIVATE, "0.226.1") == "public"
    with pytest.raises(sandlot.NotSupported, match=r"daytona 0\.197\.0"):
        _sdk.log_route(PRIVATE, "0.197.0")
    monkeypatch.setenv(_sdk.ROUTE_VAR, "private")
    assert _sdk.log_route(PRIVATE, "0.300.0") == "private"
    with pytest.raises(sandlot.NotSupported, match="private route"):
        _sdk.log_route(PUBLIC_ONLY, "0.300.0")
    monkeypatch.setenv(_sdk.ROUTE_VAR, "bogus")
    with pytest.raises(sandlot.InvalidArgument, match="SANDLOT_DAYTONA_SDK_ROUTE"):
        _sdk.log_route(PRIVATE, "0.226.1")


# -- the public route, forced, against the stand-in server ---------------------------------

PUBLIC_WORKS = _sdk._parse(_sdk.sdk_version()) >= _sdk.PUBLIC_SAFE


@pytest.fixture
def target(target_daytona: Target, monkeypatch: pytest.MonkeyPatch) -> Target:
    """The daytona target, following output through the SDK's public log call."""
    monkeypatch.setenv(_sdk.ROUTE_VAR, "public")
    return target_daytona


@pytest.fixture
def routes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    taken: list[str] = []
    follow = _sdk.follow_logs

    async def recording(route: _sdk.Route, *args: Any) -> None:
        taken.append(route)
        await follow(route, *args)

    monkeypatch.setattr("sandlot._backends.daytona._session.follow_logs", recording)
    return taken


@pytest.mark.skipif(not PUBLIC_WORKS, reason="the public route is refused on this SDK")
async def test_public_route_spawn_output_split_and_exit(
    sb: sandlot.Sandbox, routes: list[str]
) -> None:
    # exec takes one /process/execute request: the log routes serve spawn only.
    script = "printf 'out\\0 1\\n'; printf 'err 1' >&2; printf 'out 2'; exit 3"
    async with sb.spawn("sh", ["-c", script]) as proc:
        out = await proc.stdout.read_all()
        err = await proc.stderr.read_all()
        status = await proc.exit
    assert (out, err, status) == (b"out\0 1\nout 2", b"err 1", sandlot.ExitStatus(code=3))
    assert routes == ["public"]


@pytest.mark.skipif(not PUBLIC_WORKS, reason="the public route is refused on this SDK")
async def test_public_route_spawn_stdin_and_large_output(
    sb: sandlot.Sandbox, routes: list[str]
) -> None:
    data = bytes(range(256)) * (8 * 4096) + b"\0end"  # 8 MiB and a bit, all byte values
    async with sb.spawn("sh", ["-c", "cat; echo done >&2"]) as proc:
        await proc.stdin.send(data)
        await proc.stdin.aclose()
        out = await proc.stdout.read_all()
        err = await proc.stderr.read_all()
        assert await proc.exit == sandlot.ExitStatus(code=0)
    assert hashlib.sha256(out).digest() == hashlib.sha256(data).digest() and out == data
    assert err == b"done\n"
    assert routes == ["public"]


@pytest.mark.skipif(PUBLIC_WORKS, reason="the public route works on this SDK")
async def test_public_route_is_refused_where_it_would_lose_output(sb: sandlot.Sandbox) -> None:
    with pytest.raises(sandlot.NotSupported, match="split stream markers"):
        async with sb.spawn("true"):
            pass
