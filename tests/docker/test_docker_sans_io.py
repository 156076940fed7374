"""The Docker backend's parsers, without I/O: the Engine's frames and the exit report."""

from __future__ import annotations

import struct

import pytest

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
