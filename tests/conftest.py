"""Shared fixtures: the anyio backends, the conformance targets and the leak check."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import sandlot
from targets import LEAK_TAG, LEAK_TAG_VAR, Target
from targets import daytona as _daytona
from targets import docker as _docker
from targets import limited as _limited
from targets import local as _local
from targets import serve as _serve
from targets import ssh as _ssh
from targets.daytona import *  # noqa: F403
from targets.docker import *  # noqa: F403
from targets.limited import *  # noqa: F403
from targets.local import *  # noqa: F403
from targets.serve import *  # noqa: F403
from targets.ssh import *  # noqa: F403

# A run started as a background job of a non-interactive shell (`cmd &` in a script)
# inherits SIGINT and SIGQUIT ignored, and so would every local process the tests start
# (the local target, the Daytona stand-in, jobs): the tests that send those signals would
# fail for the runner's reason. Start them with the dispositions a terminal gives.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN:
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)

#: The env var that restricts the conformance targets: comma-separated ids (``local``,
#: ``ssh_root``, ``limited``, ...), e.g. for CI's lowest-versions leg; unset means every
#: target.
TARGETS_VAR = "SANDLOT_TEST_TARGETS"


def target_id(fixture: str) -> str:
    """A target's id in test ids and $SANDLOT_TEST_TARGETS."""
    return _serve.IDS.get(fixture, fixture.removeprefix("target_"))


def _targets() -> list[str]:
    everything = [
        *_local.TARGETS,
        *_ssh.TARGETS,
        *_daytona.TARGETS,
        *_docker.TARGETS,
        *_serve.TARGETS,
        *_limited.TARGETS,
    ]
    chosen = os.environ.get(TARGETS_VAR)
    if chosen is None:
        return everything
    ids = {target_id(name): name for name in everything}
    wanted = [w.strip() for w in chosen.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in ids]
    if unknown or not wanted:  # a typo must not silently select nothing
        raise pytest.UsageError(f"${TARGETS_VAR}={chosen!r}: choose among {sorted(ids)}")
    return [ids[w] for w in wanted]


CONFORMANCE_DIR = Path(__file__).parent / "conformance"
#: The conformance suite's targets: every backend, and the limited ones that run its
#: NotSupported paths.
CONFORMANCE_FIXTURES: list[str] = _targets()
#: Every other test's: the registered backends (a limited one has no URL to reopen),
#: but sandlot+http: the conformance suite proves it, and the rest (jobs: one exec per
#: call) would cost the CI minutes for what the local target already shows.
TARGET_FIXTURES: list[str] = [
    t for t in CONFORMANCE_FIXTURES if t not in (*_limited.TARGETS, *_serve.TARGETS)
]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise every test that uses a target over the targets its directory runs on."""
    if "target" in metafunc.fixturenames:
        conformance = metafunc.definition.path.is_relative_to(CONFORMANCE_DIR)
        names = CONFORMANCE_FIXTURES if conformance else TARGET_FIXTURES
        ids = [target_id(name) for name in names]
        metafunc.parametrize("target", names, ids=ids, indirect=True)


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Target:
    t = request.getfixturevalue(request.param)
    assert isinstance(t, Target)
    return t


@pytest.fixture
async def sb(target: Target) -> AsyncIterator[sandlot.Sandbox]:
    async with target.open() as sandbox:
        yield sandbox


@pytest.fixture
async def scratch(sb: sandlot.Sandbox) -> AsyncIterator[str]:
    """A fresh directory inside the sandbox, removed afterwards."""
    path = (await sb.exec("mktemp", ["-d"], check=True)).stdout.decode().strip()
    yield path
    await sb.exec("rm", ["-rf", path])


def tagged_processes() -> list[str]:
    """Live processes (not zombies) that carry this run's leak tag, except ourselves."""
    needle = f"{LEAK_TAG_VAR}={LEAK_TAG}".encode()
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(f"{entry}: {cmdline}")
    return found


@pytest.fixture(autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Fails a test that leaves any process it started running."""
    yield
    deadline = time.monotonic() + 5.0
    while (left := tagged_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)  # termination is asynchronous: poll for the condition
    if left:
        for line in left:
            pid = int(line.split(":")[0])
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        pytest.fail(f"processes left running after the test: {left}")
