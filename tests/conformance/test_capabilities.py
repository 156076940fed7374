"""Capabilities mean something (SPEC §3): one test per capability. Where the backend
declares it, the feature works; where it does not, using the feature raises the clear
NotSupported naming the backend and the feature, and nothing reaches the sandbox.

Tests elsewhere that use a feature call ``requires(sb, name)``: they skip, pointing here,
on a backend that lacks it. The limited targets (tests/targets/limited.py) lack them all.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import attrs
import pytest

import sandlot
import sandlot.backends
from targets import Target

from ._helpers import exists, requires
from .test_pty import read_until


@contextmanager
def not_supported(sb: sandlot.Sandbox, feature: str, hint: str = "") -> Iterator[None]:
    """Expect exactly the NotSupported of ``sb``'s backend for ``feature``."""
    message = f"the {sb.backend} backend does not support {feature}"
    message += f": {hint}" if hint else ""
    with pytest.raises(sandlot.NotSupported, match=f"^{re.escape(message)}$") as info:
        yield
    assert (info.value.backend, info.value.feature) == (sb.backend, feature)


def test_each_capability_has_its_test_here() -> None:
    names = [f.name for f in attrs.fields(sandlot.Capabilities)]
    assert names == ["stdin_eof", "signals", "pty", "pty_resize", "files"]
    assert all(callable(globals().get(f"test_{name}")) for name in names)


async def test_the_sandbox_declares_what_its_backend_declares(
    sb: sandlot.Sandbox, target: Target
) -> None:
    caps = sb.capabilities
    lacking = {f.name for f in attrs.fields(sandlot.Capabilities) if not getattr(caps, f.name)}
    assert lacking == target.lacks
    declared = {b.name: b.capabilities for b in sandlot.backends.available()}
    if sb.backend in declared:  # the limited targets are not registered backends
        assert caps == declared[sb.backend]


async def test_stdin_eof(sb: sandlot.Sandbox, scratch: str) -> None:
    marker = f"{scratch}/marker"
    with anyio.fail_after(20):
        if not sb.capabilities.stdin_eof:
            # exec's input is followed by EOF: refused before anything is launched.
            with not_supported(sb, "exec with input", "it cannot send EOF on stdin"):
                await sb.exec("sh", ["-c", f"touch {marker}; cat"], input=b"data")
            assert not await exists(sb, marker)
            assert (await sb.exec("cat", input=b"")).stdout == b""  # no input: no EOF needed
            async with sb.spawn("cat") as proc:
                with not_supported(sb, "closing stdin (sending EOF)"):
                    await proc.stdin.aclose()
                await proc.stdin.send(b"still open\n")  # stdin was not closed silently
                assert await proc.stdout.receive() == b"still open\n"
            if sb.capabilities.pty:
                async with sb.pty("cat") as term:
                    with not_supported(sb, "closing terminal input (sending EOF)"):
                        await term.input.aclose()
                    await term.input.send(b"still open\n")
                    await read_until(term, b"still open\r\nstill open\r\n")  # echo, cat
            return
        assert (await sb.exec("cat", input=b"data")).stdout == b"data"
        async with sb.spawn("cat") as proc:
            await proc.stdin.send(b"data")
            await proc.stdin.aclose()
            assert await proc.stdout.read_all() == b"data"
            assert await proc.exit == sandlot.ExitStatus(code=0)
        if sb.capabilities.pty:
            async with sb.pty("sh", ["-c", "cat; echo EOF-SEEN"]) as term:
                await term.ready
                await term.input.aclose()
                await read_until(term, b"EOF-SEEN")
                assert await term.exit == sandlot.ExitStatus(code=0)


async def test_signals(sb: sandlot.Sandbox) -> None:
    with anyio.fail_after(20):
        async with sb.spawn("sh", ["-c", "echo up; exec sleep 60"]) as proc:
            assert await proc.stdout.receive() == b"up\n"
            if not sb.capabilities.signals:
                hint = "it sends only SIGTERM and SIGKILL"
                for sig in (signal.SIGUSR1, "SIGUSR1", int(signal.SIGUSR1)):
                    with not_supported(sb, "sending SIGUSR1", hint):
                        await proc.kill(sig)
                    with not_supported(sb, "sending SIGUSR1", hint):
                        await proc.send_signal(sig)
                await proc.terminate()  # TERM (and KILL) remain
                # Had SIGUSR1 been sent, its default action would have ended the process.
                assert await proc.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
                return
            await proc.kill(signal.SIGUSR1)
            assert await proc.exit == sandlot.ExitStatus(signal=signal.SIGUSR1)


async def test_pty(sb: sandlot.Sandbox, scratch: str) -> None:
    marker = f"{scratch}/marker"
    with anyio.fail_after(20):
        if not sb.capabilities.pty:
            with not_supported(sb, "pseudo-terminals"):
                sb.pty("touch", [marker])  # refused at the call, before any await
            with not_supported(sb, "pseudo-terminals"):
                async with sb.pty("touch", [marker]):
                    pytest.fail("a pty was started")
            assert not await exists(sb, marker)
            return
        async with sb.pty("sh", ["-c", f"test -t 0 && test -t 1 && touch {marker}"]) as term:
            assert await term.exit == sandlot.ExitStatus(code=0)
        assert await exists(sb, marker)


async def test_pty_resize(sb: sandlot.Sandbox) -> None:
    requires(sb, "pty")
    with anyio.fail_after(20):
        async with sb.pty("sh", ["-c", "echo ready; read x; stty size"], size=(24, 80)) as term:
            await read_until(term, b"ready")
            if not sb.capabilities.pty_resize:
                with not_supported(sb, "resizing a terminal"):
                    await term.resize(30, 100)
                expected = b"24 80"  # the terminal was not resized
            else:
                await term.resize(30, 100)
                expected = b"30 100"
            assert term.size == sandlot.TerminalSize(*map(int, expected.split()))
            await term.input.send(b"\n")
            assert expected + b"\r\n" in await read_until(term, expected + b"\r\n")


async def test_files(sb: sandlot.Sandbox, scratch: str) -> None:
    path = f"{scratch}/file"
    if not sb.capabilities.files:
        with not_supported(sb, "file transfer"):
            await sb.write_file(path, b"data")
        assert not await exists(sb, path)
        await sb.exec("sh", ["-c", f"echo data > {path}"], check=True)
        with not_supported(sb, "file transfer"):
            await sb.read_file(path)
        return
    await sb.write_file(path, b"data")
    assert (await sb.exec("cat", [path])).stdout == b"data"
    assert await sb.read_file(path) == b"data"


async def test_backend_name_and_repr(sb: sandlot.Sandbox, target: Target) -> None:
    assert target.name == sb.backend or target.name.startswith(f"{sb.backend}_")  # ssh_root
    assert sb.url.scheme == sb.backend
    assert repr(sb) == f"<Sandbox {sb.url}>"
