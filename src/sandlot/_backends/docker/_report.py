"""The spawn launcher's exit report, found in the command's stderr without any I/O.

After its ``ok`` report (the shared protocol, :mod:`sandlot._launcher._protocol`), the
launcher writes ``RS TAG ":x:" STATUS LF`` on stderr once the command ended, ``STATUS``
being the raw wait status (empty if it could not be read). The tag holds a nonce, so the
command's own output never forges it; the report is taken out of the stream, and a
possible start of it is held back until the next bytes tell, or until the client learns
that no report was on its way (:meth:`release`).
"""

from __future__ import annotations

import re

from ..._launcher._protocol import RS

__all__ = ["ExitReport"]

_MAX_STATUS = 12  # digits and CR LF


class ExitReport:
    def __init__(self, tag: str) -> None:
        self._head = RS + tag.encode() + b":x:"
        self._line = re.compile(re.escape(self._head) + rb"([0-9]*)\r?\n")
        self._held = b""
        #: The raw wait status once reported ("" if the launcher could not read it).
        self.status: str | None = None

    def feed(self, data: bytes) -> bytes:
        """Return what of ``data`` (and of what was held) is the command's output."""
        if self.status is not None:
            return data
        buf = self._held + data
        self._held = b""
        m = self._line.search(buf)
        if m is not None:
            self.status = m.group(1).decode()
            return buf[: m.start()] + buf[m.end() :]
        at = buf.rfind(RS)
        if at >= 0 and self._may_start(buf[at:]):
            self._held = buf[at:]
            return buf[:at]
        return buf

    @property
    def holding(self) -> bool:
        """Output that may start the report is held back."""
        return bool(self._held)

    def release(self) -> bytes:
        """What was held is output after all (no report was on its way when it came)."""
        held, self._held = self._held, b""
        return held

    def end(self) -> bytes:
        """The stream ended: what was held back is output after all."""
        held, self._held = self._held, b""
        return held

    def _may_start(self, tail: bytes) -> bool:
        head = self._head
        if len(tail) <= len(head):
            return head.startswith(tail)
        rest = tail[len(head) :]
        return (
            tail.startswith(head)
            and len(rest) <= _MAX_STATUS
            and re.fullmatch(rb"[0-9]*\r?", rest) is not None
        )
