"""A faster receive path for SSH channel data, installed per asyncssh connection, only
when asked for (``SSHOptions(fast_receive=True)``: experimental, off by default).

Why: a bulk stdout read over SSH is CPU-bound in the client. asyncssh 2.24 spends ~1.3 s
of CPU per GiB received (~40 us of Python per 32 KiB packet, the size sshd sends): its
input buffer is ``bytes`` re-sliced per packet (each 256 KiB socket read is copied
again for every packet it holds), and each packet builds a new ``AESGCM`` object,
concatenates ciphertext and tag, slices the payload several times, builds an
``SSHPacket`` and logs it. That capped ``exec`` output at ~690 MiB/s, below the ``ssh``
command's ~880 MiB/s on the same machine.

What: :func:`install` gives one connection an input buffer that consumes from the front
in O(1) and a packet-header handler that, for CHANNEL_DATA and CHANNEL_EXTENDED_DATA with
an AES-GCM cipher, no compression, authentication done and no key exchange under way,
decrypts straight from that buffer with one cached ``AESGCM`` per key and hands the data
to the channel's own ``_accept_data`` (asyncssh's window accounting, WINDOW_ADJUST and
pause/resume buffering, unchanged). Every other packet, and any packet failing a check
(bad tag, wrong length, unknown channel, window exceeded, ...), goes to asyncssh's own
handler, which decrypts it again and raises its own errors; nothing is consumed before
that decision. It relies on asyncssh internals, so it installs only on the asyncssh
versions it was tested with and only if every private name it uses is present;
otherwise the connection keeps asyncssh's path, as it does while asyncssh's debug level
(2+) logs every packet. Overrides are instance attributes: other asyncssh connections in
the process are unaffected.

Figures (``bench/ssh_cpu.py``, 2 cores): ~0.7 s of CPU per GiB instead of ~1.2-1.3 s, and
``exec`` stdout at ~1200 MiB/s on asyncio (``bench/ssh.py``; docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

import asyncssh

__all__ = ["install"]

#: asyncssh versions whose receive path this module was checked against.
_TESTED_VERSIONS = frozenset({"2.24.1"})
_MSG_CHANNEL_DATA = 94
_MSG_CHANNEL_EXTENDED_DATA = 95
_TAG = 16
#: Buffer space consumed at the front is reclaimed once it exceeds this (and half).
_COMPACT = 1 << 16
#: Socket read size (asyncio reads 256 KiB): with the O(1) buffer a big read costs no
#: more per byte, and fewer reads mean fewer wake-ups of the reader; under trio each is
#: a thread hop (trio stdout ~750 -> ~1000 MiB/s in bench/ssh.py).
_READ_SIZE = 1 << 20

_CONN_ATTRS = (
    "_inpbuf", "_recv_handler", "_recv_pkthdr", "_recv_data", "_recv_encryption",
    "_recv_seq", "_max_recv_pktlen", "_decompressor", "_kex", "_kex_complete",
    "_auth_complete", "_auth_final", "_channels", "_transport", "logger",
)  # fmt: skip
_CHANNEL_ATTRS = (
    "_accept_data", "_process_data", "_process_extended_data", "_packet_handlers",
    "_read_datatypes",
)  # fmt: skip
#: Set by SSHChannel.__init__, checked on a class's first channel.
_CHANNEL_INSTANCE_ATTRS = ("_recv_state", "_recv_window", "_send_state", "_recv_paused")


class _Buf:
    """The connection's input buffer: as much of ``bytes`` as asyncssh uses on it
    (``+=``, ``len``, truth, ``find``, ``[a:b]`` copies, ``[a:]`` consumes in place)."""

    __slots__ = ("b", "o")

    def __init__(self, data: bytes) -> None:
        self.b = bytearray(data)
        self.o = 0  # consumed bytes at the front of b

    def __len__(self) -> int:
        return len(self.b) - self.o

    def __bool__(self) -> bool:
        return len(self.b) > self.o

    def __iadd__(self, data: bytes) -> _Buf:
        o = self.o
        if o:
            if o >= len(self.b):
                self.b.clear()
                self.o = 0
            elif o > _COMPACT and 2 * o > len(self.b):
                del self.b[:o]
                self.o = 0
        self.b += data
        return self

    def __getitem__(self, s: slice) -> Any:
        start, stop = s.start or 0, s.stop
        if s.step is not None or start < 0 or (stop is not None and stop < 0):
            raise TypeError("unsupported slice of the SSH input buffer")
        if stop is None:  # buf = buf[n:]: consume n bytes
            self.o = min(self.o + start, len(self.b))
            return self
        o = self.o
        return bytes(self.b[o + start : o + min(stop, len(self.b) - o)])

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        o = self.o
        i = self.b.find(sub, o + start, len(self.b) if end is None else o + end)
        return i - o if i >= 0 else -1


class _State:
    """Per-connection cache and counters (``packets``: data packets taken by the fast
    path; ``keys``: receive keys it has decrypted with, i.e. 1 + rekeys seen)."""

    __slots__ = ("aead", "cipher", "enc", "keys", "packets")

    def __init__(self) -> None:
        self.enc: Any = None  # the Encryption object aead was made for
        self.aead: Any = None  # an AESGCM for enc's key, or None: not ours to handle
        self.cipher: Any = None
        self.packets = 0
        self.keys = 0


def _imports() -> tuple[Any, ...] | None:
    try:
        from asyncssh.channel import SSHChannel
        from asyncssh.connection import SSHConnection
        from asyncssh.crypto.cipher import GCMCipher
        from asyncssh.encryption import GCMEncryption
        from asyncssh.logging import SSHLogger
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        return None
    return SSHChannel, SSHConnection, GCMCipher, GCMEncryption, SSHLogger, InvalidTag, AESGCM


def install(conn: asyncssh.SSHClientConnection) -> bool:
    """Give ``conn`` the fast receive path; False (``conn`` untouched) if this asyncssh
    is not one it knows. Call it on ``conn``'s event loop thread, once connected."""
    if asyncssh.__version__ not in _TESTED_VERSIONS:
        return False
    found = _imports()
    if found is None:
        return False
    SSHChannel, SSHConnection, GCMCipher, GCMEncryption, SSHLogger, InvalidTag, AESGCM = found
    c: Any = conn  # asyncssh private attributes from here on
    if (
        not isinstance(c, SSHConnection)
        or "_fastpath" in vars(c)
        or not all(hasattr(c, a) for a in _CONN_ATTRS)
        or not all(hasattr(SSHChannel, a) for a in _CHANNEL_ATTRS)
        or not all(hasattr(GCMCipher, a) for a in ("_update_iv", "verify_and_decrypt"))
        or not hasattr(SSHLogger, "_debug_level")
        or not isinstance(c._inpbuf, bytes)
    ):
        return False
    process_data = SSHChannel._packet_handlers.get(_MSG_CHANNEL_DATA)
    process_ext = SSHChannel._packet_handlers.get(_MSG_CHANNEL_EXTENDED_DATA)
    if process_data is None or process_ext is None:
        return False
    slow = c._recv_pkthdr  # asyncssh's bound method
    st = _State()
    plain_channels: dict[type, bool] = {}

    def plain(chan: Any) -> bool:
        """Whether chan's class handles data with SSHChannel's own methods."""
        cls = type(chan)
        ok = plain_channels.get(cls)
        if ok is None:
            handlers = getattr(cls, "_packet_handlers", {})
            ok = (
                handlers.get(_MSG_CHANNEL_DATA) is process_data
                and handlers.get(_MSG_CHANNEL_EXTENDED_DATA) is process_ext
                and all(hasattr(chan, a) for a in _CHANNEL_INSTANCE_ATTRS)
            )
            plain_channels[cls] = ok
        return ok

    def new_keys(enc: Any) -> None:
        st.enc = enc
        st.aead = st.cipher = None
        if type(enc) is GCMEncryption:
            cipher = getattr(enc, "_cipher", None)
            key = getattr(cipher, "_key", None)
            if type(cipher) is GCMCipher and isinstance(key, bytes) and len(key) in (16, 32):
                st.aead = AESGCM(key)
                st.cipher = cipher
                st.keys += 1

    def recv_pkthdr() -> bool:
        buf = c._inpbuf
        enc = c._recv_encryption
        if enc is not st.enc:
            new_keys(enc)
        aead = st.aead
        if (
            aead is None
            or type(buf) is not _Buf
            or c._decompressor is not None
            or c._kex is not None
            or not c._kex_complete
            or not c._auth_complete
            or SSHLogger._debug_level >= 2  # asyncssh logs every data packet from level 2
        ):
            return slow()  # type: ignore[no-any-return]
        b = buf.b
        o = buf.o
        if len(b) - o < 4:
            return False
        pktlen = int.from_bytes(b[o : o + 4], "big")
        end = o + 4 + pktlen + _TAG
        if len(b) < end:
            # asyncssh checks the length as soon as a block is in; so does this
            if pktlen > c._max_recv_pktlen and len(b) - o >= 16:
                return slow()  # type: ignore[no-any-return]
            return False
        if pktlen > c._max_recv_pktlen or pktlen < 16:
            return slow()  # type: ignore[no-any-return]
        view = memoryview(b)  # released before anything can resize b
        try:
            pt = aead.decrypt(st.cipher._iv, view[o + 4 : end], view[o : o + 4])
        except InvalidTag:
            pt = None
        finally:
            view.release()
        if pt is None:
            return slow()  # type: ignore[no-any-return]  # which raises the MAC error
        stop = len(pt) - pt[0]  # the end of the payload, before the padding
        kind = pt[1]
        if kind == _MSG_CHANNEL_DATA:
            datatype = None
            start = 10
        elif kind == _MSG_CHANNEL_EXTENDED_DATA:
            datatype = int.from_bytes(pt[6:10], "big")
            start = 14
        else:
            return slow()  # type: ignore[no-any-return]
        n = int.from_bytes(pt[start - 4 : start], "big")
        chan = c._channels.get(int.from_bytes(pt[2:6], "big"))
        if (
            pt[0] < 4
            or start + n != stop
            or chan is None
            or chan._recv_state != "open"
            or n > chan._recv_window
            or not plain(chan)
            or (datatype is not None and datatype not in chan._read_datatypes)
        ):
            return slow()  # type: ignore[no-any-return]  # it raises the protocol error
        # Committed: consume the packet as asyncssh would, then hand the data over.
        st.cipher._update_iv()
        buf.o = end
        seq = c._recv_seq
        st.packets += 1
        chan._accept_data(pt[start:stop], datatype)
        c._auth_final = True
        if c._transport:
            c._recv_seq = (seq + 1) & 0xFFFFFFFF
        return True

    c._inpbuf = _Buf(c._inpbuf)
    c._recv_pkthdr = recv_pkthdr
    c._fastpath = st
    transport = c._transport
    if isinstance(getattr(transport, "max_size", None), int):  # asyncio's selector transport
        transport.max_size = max(transport.max_size, _READ_SIZE)
    if getattr(c._recv_handler, "__func__", None) is SSHConnection._recv_pkthdr:
        c._recv_handler = recv_pkthdr
    return True


def _state(conn: asyncssh.SSHClientConnection) -> _State | None:
    """The fast path's counters on ``conn``, if installed (for tests and benches)."""
    st = vars(conn).get("_fastpath")
    return st if isinstance(st, _State) else None
