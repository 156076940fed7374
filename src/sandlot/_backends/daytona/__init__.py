"""The Daytona backend: ``daytona://<sandbox id or name>``, on the official ``daytona`` SDK.

The SDK itself loads only when it is first used.
"""

from __future__ import annotations

from ._control import create_sandbox, delete_sandbox, stop_sandbox
from ._options import DaytonaOptions

__all__ = ["DaytonaOptions", "create_sandbox", "delete_sandbox", "stop_sandbox"]
