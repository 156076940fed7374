"""A byte queue for a process's output: the chunks as they came, copied only when read.

A transport files what it receives (a read of a socket, a message) as it is, and a
reader takes up to ``max_bytes``: a chunk that fits goes out as it is (``bytes`` is not
copied), a larger one is split through a ``memoryview`` (no copy of what stays), and
small ones are joined (one copy).
"""

from __future__ import annotations

import collections

__all__ = ["Chunks"]


class Chunks:
    """Bytes in arrival order, with their total size (``len``)."""

    def __init__(self) -> None:
        self._chunks: collections.deque[bytes | memoryview] = collections.deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes | memoryview) -> None:
        if data:
            self._chunks.append(data)
            self._size += len(data)

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` (at least 1) from the front; ``b""`` when empty."""
        chunks = self._chunks
        if not chunks:
            return b""
        first = chunks.popleft()
        if len(first) > max_bytes:
            view = memoryview(first)
            chunks.appendleft(view[max_bytes:])
            out = view[:max_bytes].tobytes()
        elif chunks and len(first) < max_bytes:
            parts = [first]
            room = max_bytes - len(first)
            while chunks and room > 0:
                chunk = chunks.popleft()
                if len(chunk) > room:
                    view = memoryview(chunk)
                    chunks.appendleft(view[room:])
                    chunk = view[:room]
                parts.append(chunk)
                room -= len(chunk)
            out = b"".join(parts)
        else:
            out = bytes(first)  # the same object when it is bytes
        self._size -= len(out)
        return out

    def clear(self) -> None:
        self._chunks.clear()
        self._size = 0
