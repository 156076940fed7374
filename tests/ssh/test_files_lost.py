"""A connection lost during read_file / write_file: ConnectionLost, and nothing else (no
raw asyncssh error, no FileError, no "Task exception was never retrieved" noise)."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import uuid
from collections.abc import Iterator

import anyio
import asyncssh
import pytest

import sandlot
from targets.ssh import Sshd

from .test_connection_lost import LOST_WITHIN, kill_connections

SIZE = 256 << 20  # big enough to be in flight for a while


def open_by(sshd: Sshd, path: str) -> bool:
    """True once an sshd process of the connection (the SFTP server) has ``path`` open:
    the transfer is in flight."""
    for pid in sshd.connection_pids():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                        return True
    return False


@pytest.fixture(scope="module")
def big_file() -> Iterator[str]:
    path = f"/tmp/sandlot-big-{uuid.uuid4().hex}"
    with open(path, "wb") as f:
        f.truncate(SIZE)  # sparse: zeroes cost no disk
    yield path
    os.unlink(path)


@pytest.mark.parametrize("op", ["read", "write"])
async def test_connection_lost_mid_transfer_is_connection_lost_and_quiet(
    sshd: Sshd,
    big_file: str,
    op: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    target = f"/tmp/sandlot-up-{uuid.uuid4().hex}"
    async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options()) as sb:
        errors: list[BaseException] = []

        async def transfer() -> None:
            try:
                if op == "read":
                    await sb.read_file(big_file)
                else:
                    await sb.write_file(target, bytes(SIZE // 4))
            except BaseException as exc:
                errors.append(exc)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(transfer)
                path = big_file if op == "read" else target
                while True:
                    if open_by(sshd, path):
                        break
                    await anyio.sleep(0.005)  # a condition to poll: sshd's side is out of sight
                kill_connections(sshd)
                lost_at = anyio.current_time()
            assert anyio.current_time() - lost_at < LOST_WITHIN
        assert len(errors) == 1 and type(errors[0]) is sandlot.ConnectionLost, errors
        assert "was lost" in str(errors[0])
        assert (await sb.exec("echo", ["back"])).stdout == b"back\n"
    gc.collect()  # an unretrieved task exception is reported when its task is collected
    out, err = capfd.readouterr()
    for text in (out, err, caplog.text):
        assert "never retrieved" not in text and "Traceback" not in text, text
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)


@pytest.mark.parametrize(
    "exc",
    [
        asyncssh.SFTPConnectionLost("Connection lost"),
        # What a request sent just after the channel closed gets (seen under load).
        asyncssh.SFTPNoConnection("Connection not open"),
    ],
    ids=["lost", "not-open"],
)
async def test_an_sftp_error_of_the_connection_is_not_a_file_error(exc: Exception) -> None:
    from sandlot._backends.ssh import _files

    with pytest.raises(type(exc)) as info:
        await _files.error_of(None, exc, "/some/file")  # type: ignore[arg-type]
    assert info.value is exc
