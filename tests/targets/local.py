"""The local backend as a conformance target."""

from __future__ import annotations

import pytest

import sandlot

from . import Target

__all__ = ["target_local"]
TARGETS = ["target_local"]


@pytest.fixture(scope="session")
def target_local() -> Target:
    return Target(name="local", open=lambda: sandlot.open_sandbox("local", kill_grace=0.2))
