"""The spawn socket's output pump without a server: byte-exact, fewer frames while the
peer is busy, and bounded (a peer that does not take frames holds the producer back)."""

from __future__ import annotations

import anyio
import anyio.lowlevel

from sandlot._serve import _live


class _Source:
    """A byte stream of ``chunks`` that counts what was read from it."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.read = 0
        self.past_a_frame = anyio.Event()  # set once more than one frame's worth was read

    async def receive(self, max_bytes: int) -> bytes:
        await anyio.lowlevel.checkpoint()
        if not self.chunks:
            raise anyio.EndOfStream
        chunk = self.chunks.pop(0)
        assert len(chunk) <= max_bytes
        self.read += len(chunk)
        if self.read > _live._OUT_FRAME_BYTES:
            self.past_a_frame.set()
        return chunk


async def test_pump_coalesces_while_the_peer_is_busy_and_stays_bounded() -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB
    total = 64 * len(chunk)  # 4 MiB: four times the bound
    source = _Source([chunk] * 64)
    frames: list[bytes] = []
    release = anyio.Event()

    async def send(frame: bytes) -> None:
        frames.append(frame)
        if len(frames) == 1:
            await release.wait()  # a busy peer: the first frame is not taken yet

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_live._pump, source, 1, send)
            await source.past_a_frame.wait()
            for _ in range(50):  # room for the reader to overshoot, were it not bounded
                await anyio.lowlevel.checkpoint()
            # held back: one frame in flight, at most one frame's worth gathered
            assert source.read == len(frames[0]) - 1 + _live._OUT_FRAME_BYTES
            release.set()
    assert all(frame[:1] == b"\x01" for frame in frames)
    assert b"".join(frame[1:] for frame in frames) == chunk * 64
    assert all(len(frame) <= 1 + _live._OUT_FRAME_BYTES for frame in frames)
    assert len(frames) < total // len(chunk)
