"""The launcher's report, parsed without any I/O: bytes in (any split), events out.

The launcher prints exactly one report line before the command runs (or instead of it)::

    RS "sandlot" [ "-" NONCE ] ":" KIND ":" ARG LF

``RS`` is the byte ``\\x1e``. ``KIND`` is ``ok`` (``ARG``: the pid, which leads the
process group) or a failure (``nocwd``, ``nocmd``, ``noexec``, ``nosetup``; ``ARG``: an
errno name such as ``ENOENT``, or empty). A pty may turn ``LF`` into ``CR LF``.

The launcher's text never holds the ``RS`` byte (``printf`` makes it from ``\\036``), so a
shell echoing the launch line (a pty) or the launcher's text never forges a report; a
transport that types the line on a terminal also uses a nonce. Whatever comes before the
report (a login script's noise, a prompt, an echo) is dropped; what follows it is the
command's output. Only so much is held while waiting: past ``max_preamble`` bytes the
launch fails instead of buffering without bound.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["Event", "Failed", "Output", "Parser", "Ready"]

RS = b"\x1e"


@attrs.frozen
class Ready:
    """The command is about to be ``exec``ed; ``pid`` leads its process group."""

    pid: int


@attrs.frozen
class Failed:
    """Nothing was started. ``kind`` is the launcher's, or ``silent`` (no report came:
    ``detail`` is the tail of what came instead) or ``overflow`` (too much came first)."""

    kind: str
    errno_name: str = ""
    detail: str = ""


@attrs.frozen
class Output:
    """Bytes that follow the report: the command's own."""

    data: bytes


Event = Ready | Failed | Output

#: The longest report line (kind and argument are short): how far back a split can start.
_MAX_LINE = 200


class Parser:
    """Feed it what the report stream carries; it finds the report once, then passes on."""

    def __init__(self, nonce: str = "", max_preamble: int = 1 << 20) -> None:
        tag = re.escape(b"sandlot" + (b"-" + nonce.encode() if nonce else b""))
        self._line = re.compile(RS + tag + rb":([a-z]+):([A-Za-z0-9]*)\r?\n")
        self._max = max_preamble
        self._buf = bytearray()
        self._scanned = 0
        self.done = False  # the report (or a failure) was emitted: the rest is output

    def feed(self, data: bytes) -> list[Event]:
        if self.done:
            return [Output(bytes(data))] if data else []
        self._buf += data
        while True:
            m = self._line.search(self._buf, max(0, self._scanned - _MAX_LINE))
            if m is None:
                break
            event = self._event(m.group(1).decode(), m.group(2).decode())
            if event is None:  # a line that looks like ours but is not (ok:E...)
                del self._buf[: m.end()]
                self._scanned = 0
                continue
            rest = bytes(self._buf[m.end() :])
            self._finish()
            return [event, Output(rest)] if rest and isinstance(event, Ready) else [event]
        self._scanned = len(self._buf)
        if len(self._buf) > self._max:
            self._finish()
            return [Failed("overflow")]
        return []

    def end(self) -> Failed | None:
        """The stream ended: a failure unless the report came."""
        if self.done:
            return None
        tail = self._buf.decode(errors="replace").strip()[-500:]
        self._finish()
        return Failed("silent", detail=tail)

    def _finish(self) -> None:
        self.done = True
        self._buf = bytearray()

    @staticmethod
    def _event(kind: str, arg: str) -> Ready | Failed | None:
        if kind == "ok":
            return Ready(int(arg)) if arg.isdigit() else None
        return Failed(kind, arg)
