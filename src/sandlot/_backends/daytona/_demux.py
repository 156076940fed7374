"""Demultiplexing Daytona's session log stream: stdout and stderr marked in one byte stream.

The daemon prefixes output with ``\\x01\\x01\\x01`` (stdout) or ``\\x02\\x02\\x02``
(stderr); frames may split a marker anywhere. Bytes before the first marker are dropped,
as the SDK does. Unlike the SDK's demuxer, nothing but a possible partial marker is held
back, so a quiet process's last line is never stuck waiting for more output.
"""

from __future__ import annotations

STDOUT_MARK = b"\x01\x01\x01"
STDERR_MARK = b"\x02\x02\x02"


class Demuxer:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._channel: str | None = None

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        """Add one frame; return the (channel, payload) pieces now complete, in order."""
        buf = self._buf
        buf += data
        out: list[tuple[str, bytes]] = []
        while True:
            i_out = buf.find(STDOUT_MARK)
            i_err = buf.find(STDERR_MARK)
            if i_out < 0 and i_err < 0:
                keep = 0
                for k in (2, 1):
                    if buf.endswith(STDOUT_MARK[:k]) or buf.endswith(STDERR_MARK[:k]):
                        keep = k
                        break
                self._emit(out, bytes(buf[: len(buf) - keep]))
                del buf[: len(buf) - keep]
                return out
            if i_err < 0 or 0 <= i_out < i_err:
                at, channel = i_out, "o"
            else:
                at, channel = i_err, "e"
            self._emit(out, bytes(buf[:at]))
            del buf[: at + len(STDOUT_MARK)]
            self._channel = channel

    def flush(self) -> list[tuple[str, bytes]]:
        """At the end of the stream: what was held back as a possible partial marker."""
        out: list[tuple[str, bytes]] = []
        self._emit(out, bytes(self._buf))
        self._buf.clear()
        return out

    def _emit(self, out: list[tuple[str, bytes]], payload: bytes) -> None:
        if payload and self._channel is not None:
            out.append((self._channel, payload))
