"""The Daytona backend: ``daytona://<sandbox id or name>``, on the official ``daytona`` SDK."""

from __future__ import annotations

from .options import DaytonaOptions
from .transport import DaytonaTransport, create_sandbox, delete_sandbox

__all__ = ["DaytonaOptions", "DaytonaTransport", "create_sandbox", "delete_sandbox"]
