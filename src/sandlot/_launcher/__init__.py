"""The one remote launcher protocol, for every backend that starts commands through a
shell: the launcher script, its report and parser, the errors it maps to, and signalling
by name. See docs/architecture.md."""

from __future__ import annotations

from ._errors import from_os_error, launch_error
from ._protocol import Event, Failed, Output, Parser, Ready
from ._signals import kill_group, kill_session

__all__ = [
    "Event",
    "Failed",
    "Output",
    "Parser",
    "Ready",
    "from_os_error",
    "kill_group",
    "kill_session",
    "launch_error",
]
