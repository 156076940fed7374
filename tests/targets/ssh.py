"""A real OpenSSH sshd on 127.0.0.1 as conformance targets: as root and as a plain user.

Each pytest process (each xdist worker too) starts its own sshd on its own free port,
with throwaway host and client keys and a real known_hosts file (host keys are checked).
sshd's ``SetEnv`` tags every remote process with the leak tag, so the leak check sees
anything a test leaves running on the "remote" side.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import attrs
import pytest

import sandlot
import sandlot.ssh

from . import LEAK_TAG, LEAK_TAG_VAR, Target, infrastructure_env, processes

__all__ = ["SSHD", "sshd", "target_ssh_root", "target_ssh_user"]
TARGETS = ["target_ssh_root", "target_ssh_user"]

SSHD = "/usr/sbin/sshd"
TEST_USER = "sandlot-test"


@attrs.frozen
class Sshd:
    """A running test sshd and what a client needs to reach it."""

    port: int
    dir: str
    client_key: str
    known_hosts: str
    log: str
    pid: int

    def options(self, **kw: object) -> sandlot.ssh.SSHOptions:
        base: dict[str, object] = dict(
            known_hosts=self.known_hosts, client_keys=[self.client_key], agent=False, config=[]
        )
        base.update(kw)
        return sandlot.ssh.SSHOptions(**base)  # type: ignore[arg-type]

    def url(self, user: str) -> str:
        return f"ssh://{user}@127.0.0.1:{self.port}"

    def connection_pids(self) -> list[int]:
        """Pids of this sshd's per-connection processes (monitor and session children)."""
        parent = {pid: p.ppid for pid, p in processes().items() if p.name == "sshd"}
        found: list[int] = []
        frontier = [self.pid]
        while frontier:
            pid = frontier.pop()
            children = [c for c, p in parent.items() if p == pid]
            found += children
            frontier += children
        return found

    @contextlib.contextmanager
    def partition(self) -> Iterator[None]:
        """Freeze sshd (its listener and every connection process): connections stay open
        but nothing answers, and new ones are accepted by the kernel but never served."""
        pids = [self.pid, *self.connection_pids()]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"sshd is required in CI: {reason}")
    pytest.skip(reason)


def _ensure_user() -> None:
    """Create the test user if missing: unlocked (sshd refuses locked accounts), and in
    group tty (a pty needs it where devpts lacks gid=5). Idempotent, and retried: other
    pytest processes may be editing /etc/passwd at the same moment."""
    for _attempt in range(20):
        try:
            pwd.getpwnam(TEST_USER)
        except KeyError:
            cmd = ["useradd", "-m", "-s", "/bin/sh", "-G", "tty", TEST_USER]
        else:
            with open("/etc/shadow") as f:
                locked = any(
                    line.split(":")[:2] != [TEST_USER, "*"]
                    for line in f
                    if line.startswith(f"{TEST_USER}:")
                )
            if not locked and TEST_USER in grp.getgrnam("tty").gr_mem:
                return
            cmd = ["usermod", "-p", "*", "-aG", "tty", TEST_USER]
        if subprocess.run(cmd, capture_output=True, check=False).returncode == 0:
            continue
        time.sleep(0.1)  # /etc/passwd is locked by another process: try again
    pytest.fail(f"could not create or unlock the test user {TEST_USER}")


def _keygen(path: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sandlot-test", "-f", path],
        check=True,
    )
    with open(path + ".pub") as f:
        return f.read().strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp: str, port: int) -> tuple[subprocess.Popen[bytes], str]:
    config = os.path.join(tmp, "sshd_config")
    with open(config, "w") as f:
        f.write(
            f"ListenAddress 127.0.0.1\nPort {port}\n"
            f"HostKey {tmp}/host_ed25519\nPidFile none\n"
            f"AuthorizedKeysFile {tmp}/authorized_keys\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            "Subsystem sftp internal-sftp\nMaxSessions 10\n"
            # SHLVL=1: bash then skips ~/.bashrc for ssh commands. A root .bashrc that runs
            # `pyenv init` made every channel (kills included) ~200 ms slower, and tests
            # with short deadlines flaky under load; the user's start-up files are not
            # what these tests are about.
            f"SetEnv {LEAK_TAG_VAR}={LEAK_TAG} SHLVL=1\n"
        )
    log = os.path.join(tmp, f"sshd-{port}.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", config],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=infrastructure_env(),
        )
    return proc, log


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    if not os.path.exists(SSHD):
        _unavailable(f"{SSHD} is not installed (Debian package openssh-server)")
    if not shutil.which("ssh-keygen"):
        _unavailable("ssh-keygen is not installed")
    if os.geteuid() != 0:
        _unavailable("the sshd fixture needs root (to run sshd and add a test user)")
    os.makedirs("/run/sshd", exist_ok=True)
    _ensure_user()
    tmp = tempfile.mkdtemp(prefix="sandlot-sshd-")
    os.chmod(tmp, 0o755)  # sshd reads authorized_keys as the test user
    try:
        host_pub = _keygen(os.path.join(tmp, "host_ed25519"))
        client_pub = _keygen(os.path.join(tmp, "client_ed25519"))
        with open(os.path.join(tmp, "authorized_keys"), "w") as f:
            f.write(client_pub + "\n")
        os.chmod(os.path.join(tmp, "authorized_keys"), 0o644)
        for _attempt in range(5):
            port = _free_port()
            proc, log = _start(tmp, port)
            deadline = time.monotonic() + 10
            text = ""
            while time.monotonic() < deadline and proc.poll() is None:
                with open(log) as f:
                    text = f.read()
                if "Server listening on" in text:
                    break
                time.sleep(0.02)  # no event to wait on: sshd only tells us in its log
            if "Server listening on" in text:
                break
            proc.kill()
            proc.wait()
            if "Address already in use" not in text:
                pytest.fail(f"sshd did not start: {text}")
        else:
            pytest.fail("sshd could not find a free port")
        known = os.path.join(tmp, "known_hosts")
        with open(known, "w") as f:
            f.write(f"[127.0.0.1]:{port} {host_pub}\n")
        yield Sshd(port, tmp, os.path.join(tmp, "client_ed25519"), known, log, proc.pid)
        proc.terminate()
        proc.wait(timeout=10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def target_ssh_root(sshd: Sshd) -> Target:
    return Target(
        name="ssh_root",
        open=lambda: sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options(), kill_grace=0.2),
    )


@pytest.fixture(scope="session")
def target_ssh_user(sshd: Sshd) -> Target:
    return Target(
        name="ssh_user",
        open=lambda: sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options(), kill_grace=0.2),
    )
