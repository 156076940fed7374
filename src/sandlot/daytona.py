"""The Daytona backend's public names: its options and its sandboxes' lifecycle.

``open_sandbox("daytona://<id>", daytona=DaytonaOptions(...))``; each function below
takes the options too (default ``DaytonaOptions()``, from the environment).
"""

from __future__ import annotations

from ._backends.daytona import (
    DaytonaOptions,
    create_sandbox,
    delete_sandbox,
    start_sandbox,
    stop_sandbox,
)

__all__ = ["DaytonaOptions", "create_sandbox", "delete_sandbox", "start_sandbox", "stop_sandbox"]
