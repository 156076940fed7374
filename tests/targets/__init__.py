"""Test targets: every backend the conformance suite runs against.

Each module here defines pytest fixtures and a list ``TARGETS`` of fixture names; a
fixture named in ``TARGETS`` returns a :class:`Target`. ``tests/conftest.py`` imports
the modules and parametrises the conformance suite over all their targets.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import NamedTuple

import attrs

import sandlot

# Every process the suite starts carries this variable; the leak check looks for it.
LEAK_TAG_VAR = "SANDLOT_TEST_LEAK_TAG"
LEAK_TAG = f"run-{os.getpid()}"  # one per pytest process (xdist workers too)
os.environ[LEAK_TAG_VAR] = LEAK_TAG


def infrastructure_env() -> dict[str, str]:
    """The environment for long-lived test servers (sshd, the Daytona server): untagged,
    so that only what the tests start through sandlot is checked for leaks."""
    env = dict(os.environ)
    env.pop(LEAK_TAG_VAR, None)
    return env


@attrs.frozen
class Target:
    """A backend under test: how to open a Sandbox on it."""

    name: str
    open: Callable[[], AbstractAsyncContextManager[sandlot.Sandbox]]
    #: the capabilities it lacks (field names of :class:`sandlot.Capabilities`): what
    #: ``sb.capabilities`` must declare
    lacks: frozenset[str] = frozenset()


class Proc(NamedTuple):
    ppid: int
    name: str
    cmdline: bytes


def processes() -> dict[int, Proc]:
    """This machine's processes now, from /proc (those that vanish meanwhile left out)."""
    found: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        found[int(entry)] = Proc(int(stat[stat.rindex(")") + 2 :].split()[1]), name, cmdline)
    return found
