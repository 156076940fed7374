"""Shared helpers for the SSH backend tests."""

from __future__ import annotations

import contextlib

import anyio


async def wait_for_file(path: str) -> str:
    """The remote host is this machine: wait until the command wrote ``path`` (a line)."""
    with anyio.fail_after(10):
        while True:
            with contextlib.suppress(FileNotFoundError):
                text = await anyio.Path(path).read_text()
                if text.endswith("\n"):
                    return text.strip()
            await anyio.sleep(0.01)  # polling a condition: there is no event to wait on
