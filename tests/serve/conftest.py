"""Fixtures for the API tests: an HTTP client of the session's ``sandlot serve local``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from targets.serve import Server


@pytest.fixture(scope="session")
def api(serve_server: Server) -> Iterator[httpx.Client]:
    """A client that sends the token."""
    headers = {"Authorization": f"Bearer {serve_server.token}"}
    with httpx.Client(
        base_url=serve_server.base, headers=headers, timeout=30, verify=False
    ) as client:
        yield client


@pytest.fixture(scope="session")
def anon(serve_server: Server) -> Iterator[httpx.Client]:
    """A client without the token."""
    with httpx.Client(base_url=serve_server.base, timeout=30, verify=False) as client:
        yield client
