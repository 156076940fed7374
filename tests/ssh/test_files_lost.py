"""A connection lost during read_file / write_file: ConnectionLost, and nothing else (no
raw asyncssh error, no FileError, no "Task exception was never retrieved" noise)."""

from __future__ import annotations

import asyncio
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
    # The error's traceback holds the transfer's frames: let them go, so that a task they
    # leaked is collected (and reported) here, not in a later test.
    errors.clear()
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


class Relay:
    """A TCP relay to sshd whose ``cut`` ends the client's side with a FIN, as a peer that
    closes the connection: asyncssh then fails every pending request with ConnectionLost."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []
        self.clients: list[asyncio.StreamWriter] = []
        self.is_cut = False
        self.served: list[asyncio.Future[object]] = []

    async def __aenter__(self) -> int:
        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while (data := await src.read(1 << 16)) and not self.is_cut:
                    dst.write(data)
                    await dst.drain()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.clients.append(writer)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writers += [writer, up_writer]
            self.served.append(asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer)))
            await self.served[-1]

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def cut(self) -> None:
        self.is_cut = True
        for writer in self.clients:
            writer.write_eof()  # a FIN: closing with unread data would send a reset

    async def __aexit__(self, *exc_info: object) -> None:
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.served)  # each pipe ends at its closed stream
        self.server.close()
        await self.server.wait_closed()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the loop side of the transport
@pytest.mark.parametrize("op", ["read", "write"])
async def test_a_transfer_cut_by_a_lost_connection_leaves_no_task_behind(
    sshd: Sshd, big_file: str, op: str, caplog: pytest.LogCaptureFixture
) -> None:
    """When the connection goes, every request in flight fails at once with asyncssh's
    ConnectionLost (neither an SFTPError nor an OSError): asyncssh's own parallel reader
    and writer then re-raise the first and leave the others' tasks unretrieved and running.
    Ours ends every request it started and retrieves each one's error."""
    from sandlot._backends.ssh import _files

    caplog.set_level(logging.DEBUG, logger="asyncio")
    target = f"/tmp/sandlot-up-{uuid.uuid4().hex}"
    path = big_file if op == "read" else target
    relay = Relay(sshd.port)
    async with (
        relay as port,
        asyncssh.connect(
            "127.0.0.1",
            port,
            username="root",
            known_hosts=sshd.known_hosts,
            host_key_alias=f"[127.0.0.1]:{sshd.port}",  # the key known for sshd's own port
            client_keys=[sshd.client_key],
            agent_path=None,
            config=[],
        ) as conn,
    ):
        before = asyncio.all_tasks()
        transfer = asyncio.ensure_future(
            _files.read(conn, big_file)
            if op == "read"
            else _files.write(conn, target, bytes(SIZE // 4), None)
        )
        with anyio.fail_after(30):
            while True:
                if open_by(sshd, path):
                    break
                await asyncio.sleep(0.005)  # a condition to poll: sshd's side is out of sight
            relay.cut()
            # (A request sent after the channel closed fails with an SFTP error of the
            # connection instead.)
            with pytest.raises((asyncssh.ConnectionLost, *_files.CONNECTION_ERRORS)):
                await transfer
            for _ in range(3):
                await asyncio.sleep(0)  # let cancelled tasks take their last steps
        left = {t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()}
        assert not left, left
    del transfer
    gc.collect()  # an unretrieved task exception is reported when its task is collected
    assert "never retrieved" not in caplog.text, caplog.text
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)


async def test_read_file_reads_past_the_size_stat_gives(sshd: Sshd) -> None:
    """A /proc file says its size is 0: read_file still returns what it holds, as locally."""
    expected = await anyio.Path("/proc/version").read_bytes()
    async with sandlot.open_sandbox(sshd.url("root"), ssh=sshd.options()) as sb:
        assert await sb.read_file("/proc/version") == expected
