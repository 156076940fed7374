"""Launcher scripts, shipped as package data in an ``sh/`` directory, loaded as sent.

``sh/launcher.sh`` here checks, reports and ``exec``s the command. A backend may ship a
script of its own (its transport's framing around the same checks): every such script
includes ``sh/checks.sh`` (the checks and the report line) with the line
``. ./checks.sh``, replaced here by that file's text, so a script still travels as one
piece of text and needs nothing in the sandbox but ``sh``; ``shellcheck -x`` follows the
same line. Comment-only and blank lines are dropped on the way (they would be sent on
every launch), so no quoted string in a script may have a line starting with ``#``.
"""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["load", "quote", "with_args"]

_INCLUDE = ". ./checks.sh"


def _text(package: str, name: str) -> str:
    return (resources.files(package) / "sh" / f"{name}.sh").read_text(encoding="utf-8")


@functools.cache
def load(name: str, package: str = __package__) -> str:
    """The script ``sh/NAME.sh`` of ``package`` as it is sent: ``checks.sh`` included,
    comments dropped."""
    lines = _text(package, name).splitlines()
    if lines.count(_INCLUDE) != 1:  # a packaging mistake, caught by the tests
        raise RuntimeError(f"{package}: sh/{name}.sh must include {_INCLUDE!r} exactly once")
    at = lines.index(_INCLUDE)
    lines[at : at + 1] = _text(__package__, "checks").splitlines()
    kept = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join(kept) + "\n"


def quote(text: str) -> str:
    """Single-quote ``text`` for any POSIX shell; every character survives as is."""
    return "'" + text.replace("'", "'\\''") + "'"


def with_args(name: str, args: list[str], package: str = __package__) -> str:
    """Shell text that runs script ``name`` with positional parameters ``args``."""
    return "set -- " + " ".join(quote(a) for a in args) + "\n" + load(name, package)
