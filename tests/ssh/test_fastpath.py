"""The fast SSH receive path: opt-in (``SSHOptions(fast_receive=True)``); by default a
connection keeps asyncssh's own receive path. When opted in: byte-exact on stdout and
stderr, across rekeys; asyncssh's own path for other ciphers and unknown versions."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from typing import Any

import anyio
import asyncssh
import pytest

import sandlot
import sandlot.ssh
from sandlot._backends.ssh import _fastpath
from targets.ssh import TEST_USER, Sshd

CHUNK = random.Random(3).randbytes(1 << 20)  # 1 MiB: every byte value, no period
REPEAT = 20
# stdout and stderr interleaved, chunk by chunk.
INTERLEAVED = 'for i in $(seq {n}); do cat "$0"; cat "$0" >&2; done'
ASYNCIO_ONLY = pytest.mark.parametrize("anyio_backend", ["asyncio"])
# The fast path installs only on the asyncssh versions it was checked against: elsewhere
# (a newer asyncssh, CI's lowest-versions leg) there is nothing of it to test but the
# refusal (test_install_refuses_unknown_versions_... fakes an unknown version instead).
KNOWN_ASYNCSSH = pytest.mark.skipif(
    asyncssh.__version__ not in _fastpath._TESTED_VERSIONS,
    reason=f"the fast path does not install on asyncssh {asyncssh.__version__}",
)


def conns(sb: sandlot.Sandbox) -> list[Any]:
    return [c.ssh for c in sb._transport._pool.conns]  # type: ignore[attr-defined]


async def interleaved(sb: sandlot.Sandbox) -> None:
    """Send REPEAT MiB on stdout and as much on stderr, interleaved; check every byte."""
    path = f"/tmp/sandlot-fastpath-{uuid.uuid4().hex}"
    await sb.write_file(path, CHUNK, mode=0o644)
    try:
        with anyio.fail_after(60):  # a broken receive path may stall rather than fail
            result = await sb.exec("sh", ["-c", INTERLEAVED.format(n=REPEAT), path])
    finally:
        await sb.exec("rm", ["-f", path])
    assert result.exit == sandlot.ExitStatus(code=0)
    expected = hashlib.sha256(CHUNK * REPEAT).hexdigest()
    assert len(result.stdout) == len(result.stderr) == REPEAT << 20
    assert hashlib.sha256(result.stdout).hexdigest() == expected
    assert hashlib.sha256(result.stderr).hexdigest() == expected


def patched(conn: Any) -> list[str]:
    """What _fastpath.install put on ``conn``: attributes holding its objects (buffer,
    handlers, state) and a raised socket read size. It looks at instance attributes
    only, so it runs on any asyncssh version."""
    names = [
        k
        for k, v in vars(conn).items()
        if isinstance(v, _fastpath._Buf | _fastpath._State)
        or getattr(v, "__module__", None) == _fastpath.__name__
    ]
    transport = getattr(conn, "_transport", None)
    if transport is not None and "max_size" in vars(transport):
        names.append("transport.max_size")
    return sorted(names)


async def test_by_default_connections_keep_asyncssh_receive_path(sshd: Sshd) -> None:
    assert sandlot.ssh.SSHOptions().fast_receive is False
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=sshd.options()) as sb:
        await interleaved(sb)
        cs = conns(sb)
        assert cs
        assert [patched(c) for c in cs] == [[]] * len(cs)


@KNOWN_ASYNCSSH
async def test_sandlot_connections_take_the_fast_path_byte_exact(sshd: Sshd) -> None:
    opts = sshd.options(fast_receive=True)
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=opts) as sb:
        await interleaved(sb)
        states = [_fastpath._state(c) for c in conns(sb)]
        read_sizes = {c._transport.max_size for c in conns(sb)}
        names = [patched(c) for c in conns(sb)]
    expected = ["_fastpath", "_inpbuf", "_recv_handler", "_recv_pkthdr", "transport.max_size"]
    assert names == [expected] * len(names)  # what the default test checks is absent
    assert states and all(st is not None for st in states)
    # 2 x 20 MiB in <= 32 KiB packets: stdout (DATA) and stderr (EXTENDED_DATA) both count.
    assert sum(st.packets for st in states if st) >= 2 * REPEAT * 32
    assert [st.keys for st in states if st] == [1] * len(states)
    assert read_sizes == {1 << 20}  # fewer, larger socket reads


@KNOWN_ASYNCSSH
@pytest.mark.parametrize("cipher", ["aes128-ctr", "chacha20-poly1305@openssh.com"])
async def test_other_ciphers_keep_asyncssh_path(sshd: Sshd, cipher: str) -> None:
    opts = sshd.options(ciphers=[cipher], fast_receive=True)
    async with sandlot.open_sandbox(sshd.url(TEST_USER), ssh=opts) as sb:
        await interleaved(sb)
        states = [_fastpath._state(c) for c in conns(sb)]
        assert [c.get_extra_info("recv_cipher") for c in conns(sb)] == [cipher] * len(states)
    # Installed (the version is known), but never used: no AES-GCM key.
    assert states and all(st is not None and (st.packets, st.keys) == (0, 0) for st in states)


async def connect(sshd: Sshd, **kw: Any) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1", sshd.port, username=TEST_USER, known_hosts=sshd.known_hosts,
        client_keys=[sshd.client_key], agent_path=None, config=[],
        encryption_algs=["aes128-gcm@openssh.com"], **kw,
    )  # fmt: skip


@KNOWN_ASYNCSSH
@ASYNCIO_ONLY
async def test_rekeys_mid_stream_keep_bytes_exact(sshd: Sshd) -> None:
    # rekey_bytes counts what the client sends: 24 MiB of stdin rekeys every 1 MiB while
    # the echo comes back on stdout and stderr.
    data = random.Random(5).randbytes(24 << 20)
    async with await connect(sshd, rekey_bytes=1 << 20) as conn:
        assert _fastpath.install(conn)
        proc = await conn.create_process("tee /dev/stderr", encoding=None)

        async def feed() -> None:
            for i in range(0, len(data), 1 << 16):
                proc.stdin.write(data[i : i + (1 << 16)])
                await proc.stdin.drain()
            proc.stdin.write_eof()

        with anyio.fail_after(60):
            out, err, _ = await asyncio.gather(proc.stdout.read(), proc.stderr.read(), feed())
            await proc.wait()
        st = _fastpath._state(conn)
    expected = hashlib.sha256(data).hexdigest()
    assert len(out) == len(err) == len(data)
    assert hashlib.sha256(out).hexdigest() == hashlib.sha256(err).hexdigest() == expected
    assert st is not None
    assert st.keys >= 10  # the first key and the rekeys
    # Packets arriving while a key exchange runs take asyncssh's path (~1/3 here).
    assert st.packets >= 24 * 32 // 2


@KNOWN_ASYNCSSH
@ASYNCIO_ONLY
async def test_a_bad_mac_still_closes_the_connection(sshd: Sshd) -> None:
    lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    class Client(asyncssh.SSHClient):
        def connection_lost(self, exc: Exception | None) -> None:
            lost.set_result(exc)

    async with await connect(sshd, client_factory=Client) as conn:
        assert _fastpath.install(conn)
        assert (await conn.run("echo hi", check=True)).stdout == "hi\n"
        # A whole packet (length 32) whose tag cannot match: asyncssh's own path decides.
        conn.data_received(b"\x00\x00\x00\x20" + bytes(48))  # type: ignore[arg-type]
        with anyio.fail_after(5):
            exc = await lost
    assert isinstance(exc, asyncssh.MACError)
    assert exc.reason == "MAC verification failed"


@ASYNCIO_ONLY
async def test_install_refuses_unknown_versions(
    sshd: Sshd, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await connect(sshd) as conn:
        monkeypatch.setattr(asyncssh, "__version__", "2.99.0")
        assert not _fastpath.install(conn)
        assert patched(conn) == []
        assert (await conn.run("echo hi", check=True)).stdout == "hi\n"


@KNOWN_ASYNCSSH
@ASYNCIO_ONLY
async def test_install_once_and_leaves_others_alone(sshd: Sshd) -> None:
    async with await connect(sshd) as plain, await connect(sshd) as fast:
        assert _fastpath.install(fast)
        assert not _fastpath.install(fast)  # once per connection
        # The other connection, and asyncssh's classes, are untouched.
        assert patched(plain) == []
        assert type(plain._inpbuf) is bytes  # type: ignore[attr-defined]
        for c in (plain, fast):
            run = await c.run("head -c 3000000 /dev/zero", encoding=None, check=True)
            assert run.stdout == bytes(3000000)
        st = _fastpath._state(fast)
        assert st is not None and st.packets >= 3000000 // 32768


async def echo_both(conn: asyncssh.SSHClientConnection) -> None:
    """4 MiB of stdin back on stdout and stderr, byte-exact."""
    data = random.Random(7).randbytes(4 << 20)
    with anyio.fail_after(60):
        run = await conn.run("tee /dev/stderr", input=data, encoding=None, check=True)
    assert run.stdout == data
    assert run.stderr == data


@KNOWN_ASYNCSSH
@ASYNCIO_ONLY
async def test_compression_keeps_asyncssh_path(sshd: Sshd) -> None:
    async with await connect(sshd, compression_algs=["zlib@openssh.com"]) as conn:
        assert conn.get_extra_info("recv_compression") == "zlib@openssh.com"
        assert _fastpath.install(conn)
        await echo_both(conn)
        st = _fastpath._state(conn)
    assert st is not None and st.keys == 1 and st.packets == 0


@KNOWN_ASYNCSSH
@ASYNCIO_ONLY
async def test_packet_logging_keeps_asyncssh_path(sshd: Sshd) -> None:
    # From debug level 2 asyncssh logs every data packet: its own path keeps those logs.
    from asyncssh.logging import SSHLogger

    async with await connect(sshd) as conn:
        assert _fastpath.install(conn)
        level = SSHLogger._debug_level
        asyncssh.set_debug_level(2)
        try:
            await echo_both(conn)
        finally:
            asyncssh.set_debug_level(level)
        st = _fastpath._state(conn)
        assert st is not None and st.packets == 0
        await echo_both(conn)
        assert st.packets >= 2 * 4 * 32
