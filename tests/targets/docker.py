"""A real Docker Engine as a conformance target.

Each pytest process (each xdist worker too) starts its own ``dockerd`` on a private socket
and data root (``vfs``, no bridge, no iptables: see docs/backends.md), imports a small
busybox image from the local ``/bin/busybox`` (no registry is needed) and runs one
container (``--init``, no network). The daemon and the container are infrastructure
(untagged); every process a test starts in the container carries the leak tag (the
target adds it to each process's environment), and the host's /proc shows the container's
processes, so the leak check sees anything a test leaves running in the container.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest

import sandlot
import sandlot.docker
from sandlot._backends.docker._transport import DockerTransport
from sandlot._url import SandboxURL
from sandlot.backends import LaunchSpec, RawProcess

from . import LEAK_TAG, LEAK_TAG_VAR, Target, infrastructure_env

__all__ = ["Dockerd", "dockerd", "private_dockerd", "target_docker"]
TARGETS = ["target_docker"]

DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
IMAGE = "sandlot-test/busybox:latest"
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
GROUP = "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"


@attrs.frozen
class Dockerd:
    """A running private dockerd, its image and its test container."""

    dir: str
    socket: str
    container: str
    pid: int
    #: the Engine's TLS listener on 127.0.0.1 (certificates in ``dir/tls``: make_tls)
    tls_port: int = 0

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def options(self, **kw: object) -> sandlot.docker.DockerOptions:
        return sandlot.docker.DockerOptions(host=self.host, **kw)  # type: ignore[arg-type]

    def api(self, method: str, path: str, **kw: object) -> object:
        """One synchronous Engine API call (test set-up), its JSON answer."""
        import httpx

        transport = httpx.HTTPTransport(uds=self.socket)
        with httpx.Client(transport=transport, base_url="http://docker", timeout=60) as c:
            r = c.request(method, f"/v1.41{path}", **kw)  # type: ignore[arg-type]
            r.raise_for_status()
            return r.json() if r.content else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"a Docker Engine is required in CI: {reason}")
    pytest.skip(reason)


#: GNU tools to put in the image instead of busybox's applets: none, the userland is
#: busybox's alone, as on Alpine (the jobs wrapper's log cap copes with its `head -c`,
#: which reads past its count).
GNU_TOOLS: tuple[str, ...] = ()


def busybox_rootfs() -> bytes:
    """A tar of a tiny root filesystem: busybox and a few GNU tools (with their
    libraries), passwd and group."""
    busybox = shutil.which("busybox")
    assert busybox is not None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        for d in ("bin", "etc", "root", "proc", "sys", "dev"):
            add_dir(d)
        add_dir("tmp", 0o1777)
        with open(busybox, "rb") as f:
            add_file("bin/busybox", f.read(), 0o755)
        applets = subprocess.run([busybox, "--list"], capture_output=True, check=True).stdout
        binaries = [busybox]
        for tool in GNU_TOOLS:
            path = shutil.which(tool, path="/usr/bin:/bin")
            assert path is not None
            binaries.append(path)
            with open(path, "rb") as f:
                add_file(f"bin/{tool}", f.read(), 0o755)
        for applet in applets.decode().split():
            if applet != "busybox" and applet not in GNU_TOOLS:
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(info)
        # Dynamically linked binaries need their libraries (ldd names them).
        ldd = subprocess.run(["ldd", *binaries], capture_output=True, check=False).stdout.decode()
        seen: set[str] = set()
        for word in ldd.split():
            if word.startswith("/") and os.path.exists(word) and word not in seen:
                seen.add(word)
                parts = word.strip("/").split("/")
                for i in range(1, len(parts)):
                    d = "/".join(parts[:i])
                    if d not in seen:
                        seen.add(d)
                        add_dir(d)
                with open(os.path.realpath(word), "rb") as f:
                    add_file(word.strip("/"), f.read(), 0o755)
        add_file("etc/passwd", PASSWD.encode())
        add_file("etc/group", GROUP.encode())
    return buf.getvalue()


def _wait_for(path: str, proc: subprocess.Popen[bytes], log: str) -> None:
    """Until dockerd answers on ``path``; fails with the end of its log if it does not."""
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(path):
            with contextlib.suppress(httpx.HTTPError):
                transport = httpx.HTTPTransport(uds=path)
                with httpx.Client(transport=transport, base_url="http://docker") as c:
                    if c.get("/_ping").status_code == 200:
                        return
        time.sleep(0.05)  # dockerd says it is up only by answering
    with open(log) as f:
        raise RuntimeError(f"dockerd did not start: {f.read()[-3000:]}")


@contextlib.contextmanager
def private_dockerd() -> Iterator[Dockerd]:
    """Start dockerd on a private socket and data root, import the test image, run one
    container; stop and remove everything at the end."""
    tmp = tempfile.mkdtemp(prefix="sandlot-dockerd-")
    sock = os.path.join(tmp, "docker.sock")
    log = os.path.join(tmp, "dockerd.log")
    tls = make_tls(os.path.join(tmp, "tls"))
    tls_port = _free_port()
    cmd = [
        DOCKERD,
        f"--data-root={tmp}/data",
        f"--exec-root={tmp}/exec",
        f"--pidfile={tmp}/dockerd.pid",
        f"--host=unix://{sock}",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--storage-driver=vfs",
        # A TLS listener too (tests/docker/test_docker_tls.py): clients need a certificate.
        f"--host=tcp://127.0.0.1:{tls_port}",
        "--tlsverify",
        f"--tlscacert={tls}/ca.pem",
        f"--tlscert={tls}/server-cert.pem",
        f"--tlskey={tls}/server-key.pem",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=infrastructure_env())
    try:
        _wait_for(sock, proc, log)
        d = Dockerd(tmp, sock, "", proc.pid, tls_port)
        repo, tag = IMAGE.split(":")
        d.api(
            "POST",
            "/images/create",
            params={"fromSrc": "-", "repo": repo, "tag": tag, "changes": "ENV PATH=/bin"},
            content=busybox_rootfs(),
            headers={"Content-Type": "application/x-tar"},
        )
        created = d.api(
            "POST",
            "/containers/create",
            json={
                "Image": IMAGE,
                "Cmd": ["sleep", "2147483647"],
                "HostConfig": {"Init": True, "NetworkMode": "none"},
            },
        )
        assert isinstance(created, dict)
        d = attrs.evolve(d, container=created["Id"])
        d.api("POST", f"/containers/{d.container}/start")
        yield d
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # runc may leave mounts under the data root: unmount them, then remove it.
        subprocess.run(
            ["sh", "-c", f"grep -o ' {tmp}[^ ]*' /proc/mounts | xargs -r umount -l"],
            check=False,
        )
        shutil.rmtree(tmp, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_tls(directory: str) -> str:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (Docker's
    ``--tlsverify`` layout: ca.pem, server-{cert,key}.pem, cert.pem, key.pem) in
    ``directory``, which it returns."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    os.makedirs(directory, mode=0o700)
    now = datetime.datetime.now(datetime.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(cert_file: str, key_file: str, cert: x509.Certificate, key: Any) -> None:
        with open(os.path.join(directory, cert_file), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(os.path.join(directory, key_file), "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )

    def issue(
        subject: str,
        signer: ec.EllipticCurvePrivateKey | None,
        ca: bool,
        usage: list[x509.ObjectIdentifier],
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name("sandlot-test-ca"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        if subject == "127.0.0.1":
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer or key, hashes.SHA256()), key

    ca_cert, ca_key = issue("sandlot-test-ca", None, True, [])
    write("ca.pem", "ca-key.pem", ca_cert, ca_key)
    server = issue("127.0.0.1", ca_key, False, [ExtendedKeyUsageOID.SERVER_AUTH])
    write("server-cert.pem", "server-key.pem", *server)
    client = issue("sandlot-test-client", ca_key, False, [ExtendedKeyUsageOID.CLIENT_AUTH])
    write("cert.pem", "key.pem", *client)
    return directory


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    if not os.path.exists(DOCKERD):
        _unavailable(f"{DOCKERD} is not installed (Debian package docker.io)")
    if not shutil.which("busybox"):
        _unavailable("busybox is not installed (the test image is built from it)")
    if os.geteuid() != 0:
        _unavailable("the dockerd fixture needs root")
    with private_dockerd() as d:
        yield d


class TaggedTransport(DockerTransport):
    """The Docker transport, each process tagged for the leak check (the container's
    own processes are not: they are infrastructure)."""

    async def start(self, spec: LaunchSpec) -> RawProcess:
        env = {LEAK_TAG_VAR: LEAK_TAG, **spec.env}
        return await super().start(attrs.evolve(spec, env=env))


@contextlib.asynccontextmanager
async def open_docker(d: Dockerd, **kw: object) -> AsyncIterator[sandlot.Sandbox]:
    transport = await TaggedTransport.open(d.container, d.options(**kw))
    url = SandboxURL("docker", d.container)
    async with sandlot.Sandbox(transport, url=url, kill_grace=0.2) as sb:
        yield sb


@pytest.fixture(scope="session")
def target_docker(dockerd: Dockerd) -> Target:
    return Target(name="docker", open=lambda: open_docker(dockerd))
