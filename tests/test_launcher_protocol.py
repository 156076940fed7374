"""The launcher's report parser, without any backend: any split, adversarial input."""

from __future__ import annotations

import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandlot import CommandNotFound, LaunchError
from sandlot._launcher import (
    Event,
    Failed,
    Output,
    Parser,
    Ready,
    kill_group,
    kill_session,
    launch_error,
)
from sandlot._transport import LaunchSpec


def feed_all(parser: Parser, chunks: list[bytes]) -> list[Event]:
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def normalise(events: list[Event]) -> list[Event]:
    """Merge adjacent Output events: how output is cut is not part of the protocol."""
    out: list[Event] = []
    for e in events:
        if isinstance(e, Output) and out and isinstance(out[-1], Output):
            out[-1] = Output(out[-1].data + e.data)
        else:
            out.append(e)
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


STREAM = b"motd noise\r\n\x1esandlot:ok:4242\r\nhello\x1esandlot:ok:1\nworld"


@given(st.lists(st.integers(min_value=0), max_size=20))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    events = normalise(feed_all(Parser(), split(STREAM, cuts)))
    assert events == [Ready(4242), Output(b"hello\x1esandlot:ok:1\nworld")]


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0), max_size=10))
def test_garbage_before_the_report_is_dropped(garbage: bytes, cuts: list[int]) -> None:
    garbage = garbage.replace(b"\x1e", b"")  # only the launcher writes RS before the report
    data = garbage + b"\x1esandlot:nocwd:ENOTDIR\n"
    assert feed_all(Parser(), split(data, cuts)) == [Failed("nocwd", "ENOTDIR")]


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (b"\x1esandlot:ok:17\n", Ready(17)),
        (b"\x1esandlot:ok:17\r\n", Ready(17)),  # a pty's CR LF
        (b"\x1esandlot:nocmd:\n", Failed("nocmd", "")),
        (b"\x1esandlot:noexec:EACCES\n", Failed("noexec", "EACCES")),
        (b"\x1esandlot:nosetup:mkfifo\n", Failed("nosetup", "mkfifo")),
    ],
)
def test_each_report(line: bytes, event: Event) -> None:
    assert Parser().feed(line) == [event]


def test_a_malformed_ok_is_not_a_report() -> None:
    p = Parser()
    assert p.feed(b"\x1esandlot:ok:12x\n\x1esandlot:ok:\n") == []
    assert p.feed(b"\x1esandlot:ok:5\n") == [Ready(5)]


def test_a_nonce_rejects_a_forged_or_echoed_report() -> None:
    p = Parser(nonce="c0ffee")
    # The echo of the typed line, the launcher's own text, and another launch's report.
    echo = b"$ exec sh -c \"$SANDLOT_LAUNCH\"\r\nprintf '\\036%s:ok:%s\\n'\r\n"
    assert p.feed(echo + b"\x1esandlot:ok:1\r\n\x1esandlot-bad:ok:2\r\n") == []
    assert p.feed(b"\x1esandlot-c0ffee:ok:3\r\nout") == [Ready(3), Output(b"out")]


def test_the_preamble_is_bounded() -> None:
    p = Parser(max_preamble=1000)
    assert p.feed(b"x" * 1000) == []
    assert p.feed(b"x") == [Failed("overflow")]
    assert p.done and p.feed(b"later") == [Output(b"later")]


def test_a_stream_that_ends_without_a_report_fails_with_its_tail() -> None:
    p = Parser()
    assert p.feed(b"sh: 1: exec: bad: not found\n") == []
    assert p.end() == Failed("silent", detail="sh: 1: exec: bad: not found")
    p = Parser()
    p.feed(b"\x1esandlot:ok:1\n")
    assert p.end() is None


def test_a_failure_passes_nothing_on() -> None:
    p = Parser()
    assert p.feed(b"\x1esandlot:nocmd:\nsh: junk") == [Failed("nocmd", "")]


SPEC = LaunchSpec(argv=("tool", "a"), cwd="/w")


@pytest.mark.parametrize(
    ("failure", "kind", "message"),
    [
        (Failed("nocmd"), CommandNotFound, "command not found: 'tool'"),
        (
            Failed("nocwd", "ENOENT"),
            LaunchError,
            "cannot use working directory '/w': No such file or directory",
        ),
        (
            Failed("nocwd", "ENOTDIR"),
            LaunchError,
            "cannot use working directory '/w': Not a directory",
        ),
        (Failed("noexec", "EACCES"), LaunchError, "cannot execute 'tool': Permission denied"),
        (Failed("overflow"), LaunchError, "the remote launcher did not report back"),
        (Failed("silent", detail="boom"), LaunchError, "the remote launcher failed: boom"),
    ],
)
def test_one_mapping_to_errors(failure: Failed, kind: type[LaunchError], message: str) -> None:
    error = launch_error(failure, SPEC)
    assert type(error) is kind and str(error) == message


def test_signals_go_by_name_never_by_number() -> None:
    assert kill_group(123, signal.SIGUSR1) == "kill -USR1 -123 2>/dev/null; true"
    line = kill_session(77, signal.SIGTERM)
    assert "pkill -TERM -s 77" in line and "kill -TERM -77" in line
    assert str(int(signal.SIGUSR1)) not in kill_group(123, signal.SIGUSR1).replace("123", "")
