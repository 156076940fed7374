"""A backend that lacks a feature declares it, and using it raises NotSupported."""

from __future__ import annotations

import pytest

import sandlot


async def test_declared_gaps_raise_not_supported_naming_the_backend(sb: sandlot.Sandbox) -> None:
    caps = sb.capabilities
    assert isinstance(caps, sandlot.Capabilities)
    if not caps.pty:
        with pytest.raises(sandlot.NotSupported, match=f"the {sb.backend} backend"):
            sb.pty("true")
    if not caps.stdin_eof:
        async with sb.spawn("cat") as proc:
            with pytest.raises(sandlot.NotSupported, match=f"the {sb.backend} backend"):
                await proc.stdin.aclose()
    if caps.pty and not caps.pty_resize:
        async with sb.pty("sleep", ["60"]) as term:
            with pytest.raises(sandlot.NotSupported, match=f"the {sb.backend} backend"):
                await term.resize(30, 100)
    if not caps.files:
        with pytest.raises(sandlot.NotSupported, match=f"the {sb.backend} backend"):
            await sb.write_file("/tmp/x", b"")


async def test_backend_name_and_repr(sb: sandlot.Sandbox, target: object) -> None:
    assert sb.backend in ("local", "ssh", "daytona")
    assert repr(sb).startswith("<Sandbox ")
