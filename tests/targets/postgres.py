"""A PostgreSQL server for the test session (the sandbox records' tests, the examples):
``initdb`` in a temporary directory, a private port on 127.0.0.1, as ``nobody`` when the
tests run as root (postgres refuses root). Not a conformance target: no ``TARGETS``."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from . import infrastructure_env

__all__ = ["Postgres", "postgres"]


@attrs.frozen
class Postgres:
    port: int
    user: str = "sandlot"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a fresh, empty place for records: a schema of its own (first on the
        search path), much cheaper than a database."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url() + f"?options=-csearch_path%3D{name}"


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"a PostgreSQL server is required in CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bindir = _pg_bin()
    if bindir is None:
        _unavailable("initdb is not installed (Debian package postgresql)")
        return
    # postgres refuses to run as root: as root, run it as nobody.
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
    tmp = Path(tempfile.mkdtemp(prefix="sandlot-pg-"))
    if as_user:
        nobody = pwd.getpwnam("nobody")
        os.chown(tmp, nobody.pw_uid, nobody.pw_gid)
    env = infrastructure_env()
    data, log = tmp / "data", tmp / "log"
    subprocess.run(
        [*as_user, f"{bindir}/initdb", "-D", str(data), "-U", "sandlot", "--auth=trust", "-E",
         "UTF8", "--no-sync"],
        check=True, capture_output=True, env=env, cwd=tmp,
    )  # fmt: skip
    port = _free_port()
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [*as_user, f"{bindir}/postgres", "-D", str(data), "-p", str(port),
             "-k", str(tmp), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=tmp,
        )  # fmt: skip
    server = Postgres(port)
    try:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(server.url(), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start: {log.read_text()}") from None
                time.sleep(0.05)  # poll for the condition: the server accepts connections
        yield server
    finally:
        proc.terminate()  # SIGTERM: "smart" shutdown; our clients are gone by now
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
