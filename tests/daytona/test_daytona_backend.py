"""Daytona specifics: opening, options, errors, exit records, sessions cleaned up, pty."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from daytona import AsyncDaytona, DaytonaConfig

import daytona_server
import sandlot
import sandlot.daytona
from targets import LEAK_TAG, LEAK_TAG_VAR, Target, infrastructure_env
from targets.daytona import options


@pytest.fixture
def target(target_daytona: Target) -> Target:
    """This module runs against the daytona target only."""
    return target_daytona


def test_options_default_to_the_sdk_environment_and_hide_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DAYTONA_API_KEY", "secret-key-123")
    monkeypatch.setenv("DAYTONA_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("DAYTONA_TARGET", "eu")
    opts = sandlot.daytona.DaytonaOptions()
    assert (opts.api_key, opts.api_url, opts.target) == (
        "secret-key-123",
        "http://127.0.0.1:9/api",
        "eu",
    )
    assert "secret-key-123" not in repr(opts)
    with pytest.raises(attrs_frozen_error()):
        opts.api_key = "x"  # type: ignore[misc]


def attrs_frozen_error() -> type[Exception]:
    import attrs

    return attrs.exceptions.FrozenInstanceError


async def test_open_by_name_and_by_id(daytona_local: daytona_server.LocalDaytona) -> None:
    for ident in (daytona_server.SANDBOX_ID, daytona_server.SANDBOX_NAME):
        async with sandlot.open_sandbox(f"daytona://{ident}", daytona=options(daytona_local)) as sb:
            assert sb.backend == "daytona"
            r = await sb.exec("echo", ["hi"])
            assert (r.stdout, r.stderr, r.exit) == (b"hi\n", b"", sandlot.ExitStatus(code=0))


async def test_unknown_sandbox(daytona_local: daytona_server.LocalDaytona) -> None:
    with pytest.raises(sandlot.SandboxNotFound, match="'no-such-sandbox'"):
        async with sandlot.open_sandbox(
            "daytona://no-such-sandbox", daytona=options(daytona_local)
        ):
            pass


async def test_bad_key_is_refused_and_never_shown(
    daytona_local: daytona_server.LocalDaytona,
) -> None:
    key = "wrong-key-5f3a9c"
    with pytest.raises(sandlot.AuthenticationFailed, match="refused the API key") as info:
        async with sandlot.open_sandbox(
            f"daytona://{daytona_server.SANDBOX_ID}", daytona=options(daytona_local, api_key=key)
        ):
            pass
    assert key not in str(info.value) and key not in repr(info.value)


async def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAYTONA_API_KEY", raising=False)
    with pytest.raises(sandlot.AuthenticationFailed, match="DAYTONA_API_KEY"):
        async with sandlot.open_sandbox("daytona://x", daytona=sandlot.daytona.DaytonaOptions()):
            pass


async def test_unreachable_api() -> None:
    opts = sandlot.daytona.DaytonaOptions(api_key="k", api_url="http://127.0.0.1:9/api", timeout=5)
    with pytest.raises(sandlot.HostUnreachable, match=r"127\.0\.0\.1:9"):
        async with sandlot.open_sandbox("daytona://x", daytona=opts):
            pass


async def test_wrong_option_type() -> None:
    with pytest.raises(sandlot.InvalidArgument, match="DaytonaOptions"):
        async with sandlot.open_sandbox("daytona://x", daytona={"api_key": "k"}):
            pass


async def test_create_open_and_delete_a_sandbox(
    daytona_local: daytona_server.LocalDaytona,
) -> None:
    opts = options(daytona_local)
    sid = await sandlot.daytona.create_sandbox(opts, name="made-by-test", labels={"a": "b"})
    async with sandlot.open_sandbox("daytona://made-by-test", daytona=opts) as sb:
        assert (await sb.exec("true")).exit.code == 0
    await sandlot.daytona.delete_sandbox(sid, opts)
    with pytest.raises(sandlot.SandboxNotFound):
        async with sandlot.open_sandbox(f"daytona://{sid}", daytona=opts):
            pass


def sandbox_state(server: daytona_server.LocalDaytona, ident: str) -> str:
    """The control plane's view, asked directly (not through sandlot)."""
    request = urllib.request.Request(
        f"{server.api_url}/sandbox/{ident}", headers={"Authorization": f"Bearer {server.api_key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["state"])


async def registry_with_a_new_sandbox(
    tmp_path: Path, opts: sandlot.daytona.DaytonaOptions
) -> tuple[sandlot.SandboxRegistry, sandlot.SandboxRecord, str]:
    """A registry whose one record is a Daytona sandbox it created; and that sandbox's id."""
    registry = sandlot.SandboxRegistry(tmp_path / "sandboxes.db")
    record = await registry.create("daytona://new", daytona=opts)
    assert record.provider_id is not None
    return registry, record, record.provider_id


async def test_registry_stop_stops_the_sandbox_and_open_starts_it(
    daytona_local: daytona_server.LocalDaytona, tmp_path: Path
) -> None:
    opts = options(daytona_local)
    registry, record, ident = await registry_with_a_new_sandbox(tmp_path, opts)
    try:
        stopped = await registry.stop(record.id, daytona=opts)
        assert stopped.status == "stopped" and stopped.error is None
        assert await anyio.to_thread.run_sync(sandbox_state, daytona_local, ident) == "stopped"
        async with registry.open(record.id, daytona=opts) as sb:
            assert (await sb.exec("echo", ["up"])).stdout == b"up\n"
        assert await anyio.to_thread.run_sync(sandbox_state, daytona_local, ident) == "started"
        assert (await registry.get(record.id)).status == "active"
    finally:
        await sandlot.daytona.delete_sandbox(ident, opts)
    with pytest.raises(sandlot.SandboxNotFound):
        await registry.stop(record.id, daytona=opts)  # the sandbox is gone: say so, record it
    gone = await registry.get(record.id)
    assert gone.status == "error" and gone.error is not None and ident in gone.error


def sandbox_info(server: daytona_server.LocalDaytona, ident: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.api_url}/sandbox/{ident}", headers={"Authorization": f"Bearer {server.api_key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        info: dict[str, Any] = json.load(response)
        return info


async def test_a_new_url_sets_the_lifecycle_options_and_recreate_reuses_them(
    daytona_local: daytona_server.LocalDaytona, tmp_path: Path
) -> None:
    opts = options(daytona_local)
    registry = sandlot.SandboxRegistry(tmp_path / "sandboxes.db")
    url = (
        "daytona://new?snapshot=snap-1&env=MODE%3Dtest&labels=team%3Da&ephemeral=true"
        "&auto_stop_interval=15&auto_archive_interval=60&volumes=vol-1%3A%2Fdata"
    )
    record = await registry.create(url, daytona=opts)
    assert dict(record.params) == {
        "snapshot": "snap-1",
        "env": {"MODE": "test"},
        "labels": {"team": "a"},
        "ephemeral": True,
        "auto_stop_interval": 15,
        "auto_archive_interval": 60,
        "volumes": ["vol-1:/data"],
    }
    assert record.provider_id is not None
    info = await anyio.to_thread.run_sync(sandbox_info, daytona_local, record.provider_id)
    assert (info["snapshot"], info["env"]) == ("snap-1", {"MODE": "test"})
    assert info["labels"]["team"] == "a"  # (the SDK adds one of its own)
    assert (info["autoStopInterval"], info["autoArchiveInterval"], info["autoDeleteInterval"]) == (
        15, 60, 0
    )  # fmt: skip
    assert info["volumes"] == [{"volumeId": "vol-1", "mountPath": "/data"}]
    # Gone behind our back: recreated from the stored options, same sandlot id.
    await sandlot.daytona.delete_sandbox(record.provider_id, opts)
    async with registry.open(record.id, recreate=True, daytona=opts) as sb:
        assert (await sb.exec("echo", ["again"])).stdout == b"again\n"
    again = await registry.get(record.id)
    assert again.provider_id not in (None, record.provider_id) and again.recreated_at
    assert again.provider_id is not None
    info = await anyio.to_thread.run_sync(sandbox_info, daytona_local, again.provider_id)
    assert (info["snapshot"], info["env"]) == ("snap-1", {"MODE": "test"})
    await registry.delete(record.id, daytona=opts)


async def test_an_image_sets_resources_and_secrets_are_not_stored(
    daytona_local: daytona_server.LocalDaytona, tmp_path: Path
) -> None:
    registry = sandlot.SandboxRegistry(tmp_path / "sandboxes.db")
    with pytest.raises(sandlot.InvalidArgument, match="refusing key 'GITHUB_TOKEN'"):
        await registry.create("daytona://new?env=GITHUB_TOKEN%3Dx", daytona=options(daytona_local))
    with pytest.raises(sandlot.InvalidSandboxURL, match="'api_key' cannot be set"):
        await registry.create("daytona://new?api_key=x", daytona=options(daytona_local))
    assert await registry.list() == []
    opts = attrs.evolve(options(daytona_local), image="python:3.12", cpu=2, memory=4, disk=8)
    record = await registry.create("daytona://new", daytona=opts)
    assert dict(record.params) == {"image": "python:3.12", "cpu": 2, "memory": 4, "disk": 8}
    assert record.provider_id is not None
    info = await anyio.to_thread.run_sync(sandbox_info, daytona_local, record.provider_id)
    assert (info["cpu"], info["memory"], info["disk"]) == (2, 4, 8)
    await registry.delete(record.id, daytona=opts)


async def test_registry_delete_deletes_the_sandbox_and_the_record(
    daytona_local: daytona_server.LocalDaytona, tmp_path: Path
) -> None:
    opts = options(daytona_local)
    registry, record, ident = await registry_with_a_new_sandbox(tmp_path, opts)
    await registry.delete(record.id, daytona=opts)
    with pytest.raises(sandlot.SandboxNotFound):
        await registry.get(record.id)
    with pytest.raises(sandlot.SandboxNotFound):  # the provider's sandbox is gone too
        await sandlot.daytona.delete_sandbox(ident, opts)


@pytest.mark.parametrize("code", [0, 1, 126, 127, 128, 130, 137, 143, 255])
async def test_exit_codes_above_128_are_codes_not_signals(sb: sandlot.Sandbox, code: int) -> None:
    r = await sb.exec("sh", ["-c", f"exit {code}"])
    assert r.exit == sandlot.ExitStatus(code=code)


async def test_a_signal_from_inside_is_reported_as_a_signal(sb: sandlot.Sandbox) -> None:
    r = await sb.exec("sh", ["-c", "echo before; kill -USR2 $$"])
    assert r.exit == sandlot.ExitStatus(signal=signal.SIGUSR2)
    assert r.stdout == b"before\n"


async def test_kill_reaches_grandchildren(sb: sandlot.Sandbox, scratch: str) -> None:
    async with sb.spawn("sh", ["-c", "sleep 60 & echo $!; wait"]) as proc:
        child = (await proc.stdout.receive()).strip().decode()
        await proc.kill(signal.SIGTERM)
        assert await proc.exit == sandlot.ExitStatus(signal=signal.SIGTERM)
    r = await sb.exec("sh", ["-c", f"while kill -0 {child} 2>/dev/null; do sleep 0.02; done"])
    assert r.exit.code == 0


async def test_sessions_are_deleted_after_use_and_after_cancellation(
    sb: sandlot.Sandbox, daytona_local: daytona_server.LocalDaytona
) -> None:
    await sb.exec("true")
    async with sb.spawn("sleep", ["60"]) as proc:
        await proc.ready
    with anyio.move_on_after(0.3):
        await sb.exec("sleep", ["60"])
    config = DaytonaConfig(
        api_key=daytona_local.api_key, api_url=daytona_local.api_url, target="local"
    )

    async def sessions() -> list[str]:
        async with AsyncDaytona(config) as client:
            sandbox = await client.get(daytona_server.SANDBOX_ID)
            return [s.session_id for s in await sandbox.process.list_sessions()]

    from sandlot._bridge import AsyncioBridge

    bridge = AsyncioBridge()
    try:
        left = await bridge.call(sessions)
    finally:
        await bridge.aclose()
    assert [s for s in left if s.startswith("sandlot-")] == []


async def test_pty_size_resize_input_and_exit(sb: sandlot.Sandbox) -> None:
    # The trap's echo proves SIGWINCH arrived. bash runs it once `read` returns, or before
    # `read` starts when the signal comes first: where WINCH lands is up to the race.
    script = 'trap "echo WINCH" WINCH; stty size; read x; stty size; echo "got $x"; read y; exit 7'
    async with sb.pty("bash", ["-c", script], size=(30, 100)) as term:
        await term.ready
        seen = bytearray()

        async def until(text: bytes) -> None:
            with anyio.fail_after(10):
                while text not in seen:
                    seen.extend(await term.output.receive())

        await until(b"30 100\r\n")
        await term.resize(rows=40, cols=140)
        assert term.size == sandlot.TerminalSize(rows=40, cols=140)
        await term.input.send(b"hello\n")
        await until(b"got hello\r\n")
        await term.input.send(b"\n")
        seen.extend(await term.output.read_all())
        assert await term.exit == sandlot.ExitStatus(code=7)
    # No prompt, motd or echo of the launch line before the command's own output.
    assert b"WINCH\r\n" in seen
    assert seen.replace(b"WINCH\r\n", b"", 1).startswith(b"30 100\r\nhello\r\n40 140\r\n")
    assert b"40 140\r\ngot hello\r\n" in seen.replace(b"WINCH\r\n", b"", 1)


async def test_pty_kill_reports_the_signal(sb: sandlot.Sandbox) -> None:
    async with sb.pty("sleep", ["60"]) as term:
        await term.ready
        await term.kill(signal.SIGHUP)
        assert await term.exit == sandlot.ExitStatus(signal=signal.SIGHUP)


async def test_pty_launch_errors(sb: sandlot.Sandbox) -> None:
    async with sb.pty("no-such-command-xyz") as term:
        with pytest.raises(sandlot.CommandNotFound, match="no-such-command-xyz"):
            await term.ready
        assert await term.exit == sandlot.ExitStatus(code=127)
    async with sb.pty("true", cwd="/no/such/dir") as term:
        with pytest.raises(sandlot.LaunchError, match="/no/such/dir"):
            await term.ready


async def test_a_lost_server_fails_pending_calls_promptly() -> None:
    server = daytona_server.start(infrastructure_env(), {LEAK_TAG_VAR: LEAK_TAG})
    try:
        async with (
            sandlot.open_sandbox(
                f"daytona://{daytona_server.SANDBOX_ID}", daytona=options(server), kill_grace=0.2
            ) as sb,
            sb.spawn("sleep", ["60"]) as proc,
        ):
            await proc.ready
            server.stop()  # its processes go with it (the test server kills them)
            with anyio.fail_after(15):
                with pytest.raises(sandlot.ConnectionLost):
                    await proc.exit
    finally:
        server.stop()


def test_the_server_is_infrastructure_and_its_children_are_tagged(
    daytona_local: daytona_server.LocalDaytona,
) -> None:
    with open(f"/proc/{daytona_local.proc.pid}/environ", "rb") as f:
        assert f"{LEAK_TAG_VAR}=".encode() not in f.read()
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(os.getpid())], capture_output=True)
    assert str(daytona_local.proc.pid).encode() in out.stdout


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (0, None, sandlot.ExitStatus(code=0)),
        (3, None, sandlot.ExitStatus(code=3)),
        (-1, "SIGKILL", sandlot.ExitStatus(signal=signal.SIGKILL)),
        (-1, "SIGTERM", sandlot.ExitStatus(signal=signal.SIGTERM)),
        (-1, "signal 10", sandlot.ExitStatus(signal=signal.SIGUSR1)),
        (-1, "signal: killed", sandlot.ExitStatus(signal=signal.SIGKILL)),
        (None, None, None),
    ],
)
def test_pty_exit_records_are_read_without_guessing(
    code: int | None, reason: str | None, expected: sandlot.ExitStatus | None
) -> None:
    from sandlot._backends.daytona._pty import exit_status

    assert exit_status(code, reason) == expected


async def test_a_kill_right_after_ready_reaches_the_command(sb: sandlot.Sandbox) -> None:
    for _ in range(5):
        async with sb.spawn("sleep", ["60"]) as proc:
            await proc.ready
            await proc.kill(signal.SIGUSR1)
            assert await proc.exit == sandlot.ExitStatus(signal=signal.SIGUSR1)


async def test_the_launcher_leaves_no_files_behind(tmp_path: Path) -> None:
    env = {**infrastructure_env(), "TMPDIR": str(tmp_path)}
    server = daytona_server.start(env, {LEAK_TAG_VAR: LEAK_TAG})
    try:
        async with sandlot.open_sandbox(
            f"daytona://{daytona_server.SANDBOX_ID}", daytona=options(server), kill_grace=0.2
        ) as sb:
            for _ in range(3):
                await sb.exec("true")
                async with sb.spawn("sleep", ["60"]) as proc:
                    await proc.ready
                with anyio.move_on_after(0.2):
                    await sb.exec("sleep", ["60"])
    finally:
        server.stop()
    assert os.listdir(tmp_path) == []
