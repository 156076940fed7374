"""Daytona as a conformance target: the real SDK against the local stand-in server.

Each pytest process (each xdist worker too) starts its own server (``tests/daytona_server``)
on a free port. The server is infrastructure (untagged); every process it runs for a test
carries the leak tag, so the leak check sees anything a test leaves running "in the sandbox".
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import daytona_server
import sandlot
import sandlot.daytona

from . import LEAK_TAG, LEAK_TAG_VAR, Target, infrastructure_env

__all__ = ["daytona_local", "target_daytona"]
TARGETS = ["target_daytona"]

# The SDK's aiohttp session trusts proxy variables: keep 127.0.0.1 direct.
_no_proxy = [p for p in os.environ.get("NO_PROXY", "").split(",") if p]
os.environ["NO_PROXY"] = ",".join([*_no_proxy, "127.0.0.1", "localhost"])


@pytest.fixture(scope="session")
def daytona_local() -> Iterator[daytona_server.LocalDaytona]:
    server = daytona_server.start(infrastructure_env(), {LEAK_TAG_VAR: LEAK_TAG})
    yield server
    server.stop()


def options(server: daytona_server.LocalDaytona, **kw: object) -> sandlot.daytona.DaytonaOptions:
    base: dict[str, object] = dict(api_key=server.api_key, api_url=server.api_url, target="local")
    base.update(kw)
    return sandlot.daytona.DaytonaOptions(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def target_daytona(daytona_local: daytona_server.LocalDaytona) -> Target:
    opts = options(daytona_local)
    return Target(
        name="daytona",
        open=lambda: sandlot.open_sandbox(
            f"daytona://{daytona_server.SANDBOX_ID}", daytona=opts, kill_grace=0.2
        ),
    )
