"""Docker specifics, against the test session's own dockerd: opening, options, errors,
exit records, provisioning, concurrency, files and the command line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

import sandlot
import sandlot.docker
from targets.docker import IMAGE, Dockerd, open_docker


@pytest.fixture
async def sb(dockerd: Dockerd) -> AsyncIterator[sandlot.Sandbox]:
    """This module runs against the docker target only."""
    async with open_docker(dockerd) as sandbox:
        yield sandbox


@pytest.fixture
async def new_container(dockerd: Dockerd) -> AsyncIterator[str]:
    """A container of its own (for tests that stop or delete it)."""
    opts = dockerd.options(image=IMAGE)
    ident = await sandlot.docker.create_container(opts, labels={"sandlot-test": "1"})
    yield ident
    try:
        await sandlot.docker.delete_container(ident, opts)
    except sandlot.SandboxNotFound:
        pass


def test_options_default_to_the_docker_environment_and_hide_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.1:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/certs/secret-dir")
    opts = sandlot.docker.DockerOptions()
    assert (opts.host, opts.tls, opts.ca_cert) == (
        "tcp://10.0.0.1:2376",
        True,
        "/certs/secret-dir/ca.pem",
    )
    assert opts.client_key == "/certs/secret-dir/key.pem"
    assert "key.pem" not in repr(opts)
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.delenv("DOCKER_TLS_VERIFY")
    default = sandlot.docker.DockerOptions()
    assert (default.host, default.tls, default.client_key) == (
        "unix:///var/run/docker.sock",
        False,
        None,
    )


async def test_open_by_name_and_by_id(dockerd: Dockerd, new_container: str) -> None:
    info = dockerd.api("GET", f"/containers/{new_container}/json")
    assert isinstance(info, dict)
    for ident in (new_container, new_container[:12], info["Name"].lstrip("/")):
        async with sandlot.open_sandbox(f"docker://{ident}", docker=dockerd.options()) as sb:
            assert sb.backend == "docker"
            r = await sb.exec("sh", ["-c", "echo out; echo err >&2; exit 3"])
            assert (r.stdout, r.stderr, r.exit) == (b"out\n", b"err\n", sandlot.ExitStatus(code=3))


async def test_docker_host_from_the_environment(
    dockerd: Dockerd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    async with sandlot.open_sandbox(f"docker://{dockerd.container}") as sb:
        assert (await sb.exec("echo", ["hi"])).stdout == b"hi\n"


async def test_errors_name_what_is_wrong(dockerd: Dockerd, tmp_path: Path) -> None:
    with pytest.raises(sandlot.SandboxNotFound, match="no Docker container 'nope-xyz'"):
        async with sandlot.open_sandbox("docker://nope-xyz", docker=dockerd.options()):
            pass
    missing = sandlot.docker.DockerOptions(host=f"unix://{tmp_path}/none.sock")
    with pytest.raises(sandlot.HostUnreachable) as unreachable:
        async with sandlot.open_sandbox("docker://x", docker=missing):
            pass
    assert str(unreachable.value) == (
        f"cannot reach the Docker Engine at unix://{tmp_path}/none.sock: No such file or directory"
    )
    with pytest.raises(sandlot.docker.ImageNotFound, match="no image 'no-such-image:1'"):
        await sandlot.docker.create_container(dockerd.options(), image="no-such-image:1")
    with pytest.raises(sandlot.InvalidArgument, match="DOCKER_HOST must be"):
        async with sandlot.open_sandbox(
            "docker://x", docker=sandlot.docker.DockerOptions(host="x")
        ):
            pass


_OPEN_IN_A_CHILD = """
import sys, anyio, sandlot, sandlot.docker
async def main():
    options = sandlot.docker.DockerOptions(host=sys.argv[2])
    try:
        async with sandlot.open_sandbox(sys.argv[1], docker=options):
            print("opened")
    except sandlot.SandlotError as exc:
        print(type(exc).__name__, exc)
anyio.run(main)
"""


def test_permission_denied_on_the_socket_is_said_plainly(dockerd: Dockerd) -> None:
    # Root passes any permission check: the socket is given to `nobody` (mode 0600, the
    # other tests' root still passes), and the client runs as root without the
    # capabilities that override file permissions.
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is missing"
    os.chown(dockerd.socket, 65534, 65534)
    os.chmod(dockerd.socket, 0o600)
    run = subprocess.run(
        [
            setpriv,
            "--bounding-set=-dac_override,-dac_read_search",
            "--",
            sys.executable,
            "-c",
            _OPEN_IN_A_CHILD,
            f"docker://{dockerd.container}",
            dockerd.host,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout == (
        f"AuthenticationFailed permission denied on the Docker socket {dockerd.host} "
        "(run as root or join its group)\n"
    ), run.stderr


async def test_a_stopped_container_is_a_clear_error(dockerd: Dockerd, new_container: str) -> None:
    opts = dockerd.options()
    await sandlot.docker.stop_container(new_container, opts)
    with pytest.raises(sandlot.docker.ContainerStopped, match="is not running"):
        async with sandlot.open_sandbox(f"docker://{new_container}", docker=opts):
            pass
    await sandlot.docker.start_container(new_container, opts)
    async with sandlot.open_sandbox(f"docker://{new_container}", docker=opts) as sb:
        assert (await sb.exec("true")).exit.code == 0


async def test_the_registry_creates_stops_starts_and_deletes_containers(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    opts = dockerd.options(image=IMAGE)
    registry = sandlot.SandboxRegistry(tmp_path / "sandboxes.db")
    record = await registry.create("docker://new", docker=opts)
    ident = record.provider_id
    assert ident is not None and record.provider == "docker" and record.status == "active"
    try:
        # Its init process reaps orphans: a background child's exit leaves no zombie.
        async with registry.open(record.id, docker=opts) as sb:
            init = (await sb.exec("cat", ["/proc/1/cmdline"])).stdout
            assert b"init" in init
        assert (await registry.stop(record.id, docker=opts)).status == "stopped"
        info = dockerd.api("GET", f"/containers/{ident}/json")
        assert isinstance(info, dict) and not info["State"]["Running"]
        async with registry.open(record.id, docker=opts) as sb:
            assert (await sb.exec("echo", ["up"])).stdout == b"up\n"
    finally:
        await registry.delete(record.id, docker=opts)
    with pytest.raises(sandlot.SandboxNotFound):
        await sandlot.docker.delete_container(ident, opts)


async def test_a_new_url_names_the_image(dockerd: Dockerd, tmp_path: Path) -> None:
    opts = dockerd.options()  # no image: the URL gives it
    registry = sandlot.SandboxRegistry(tmp_path / "sandboxes.db")
    record = await registry.create(f"docker://new?image={IMAGE}", docker=opts)
    try:
        assert record.url == f"docker://{record.provider_id}"
        image = dockerd.api("GET", f"/containers/{record.provider_id}/json")["Config"]["Image"]  # type: ignore[index]
        assert image == IMAGE
        async with registry.open(record.id, docker=opts) as sb:
            assert (await sb.exec("echo", ["up"])).stdout == b"up\n"
    finally:
        await registry.delete(record.id, docker=opts)


async def test_a_new_url_sets_resources_and_the_record_keeps_them(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    registry = sandlot.SandboxRegistry(tmp_path / "sandboxes.db")
    record = await registry.create(
        f"docker://new?image={IMAGE}&cpus=0.5&memory=64", docker=dockerd.options()
    )
    try:
        assert dict(record.params) == {"image": IMAGE, "cpus": 0.5, "memory": 64}
        info = dockerd.api("GET", f"/containers/{record.provider_id}/json")
        host = info["HostConfig"]  # type: ignore[index]
        assert (host["NanoCpus"], host["Memory"]) == (500_000_000, 64 * 1024 * 1024)
    finally:
        await registry.delete(record.id, docker=dockerd.options())


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "docker://new?tls=0",
            "'tls' cannot be set in a docker://new URL (it can set: image, cpus, memory, user)",
        ),
        (
            "docker://new?image",
            "malformed query in sandbox URL 'docker://new?image': expected name=value&...",
        ),
        ("docker://new?image=a&image=b", "'image' is set twice in 'docker://new?image=a&image=b'"),
    ],
)
async def test_a_bad_new_url_is_refused_before_anything_is_created(
    dockerd: Dockerd, tmp_path: Path, url: str, message: str
) -> None:
    def containers() -> list[str]:
        listed = dockerd.api("GET", "/containers/json?all=1")
        assert isinstance(listed, list)
        return sorted(c["Id"] for c in listed)

    before = containers()
    registry = sandlot.SandboxRegistry(tmp_path / "sandboxes.db")
    with pytest.raises(sandlot.InvalidSandboxURL) as info:
        await registry.create(url, docker=dockerd.options(image=IMAGE))
    assert str(info.value) == message
    assert await registry.list() == []
    assert containers() == before


@pytest.mark.parametrize("code", [0, 1, 126, 127, 128, 130, 137, 143, 255])
async def test_exit_codes_above_128_are_codes(sb: sandlot.Sandbox, code: int) -> None:
    r = await sb.exec("sh", ["-c", f"exit {code}"])
    assert r.exit == sandlot.ExitStatus(code=code)


@pytest.mark.parametrize(
    "sig",
    # (Not SIGQUIT: busybox sh, the command here, ignores it itself.)
    [signal.SIGINT, signal.SIGTERM, signal.SIGKILL, signal.SIGSEGV, signal.SIGUSR1],
)
async def test_a_signal_the_command_got_from_anyone_is_named(
    sb: sandlot.Sandbox, sig: signal.Signals
) -> None:
    r = await sb.exec("sh", ["-c", f"kill -{sig.name.removeprefix('SIG')} $$"])
    assert r.exit == sandlot.ExitStatus(signal=sig)


async def test_a_pty_reports_the_signal_sandlot_sent_and_codes_as_codes(
    sb: sandlot.Sandbox,
) -> None:
    async with sb.pty("sh", ["-c", "exit 143"]) as t:
        await t.output.read_all()
        assert await t.exit == sandlot.ExitStatus(code=143)
    async with sb.pty("sh", ["-c", "echo ready; exec sleep 60"]) as t:
        with anyio.fail_after(20):
            buf = b""
            while b"ready" not in buf:
                buf += await t.output.receive()
        await t.kill(signal.SIGUSR1)
        assert await t.exit == sandlot.ExitStatus(signal=signal.SIGUSR1)


async def test_a_hundred_concurrent_spawns_all_succeed(sb: sandlot.Sandbox) -> None:
    results: dict[int, bytes] = {}

    async def one(i: int) -> None:
        async with sb.spawn("sh", ["-c", f"read x; echo {i}:$x"]) as proc:
            await proc.ready
            await proc.stdin.send(b"go\n")
            await proc.stdin.aclose()
            results[i] = await proc.stdout.read_all()
            assert await proc.exit == sandlot.ExitStatus(code=0)

    with anyio.fail_after(240):
        async with anyio.create_task_group() as tg:
            for i in range(100):
                tg.start_soon(one, i)
    assert results == {i: f"{i}:go\n".encode() for i in range(100)}


async def test_files_follow_links_keep_modes_and_say_what_is_wrong(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    await sb.write_file(f"{scratch}/f", b"one", mode=0o600)
    await sb.write_file(f"{scratch}/f", b"two")  # keeps the mode of the file it replaces
    r = await sb.exec("sh", ["-c", f"stat -c %a {scratch}/f; ln -s f {scratch}/link"])
    assert r.stdout == b"600\n"
    assert await sb.read_file(f"{scratch}/link") == b"two"
    with pytest.raises(sandlot.FileError, match="Is a directory"):
        await sb.read_file(scratch)
    with pytest.raises(sandlot.FileError, match="Not a directory"):
        await sb.write_file(f"{scratch}/f/g", b"x")


async def test_stdout_and_stderr_stay_apart_under_volume(sb: sandlot.Sandbox) -> None:
    script = "i=0; while [ $i -lt 2000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"
    r = await sb.exec("sh", ["-c", script])
    assert r.stdout == b"".join(b"out%d\n" % i for i in range(2000))
    assert r.stderr == b"".join(b"err%d\n" % i for i in range(2000))


async def test_a_slow_reader_bounds_what_is_buffered(dockerd: Dockerd) -> None:
    async with (
        open_docker(dockerd) as sb,
        sb.spawn("sh", ["-c", "head -c 50000000 /dev/zero"]) as p,
    ):
        first = await p.stdout.receive()
        assert first
        await anyio.sleep(1)  # the process writes on while nobody reads
        raw = p.stdout._raw._proc  # type: ignore[attr-defined]
        assert len(raw._bufs[1]) <= 2 << 20
        total = len(first) + len(await p.stdout.read_all())
        assert total == 50_000_000


def test_the_command_line_reports_exit_codes_and_errors(dockerd: Dockerd) -> None:
    env = {**os.environ, "DOCKER_HOST": dockerd.host, "PYTHONPATH": os.pathsep.join(sys.path)}
    url = f"docker://{dockerd.container}"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandlot",
            "exec",
            url,
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert (r.returncode, r.stdout, r.stderr) == (3, b"out\n", b"err\n")
    r = subprocess.run(
        [sys.executable, "-m", "sandlot", "exec", "docker://nope-xyz", "--", "true"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert r.returncode != 0 and r.stderr.count(b"\n") == 1, r.stderr
    assert b"no Docker container 'nope-xyz'" in r.stderr


async def test_tls_errors_never_name_the_key(tmp_path: Path) -> None:
    key = tmp_path / "secret-key.pem"
    key.write_text("not a key")
    opts = sandlot.docker.DockerOptions(
        host="tcp://127.0.0.1:1",
        tls=True,
        ca_cert=None,
        client_cert=str(tmp_path / "cert.pem"),
        client_key=str(key),
    )
    with pytest.raises(sandlot.ConnectionFailed, match="cannot load the Docker TLS") as info:
        async with sandlot.open_sandbox("docker://x", docker=opts):
            pass
    assert "secret-key" not in str(info.value) and "secret-key" not in repr(opts)


async def test_a_path_in_env_is_the_command_s_not_the_launcher_s(sb: sandlot.Sandbox) -> None:
    # The launcher's own tools (setsid, mkfifo, cat, sleep) come from the container's PATH.
    r = await sb.exec("sh", ["-c", 'echo "$PATH:${SANDLOT_PATH-unset}"'], env={"PATH": "/bin:/x"})
    assert (r.stdout, r.exit.code) == (b"/bin:/x:unset\n", 0)
    with pytest.raises(sandlot.CommandNotFound, match="'ls'"):
        await sb.exec("ls", env={"PATH": "/nonexistent"})
    assert (await sb.exec("/bin/ls", ["/"], env={"PATH": "/nonexistent"})).exit.code == 0
    async with sb.pty("sh", ["-c", 'echo "$PATH"'], env={"PATH": "/bin:/y"}) as t:
        assert await t.output.read_all() == b"/bin:/y\r\n"


async def test_the_request_timeout_does_not_bound_a_quiet_process(dockerd: Dockerd) -> None:
    async with open_docker(dockerd, timeout=1.0) as sb:
        r = await sb.exec("sh", ["-c", "sleep 2.5; echo late"], timeout=30)
        assert (r.stdout, r.exit.code) == (b"late\n", 0)
