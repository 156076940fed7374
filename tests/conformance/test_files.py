"""read_file / write_file on every backend."""

from __future__ import annotations

import pytest

import sandlot

from ._helpers import requires


async def test_round_trip_binary_with_mode(sb: sandlot.Sandbox, scratch: str) -> None:
    requires(sb, "files")
    data = bytes(range(256)) * 1000
    path = f"{scratch}/blob.bin"
    await sb.write_file(path, data, mode=0o640)
    assert await sb.read_file(path) == data
    r = await sb.exec("sh", ["-c", f"stat -c %a {path}; wc -c < {path}"])
    assert r.stdout.split() == [b"640", str(len(data)).encode()]
    await sb.write_file(path, b"short")  # truncates
    assert await sb.read_file(path) == b"short"
    await sb.write_file(f"{scratch}/empty", b"")
    assert await sb.read_file(f"{scratch}/empty") == b""


async def test_missing_file(sb: sandlot.Sandbox, scratch: str) -> None:
    requires(sb, "files")
    with pytest.raises(sandlot.FileNotFound, match="nope"):
        await sb.read_file(f"{scratch}/nope")
    with pytest.raises(FileNotFoundError):
        await sb.write_file(f"{scratch}/no/such/dir/f", b"x")
