"""Daytona signals a process group by the signal's *name*: a local signal number means
another signal on a sandbox of another architecture (SIGUSR1 is 30 on alpha)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest

from sandlot._backends.daytona._pty import PtyProcess
from sandlot._backends.daytona._session import SessionProcess
from sandlot._records import TerminalSize
from sandlot._transport import LaunchSpec


class _Recorder:
    def __init__(self) -> None:
        self.commands: list[str] = []

    async def exec(self, command: str) -> None:
        self.commands.append(command)


class _Sandbox:
    def __init__(self) -> None:
        self.process = _Recorder()


@pytest.mark.parametrize("kind", ["spawn", "pty"])
@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM, signal.SIGKILL])
def test_the_kill_names_the_signal(kind: str, sig: signal.Signals) -> None:
    sandbox = _Sandbox()
    bridge: Any = object()  # the streams keep it; nothing here crosses it
    proc: SessionProcess | PtyProcess
    if kind == "spawn":
        proc = SessionProcess(bridge, sandbox, "sid", LaunchSpec(argv=("sleep", "9")))
    else:
        spec = LaunchSpec(argv=("sleep", "9"), pty=TerminalSize(rows=24, cols=80))
        proc = PtyProcess(bridge, sandbox, spec)
    proc._pgid = 4242
    asyncio.run(proc._kill(sig))
    name = sig.name.removeprefix("SIG")
    assert sandbox.process.commands == [f"kill -{name} -4242 2>/dev/null; true"]
