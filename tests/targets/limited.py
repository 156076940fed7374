"""Conformance targets that lack features: the local backend with capabilities taken away.

No built-in backend lacks anything, so without these the suite's ``NotSupported`` paths
would never run. Each target's transport truly lacks what it declares: closing stdin
delivers no EOF, and a pty, a resize, a file transfer or a signal other than SIGTERM and
SIGKILL that reaches it (the shared layer should have refused it) fails the test loudly.
"""

from __future__ import annotations

import signal as _signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import attrs
import pytest
from anyio.abc import ByteSendStream

import sandlot
from sandlot._backends.local import LocalTransport
from sandlot.backends import LaunchSpec, RawProcess, Transport

from . import Target

__all__ = ["target_limited", "target_limited_pty"]
TARGETS = ["target_limited", "target_limited_pty"]

#: Lacks everything a backend may lack.
LIMITED = sandlot.Capabilities(
    stdin_eof=False, signals=False, pty=False, pty_resize=False, files=False
)
#: Has a pty, but cannot resize it or send EOF on it.
LIMITED_PTY = sandlot.Capabilities(stdin_eof=False, pty_resize=False)


class ReachedTheTransport(AssertionError):
    """The shared layer passed on a request for a feature the backend declares it lacks."""


def lacking(caps: sandlot.Capabilities) -> frozenset[str]:
    """The names of the capabilities ``caps`` lacks."""
    return frozenset(
        f.name for f in attrs.fields(sandlot.Capabilities) if not getattr(caps, f.name)
    )


class NoEOF(ByteSendStream):
    """The stdin of a backend that cannot deliver EOF: closing it closes only our end
    of the conversation; the process keeps reading."""

    def __init__(self, raw: ByteSendStream) -> None:
        self._raw = raw
        self._closed = False

    async def send(self, item: bytes) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        await self._raw.send(item)

    async def aclose(self) -> None:
        self._closed = True  # the pipe stays open until the process is released
        await anyio.lowlevel.checkpoint()


class LimitedProcess(RawProcess):
    def __init__(self, raw: RawProcess, caps: sandlot.Capabilities) -> None:
        self._raw = raw
        self._caps = caps
        self.stdin = raw.stdin if caps.stdin_eof else NoEOF(raw.stdin)
        self.stdout = raw.stdout
        self.stderr = raw.stderr

    async def wait_ready(self) -> None:
        await self._raw.wait_ready()

    async def wait(self) -> sandlot.ExitStatus:
        return await self._raw.wait()

    def poll(self) -> sandlot.ExitStatus | None:
        return self._raw.poll()

    async def signal(self, sig: _signal.Signals) -> None:
        if not self._caps.signals and sig not in (_signal.SIGTERM, _signal.SIGKILL):
            raise ReachedTheTransport(f"{sig.name} reached a backend without signals")
        await self._raw.signal(sig)

    async def resize(self, size: sandlot.TerminalSize) -> None:
        if not self._caps.pty_resize:
            raise ReachedTheTransport("a resize reached a backend without pty_resize")
        await self._raw.resize(size)

    async def aclose(self) -> None:
        await self._raw.aclose()  # closes the stdin pipe too


class LimitedTransport(Transport):
    """The local backend, less what ``capabilities`` takes away."""

    def __init__(self, name: str, caps: sandlot.Capabilities) -> None:
        self.name = name
        self.capabilities = caps
        self._local = LocalTransport()

    async def start(self, spec: LaunchSpec) -> RawProcess:
        if spec.pty is not None and not self.capabilities.pty:
            raise ReachedTheTransport("a pty reached a backend without pty")
        return LimitedProcess(await self._local.start(spec), self.capabilities)

    async def read_file(self, path: str) -> bytes:
        if not self.capabilities.files:
            raise ReachedTheTransport("read_file reached a backend without files")
        return await self._local.read_file(path)

    async def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        if not self.capabilities.files:
            raise ReachedTheTransport("write_file reached a backend without files")
        await self._local.write_file(path, data, mode)


def _target(name: str, caps: sandlot.Capabilities) -> Target:
    @asynccontextmanager
    async def open_limited() -> AsyncIterator[sandlot.Sandbox]:
        async with sandlot.Sandbox(LimitedTransport(name, caps), kill_grace=0.2) as sb:
            yield sb

    return Target(name=name, open=open_limited, lacks=lacking(caps))


@pytest.fixture(scope="session")
def target_limited() -> Target:
    return _target("limited", LIMITED)


@pytest.fixture(scope="session")
def target_limited_pty() -> Target:
    return _target("limited_pty", LIMITED_PTY)
