"""The SSH backend (asyncssh), proven against OpenSSH's sshd.

Only :class:`SSHOptions` is imported eagerly: asyncssh loads when a sandbox connects.
"""

from __future__ import annotations

from ._options import SSHOptions

__all__ = ["SSHOptions"]
