"""The Engine over ``tcp://`` with TLS (``--tlsverify``): the session's dockerd listens on
127.0.0.1 too, with certificates made for the test (targets.docker.make_tls)."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import attrs
import pytest

import sandlot
import sandlot.docker
from targets.docker import Dockerd, make_tls


def tls_options(d: Dockerd, tls_dir: str | None = None) -> sandlot.docker.DockerOptions:
    tls_dir = tls_dir or os.path.join(d.dir, "tls")
    return sandlot.docker.DockerOptions(
        host=f"tcp://127.0.0.1:{d.tls_port}",
        tls=True,
        ca_cert=f"{tls_dir}/ca.pem",
        client_cert=f"{tls_dir}/cert.pem",
        client_key=f"{tls_dir}/key.pem",
    )


async def test_processes_over_tls(dockerd: Dockerd) -> None:
    options = tls_options(dockerd)
    assert "key.pem" not in repr(options)
    url = f"docker://{dockerd.container}"
    with anyio.fail_after(30):
        async with sandlot.open_sandbox(url, docker=options) as sb:
            r = await sb.exec("sh", ["-c", "echo out; echo err >&2; exit 3"])
            assert (r.stdout, r.stderr, r.exit.code) == (b"out\n", b"err\n", 3)
            data = bytes(range(256)) * 4096
            async with sb.spawn("cat") as proc:
                await proc.stdin.send(data)
                await proc.stdin.aclose()  # EOF through the TLS connection
                assert await proc.stdout.read_all() == data
                assert (await proc.exit).code == 0


async def test_a_server_we_do_not_trust_is_rejected_without_naming_the_key(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    other = make_tls(str(tmp_path / "other"))  # another CA: not the server's
    options = tls_options(dockerd, other)
    with anyio.fail_after(30), pytest.raises(sandlot.HostKeyRejected) as info:
        await sandlot.open_sandbox(f"docker://{dockerd.container}", docker=options).__aenter__()
    assert "presented a certificate that the CA certificate" in str(info.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert "key.pem" not in str(info.value).replace("cert.pem, key.pem)", "")


async def test_without_a_client_certificate_we_are_refused(dockerd: Dockerd) -> None:
    options = attrs.evolve(tls_options(dockerd), client_cert=None, client_key=None)
    with anyio.fail_after(30), pytest.raises(sandlot.AuthenticationFailed) as info:
        async with sandlot.open_sandbox(f"docker://{dockerd.container}", docker=options) as sb:
            await sb.exec("true")
    assert "refused our TLS client certificate" in str(info.value)
