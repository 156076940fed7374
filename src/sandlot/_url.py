"""Sandbox URLs: ``<scheme>://<target>``, the target's syntax the backend's own."""

from __future__ import annotations

import attrs

ENV_VAR = "SANDLOT_SANDBOX"
#: The sandbox when neither the caller nor the environment names one (SPEC §5).
DEFAULT = "local"


@attrs.frozen
class SandboxURL:
    """A parsed sandbox URL: the scheme, and the rest as the backend writes it.

    ``str(url)`` is ``scheme://target``, or the bare scheme when there is no target.
    """

    scheme: str
    target: str = ""

    def __str__(self) -> str:
        return f"{self.scheme}://{self.target}" if self.target else self.scheme
