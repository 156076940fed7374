"""The SSH backend's public names: ``open_sandbox("ssh://...", ssh=SSHOptions(...))``."""

from __future__ import annotations

from ._backends.ssh import SSHOptions

__all__ = ["SSHOptions"]
