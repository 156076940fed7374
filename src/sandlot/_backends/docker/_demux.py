"""The Engine's multiplexed exec stream, parsed without any I/O: bytes in (any split),
``(stream, payload)`` pieces out, one per stream and call.

Without a tty, each write of the process comes in frames with an 8-byte header: the
stream (1 stdout, 2 stderr; 0 stdin, never sent), three zero bytes, the payload's length
as a big-endian u32. See the Engine API's "Attach to a container" section.
"""

from __future__ import annotations

import struct

__all__ = ["STDERR", "STDOUT", "Demuxer", "FrameError"]

STDOUT = 1
STDERR = 2
_HEADER = struct.Struct(">BxxxL")


class FrameError(ValueError):
    """Bytes that are not a frame: the stream is not what the Engine sends."""


class Demuxer:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._stream = 0
        self._left = 0  # payload bytes of the current frame still to come

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Add bytes; return the payload now known, one piece per stream, stdout's first
        (the order between the streams is not kept, as the Engine keeps none). A frame's
        payload may be cut between calls: nothing is held back waiting for its end;
        empty frames give nothing."""
        # Joined per stream, not one piece per frame: the Engine frames each write of
        # the process (4 KiB at a time for some), and every piece costs the reader.
        parts: tuple[list[memoryview], ...] = ([], [], [])  # by stream: 0, 1, 2
        view = memoryview(data)
        while view:
            if self._left:
                take = view[: self._left]
                self._left -= len(take)
                view = view[len(take) :]
                parts[self._stream].append(take)
                continue
            need = _HEADER.size - len(self._buf)
            self._buf += view[:need]
            view = view[need:]
            if len(self._buf) < _HEADER.size:
                break
            stream, length = _HEADER.unpack(self._buf)
            self._buf.clear()
            if stream not in (0, STDOUT, STDERR):
                raise FrameError(f"unknown stream {stream} in a frame header")
            self._stream, self._left = stream, length
        return [(s, b"".join(parts[s])) for s in (STDOUT, STDERR, 0) if parts[s]]

    def end(self) -> None:
        """The stream ended: fine only between frames."""
        if self._buf or self._left:
            raise FrameError("the stream ended inside a frame")
