"""The SSH backend (asyncssh), proven against OpenSSH's sshd.

Only the declaration and :class:`SSHOptions` are imported eagerly: asyncssh loads when
a sandbox connects.
"""

from __future__ import annotations

from ...backends import Backend
from ._config import from_config
from ._options import SSHOptions
from ._url import SYNTAX, parse_url

__all__ = ["SSHOptions", "backend"]

backend = Backend(
    name="ssh",
    schemes=("ssh",),
    url_syntax=SYNTAX,
    connect=f"{__name__}._transport:connect",
    parse_url=parse_url,
    options_type=SSHOptions,
    from_config=from_config,
    extra="ssh",
    requires=("asyncssh:connect",),
)
