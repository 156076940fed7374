"""read_file / write_file over SFTP: the same bytes, modes and errors as the local backend."""

from __future__ import annotations

import os
import stat
import uuid

import pytest

import sandlot
from targets.ssh import TEST_USER, Sshd


async def outcome(sb: sandlot.Sandbox, op: str, path: str) -> tuple[str, str]:
    try:
        if op == "read":
            await sb.read_file(path)
        else:
            await sb.write_file(path, b"x")
    except sandlot.FileError as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


@pytest.mark.parametrize("user", ["root", TEST_USER])
async def test_errors_match_the_local_backend(sshd: Sshd, user: str) -> None:
    d = f"/tmp/sandlot-files-{uuid.uuid4().hex}"
    cases = [
        ("read", f"{d}/missing"),
        ("read", d),  # a directory
        ("write", f"{d}/no/such/dir/file"),
        ("write", d),
    ]
    async with sandlot.open_sandbox(sshd.url(user), ssh=sshd.options()) as sb:
        await sb.exec("mkdir", [d], check=True)
        try:
            async with sandlot.open_sandbox("local") as local:
                for op, path in cases:
                    assert await outcome(sb, op, path) == await outcome(local, op, path), (op, path)
            assert (await outcome(sb, "read", f"{d}/missing"))[0] == "FileNotFound"
        finally:
            await sb.exec("rm", ["-rf", d])


async def test_bytes_and_mode_round_trip(sshd: Sshd) -> None:
    path = f"/tmp/sandlot-files-{uuid.uuid4().hex}"
    data = bytes(range(256)) * 4096 + b"\0tail-without-newline"
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        await sb.write_file(path, data, mode=0o600)
        assert await sb.read_file(path) == data
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        await sb.write_file(path, b"short", mode=0o751)  # truncates; mode applies anew
        assert await sb.read_file(path) == b"short"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o751
        await sb.exec("rm", ["-f", path])
