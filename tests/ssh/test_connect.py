"""Connecting: host key checking, authentication, config, errors, and secrets kept secret."""

from __future__ import annotations

import logging
import os
import re
import subprocess

import pytest

import sandlot
import sandlot.ssh
from targets.ssh import Sshd

SECRET = "s3cret-Passw0rd-do-not-leak"


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def keygen(path: str, passphrase: str = "") -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", path], check=True)
    return path


async def test_unknown_host_key_is_rejected_by_default(
    sshd: Sshd, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default honours ~/.ssh/known_hosts: here a home without one.
    monkeypatch.setenv("HOME", str(tmp_path))
    opts = sandlot.ssh.SSHOptions(client_keys=[sshd.client_key], agent=False, config=[])
    with pytest.raises(sandlot.HostKeyRejected) as info:
        async with sandlot.open_sandbox(sshd.url("root"), ssh=opts):
            pass
    msg = str(info.value)
    assert f"root@127.0.0.1:{sshd.port}" in msg and "known_hosts" in msg
    assert "known_hosts=None" in msg  # says how to opt out, and that it is insecure
    assert "insecure" in msg


async def test_host_key_not_in_the_given_known_hosts_is_rejected(
    sshd: Sshd, tmp_path: os.PathLike[str]
) -> None:
    other = os.path.join(tmp_path, "known_hosts")
    wrong_key = read(sshd.client_key + ".pub")  # a real key, but not the host's
    write(other, f"[127.0.0.1]:{sshd.port} {wrong_key}")
    with pytest.raises(sandlot.HostKeyRejected, match=re.escape("host key of root@127.0.0.1")):
        async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options(known_hosts=other)):
            pass


async def test_known_hosts_none_accepts_any_key(sshd: Sshd) -> None:
    async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options(known_hosts=None)) as sb:
        assert (await sb.exec("echo", ["ok"])).stdout == b"ok\n"


async def test_wrong_key_is_an_authentication_failure(
    sshd: Sshd, tmp_path: os.PathLike[str]
) -> None:
    key = keygen(os.path.join(tmp_path, "other"))
    with pytest.raises(
        sandlot.AuthenticationFailed, match=f"authentication to root@127.0.0.1:{sshd.port} failed"
    ):
        async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options(client_keys=[key])):
            pass


async def test_secrets_never_appear_in_repr_logs_or_errors(
    sshd: Sshd, tmp_path: os.PathLike[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = keygen(os.path.join(tmp_path, "locked"), passphrase=SECRET)
    opts = sshd.options(client_keys=[key], passphrase=SECRET + "x", password=SECRET)
    texts = [repr(opts), str(opts)]
    with pytest.raises(sandlot.AuthenticationFailed) as info:
        async with sandlot.open_sandbox(sshd.url("root"), ssh=opts):
            pass
    texts += [str(info.value), repr(info.value), caplog.text]
    opts = sshd.options(password=SECRET, client_keys=[keygen(os.path.join(tmp_path, "k2"))])
    with pytest.raises(sandlot.AuthenticationFailed) as info:
        async with sandlot.open_sandbox(sshd.url("root"), ssh=opts):
            pass
    texts += [str(info.value), repr(info.value), caplog.text]
    assert "<hidden>" in texts[0]
    for text in texts:
        assert SECRET not in text


async def test_refused_port_is_unreachable(sshd: Sshd) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(
            sandlot.HostUnreachable, match=f"cannot reach root@127.0.0.1:{port}: Connection refused"
        ):
            async with sandlot.open_sandbox(f"ssh://root@127.0.0.1:{port}", ssh=sshd.options()):
                pass


async def test_ssh_config_is_honoured(sshd: Sshd, tmp_path: os.PathLike[str]) -> None:
    config = os.path.join(tmp_path, "config")
    write(
        config,
        f"Host sandlot-alias\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {sshd.client_key}\n  UserKnownHostsFile {sshd.known_hosts}\n",
    )
    opts = sandlot.ssh.SSHOptions(config=[config], agent=False)
    async with sandlot.open_sandbox("ssh://sandlot-alias", ssh=opts) as sb:
        assert (await sb.exec("id", ["-un"])).stdout == b"root\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_sessions": 2}, "max_sessions must be an int >= 3"),
        ({"connect_timeout": 0}, "connect_timeout must be positive"),
        ({"known_hosts": 3}, "known_hosts must be a path or a list of paths"),
        ({"password": b"x"}, "password must be a str or None"),
        ({"ciphers": []}, "ciphers must be a non-empty list"),
        ({"fast_receive": 1}, "fast_receive must be a bool, not 1"),
        ({"fast_receive": "yes"}, "fast_receive must be a bool, not 'yes'"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(sandlot.InvalidArgument, match=message):
        sandlot.ssh.SSHOptions(**kwargs)  # type: ignore[arg-type]


def test_fast_receive_is_off_by_default_and_shown_in_repr() -> None:
    assert sandlot.ssh.SSHOptions().fast_receive is False
    assert repr(sandlot.ssh.SSHOptions()).endswith(", fast_receive=False)")
    assert repr(sandlot.ssh.SSHOptions(fast_receive=True)).endswith(", fast_receive=True)")


async def test_ssh_option_must_be_sshoptions() -> None:
    with pytest.raises(sandlot.InvalidArgument, match="ssh= takes SSHOptions, not dict"):
        async with sandlot.open_sandbox("ssh://root@127.0.0.1:1", ssh={"password": "x"}):
            pass


async def test_a_missing_key_file_is_named(sshd: Sshd, tmp_path: os.PathLike[str]) -> None:
    missing = os.path.join(tmp_path, "no-such-key")
    with pytest.raises(sandlot.AuthenticationFailed) as info:
        async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options(client_keys=[missing])):
            pass
    msg = str(info.value)
    assert f"cannot read the client key {missing!r}" in msg and "No such file" in msg
    assert "reach" not in msg  # the host was never the problem


async def test_a_changed_host_key_says_changed_and_how_to_update(
    sshd: Sshd, tmp_path: os.PathLike[str]
) -> None:
    # known_hosts has a key for this host, and it is not the one the host shows: the key
    # changed (or someone is in the middle). Turning checking off is not the advice.
    other = os.path.join(tmp_path, "known_hosts")
    old_key = read(keygen(os.path.join(tmp_path, "old_host_key")) + ".pub")
    write(other, f"[127.0.0.1]:{sshd.port} {old_key}")
    with pytest.raises(sandlot.HostKeyRejected) as info:
        async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options(known_hosts=other)):
            pass
    msg = str(info.value)
    assert f"the host key of root@127.0.0.1:{sshd.port} CHANGED" in msg
    assert "man-in-the-middle" in msg
    assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}' -f {other}" in msg
    assert "known_hosts=None" not in msg and "insecure" not in msg


async def test_an_unknown_host_key_is_not_called_changed(
    sshd: Sshd, tmp_path: os.PathLike[str]
) -> None:
    other = os.path.join(tmp_path, "known_hosts")
    write(other, "")  # no key for this host at all
    with pytest.raises(sandlot.HostKeyRejected) as info:
        async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options(known_hosts=other)):
            pass
    msg = str(info.value)
    assert f"the host key of root@127.0.0.1:{sshd.port} is unknown" in msg
    assert "CHANGED" not in msg and "known_hosts=None" in msg
