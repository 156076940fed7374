"""The Docker backend without I/O: the Engine's frames, the exit report, and a process fed
from a replayed connection."""

from __future__ import annotations

import struct

import pytest

import sandlot
from sandlot._backends.docker._demux import STDERR, STDOUT, Demuxer, FrameError
from sandlot._backends.docker._report import ExitReport


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def demux_all(data: bytes, step: int) -> dict[int, bytes]:
    d = Demuxer()
    out = {STDOUT: b"", STDERR: b""}
    for i in range(0, len(data), step):
        for stream, payload in d.feed(data[i : i + step]):
            out[stream] += payload
    d.end()
    return out


@pytest.mark.parametrize("step", [1, 2, 7, 8, 9, 1000])
def test_frames_split_anywhere_come_apart_byte_exact(step: int) -> None:
    out_payload = bytes(range(256)) * 3
    data = frame(STDOUT, out_payload[:300]) + frame(STDERR, b"err\x00") + frame(STDOUT, b"")
    data += frame(STDOUT, out_payload[300:]) + frame(STDERR, b"\n")
    assert demux_all(data, step) == {STDOUT: out_payload, STDERR: b"err\x00\n"}


def test_a_frame_payload_is_passed_on_before_the_frame_ends() -> None:
    d = Demuxer()
    data = frame(STDOUT, b"abcdef")
    assert d.feed(data[:10]) == [(STDOUT, b"ab")]
    assert d.feed(data[10:]) == [(STDOUT, b"cdef")]


def test_the_frames_of_one_read_come_as_one_piece_per_stream() -> None:
    # One piece per stream and read, not one per frame: the Engine frames every write of
    # the process (4 KiB for busybox's head), and each piece costs the reader a hand-off.
    d = Demuxer()
    outs = [bytes([i]) * 4096 for i in range(5)]
    data = b"".join(frame(STDOUT, o) for o in outs[:3]) + frame(STDERR, b"e1") + frame(STDOUT, b"")
    data += frame(STDOUT, outs[3]) + frame(STDERR, b"e2") + frame(STDOUT, outs[4])[: 8 + 100]
    assert d.feed(data) == [(STDOUT, b"".join(outs[:4]) + outs[4][:100]), (STDERR, b"e1e2")]
    # The rest of the frame cut short, then a whole frame of each stream, stderr first.
    rest = frame(STDOUT, outs[4])[8 + 100 :] + frame(STDERR, b"e3") + frame(STDOUT, b"o")
    assert d.feed(rest) == [(STDOUT, outs[4][100:] + b"o"), (STDERR, b"e3")]
    assert d.feed(frame(STDERR, b"")) == []
    d.end()


def test_bad_frames_are_errors() -> None:
    with pytest.raises(FrameError, match="unknown stream 9"):
        Demuxer().feed(b"\x09\x00\x00\x00\x00\x00\x00\x01x")
    d = Demuxer()
    d.feed(frame(STDOUT, b"abc")[:-1])
    with pytest.raises(FrameError, match="inside a frame"):
        d.end()


TAG = "sandlot-0123abcd"
LINE = b"\x1esandlot-0123abcd:x:36608\n"


@pytest.mark.parametrize("step", [1, 3, 5, 100])
def test_the_exit_report_is_found_and_taken_out_at_any_split(step: int) -> None:
    data = b"before\x1e\x1esandlot-x\n" + LINE + b"after"
    r = ExitReport(TAG)
    out = b""
    for i in range(0, len(data), step):
        out += r.feed(data[i : i + step])
    out += r.end()
    assert (out, r.status) == (b"before\x1e\x1esandlot-x\nafter", "36608")


def test_a_report_without_the_nonce_or_cut_short_is_output() -> None:
    r = ExitReport(TAG)
    forged = b"\x1esandlot-ffff:x:0\n"
    assert r.feed(forged) == forged
    assert r.feed(LINE[:-3]) == b""  # held: it may still be the report
    assert r.end() == LINE[:-3]  # the stream ended: it was output after all
    assert r.status is None


def test_an_empty_status_is_reported_as_unknown() -> None:
    r = ExitReport(TAG)
    assert r.feed(b"x\x1esandlot-0123abcd:x:\r\n") == b"x"
    assert r.status == ""
    assert r.feed(LINE) == LINE  # once found, the rest is output


class FakeStream:
    """An exec connection that replays ``chunks`` (then EOF)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def read(self) -> bytes:
        import anyio

        await anyio.lowlevel.checkpoint()
        return self.chunks.pop(0) if self.chunks else b""

    async def write(self, data: bytes) -> None:
        raise AssertionError("nothing is written")

    def write_eof(self) -> None:
        pass


async def test_output_before_the_report_does_not_block_the_start() -> None:
    # The command's stdout and the launcher's report come through different relays: a
    # full buffer of stdout may come first, before anyone could read it.
    import contextlib

    import anyio

    from sandlot._backends.docker._process import DockerProcess
    from sandlot.backends import LaunchSpec

    flood = [frame(STDOUT, b"x" * 65536) for _ in range(40)]  # 2.5 MiB
    report = frame(STDERR, b"\x1e" + TAG.encode() + b":ok:42\n")
    stream = FakeStream([*flood, report, frame(STDERR, LINE)])
    spec = LaunchSpec(("cat",))
    proc = DockerProcess(None, "c", "e", stream, spec, TAG, contextlib.AsyncExitStack())  # type: ignore[arg-type]
    with anyio.fail_after(5):
        await proc.wait_report()
    assert proc.failure is None and proc._pgid == 42
    assert len(await proc.stdout.receive(10 << 20)) == 40 * 65536
    assert await proc.wait() == sandlot.ExitStatus(code=143)


def test_held_output_is_released_when_no_report_is_on_its_way() -> None:
    r = ExitReport(TAG)
    assert (r.feed(b"data\x1e"), r.holding) == (b"data", True)
    assert (r.release(), r.holding) == (b"\x1e", False)
    assert r.feed(LINE) == b"" and r.status == "36608"
