"""The output byte queue shared by the Docker and sandlot+http backends."""

from __future__ import annotations

import random

from sandlot._chunks import Chunks


def test_a_chunk_that_fits_goes_out_as_it_is() -> None:
    chunks = Chunks()
    data = b"x" * 100
    chunks.append(data)
    assert chunks.take(100) is data
    assert (len(chunks), chunks.take(10)) == (0, b"")


def test_split_join_and_clear_keep_every_byte_in_order() -> None:
    chunks = Chunks()
    chunks.append(b"abc")
    chunks.append(memoryview(b"-defgh")[1:])
    chunks.append(b"")  # nothing to file
    assert len(chunks) == 8
    assert chunks.take(2) == b"ab"  # a split: the rest stays
    assert chunks.take(4) == b"cdef"  # joined across chunks
    assert isinstance(chunks.take(10), bytes)
    chunks.append(b"zz")
    chunks.clear()
    assert (len(chunks), chunks.take(1)) == (0, b"")


def test_any_sizes_in_any_reads_arrive_byte_exact() -> None:
    rng = random.Random(7)
    data = rng.randbytes(1 << 16)
    chunks, got, at = Chunks(), bytearray(), 0
    while at < len(data) or len(chunks):
        if at < len(data) and rng.random() < 0.5:
            n = rng.randint(1, 5000)
            piece = data[at : at + n]
            chunks.append(memoryview(piece) if rng.random() < 0.5 else piece)
            at += len(piece)
        else:
            size = len(chunks)
            out = chunks.take(rng.randint(1, 7000))
            assert len(chunks) == size - len(out)
            got += out
    assert bytes(got) == data
