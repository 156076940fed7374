"""Durable sandbox records (SPEC §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sandlot
from targets import Target


@pytest.fixture
def registry(tmp_path: Path) -> sandlot.SandboxRegistry:
    return sandlot.SandboxRegistry(tmp_path / "db" / "sandboxes.db")


async def test_create_reconnect_run_stop(registry: sandlot.SandboxRegistry) -> None:
    record = await registry.create("local", config={"purpose": "ci", "cpus": 2})
    assert record.id.startswith("sb_") and record.provider == "local"
    assert record.status == "active" and record.url == "local"
    assert dict(record.config) == {"purpose": "ci", "cpus": 2}
    # A second registry on the same file (as another process would) finds it by id.
    again = sandlot.SandboxRegistry(registry.path)
    assert await again.get(record.id) == record
    async with again.open(record.id) as sb:
        assert (await sb.exec("echo", ["hi"])).stdout == b"hi\n"
    stopped = await again.stop(record.id)
    assert stopped.status == "stopped" and stopped.updated_at >= record.updated_at
    assert [r.id for r in await registry.list()] == [record.id]
    async with again.open(record.id):
        pass
    assert (await again.get(record.id)).status == "active"
    await registry.remove(record.id)
    with pytest.raises(sandlot.SandboxNotFound, match=record.id):
        await registry.get(record.id)
    other = await registry.create("local")
    await registry.delete(other.id)  # a host has nothing to delete: only the record goes
    assert await registry.list() == []


async def test_provider_from_the_environment_then_local(
    registry: sandlot.SandboxRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SANDLOT_SANDBOX", raising=False)
    assert (await registry.create()).provider == "local"
    monkeypatch.setenv("SANDLOT_SANDBOX", "ssh://me@example.org:2222")
    record = await registry.create()
    assert (record.provider, record.provider_id) == ("ssh", "me@example.org:2222")
    assert (await registry.create("local")).provider == "local"


async def test_secrets_are_refused_and_never_stored(registry: sandlot.SandboxRegistry) -> None:
    for key in ("password", "api_key", "token", "passphrase", "client_secret"):
        with pytest.raises(sandlot.InvalidArgument, match=f"refusing key '{key}'"):
            await registry.create("local", config={key: "hunter2"})
    assert await registry.list() == []
    assert "hunter2" not in (
        registry.path.read_text(errors="replace") if registry.path.exists() else ""
    )


async def test_bad_ids(registry: sandlot.SandboxRegistry) -> None:
    with pytest.raises(sandlot.InvalidArgument, match=r"malformed sandbox id: '\.\./x'"):
        await registry.get("../x")
    with pytest.raises(sandlot.SandboxNotFound):
        await registry.get("sb_" + "0" * 32)
    with pytest.raises(sandlot.InvalidSandboxURL):
        await registry.create("ftp://nope")


async def test_reconnect_to_every_target(registry: sandlot.SandboxRegistry, target: Target) -> None:
    async with target.open() as sb:
        url = str(sb.url)
    record = await registry.create(url)
    assert record.provider == sb.backend
    # Open through the target's own options (its secrets are not in the record).
    async with target.open() as reopened:
        assert str(reopened.url) == (await registry.get(record.id)).url
