"""Cutting a byte chunk so that no UTF-8 character is split across reads."""

from __future__ import annotations

__all__ = ["incomplete_tail"]


def incomplete_tail(data: bytes) -> int:
    """How many trailing bytes of ``data`` are the start of a UTF-8 character whose
    remaining bytes have not arrived yet (0..3). Anything that is not a valid prefix
    (binary output) counts as complete: it is delivered as is, never held back."""
    n = len(data)
    for back in range(1, min(3, n) + 1):
        b = data[n - back]
        if b & 0xC0 == 0x80:  # continuation byte: keep looking for the lead byte
            continue
        if b & 0xE0 == 0xC0:
            need = 2
        elif b & 0xF0 == 0xE0:
            need = 3
        elif b & 0xF8 == 0xF0:
            need = 4
        else:
            return 0  # ASCII or an invalid lead byte
        return back if back < need else 0
    return 0
