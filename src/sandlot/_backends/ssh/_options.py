""":class:`SSHOptions`: how to reach and authenticate to an SSH host."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, Literal

import attrs

from ..._errors import InvalidArgument

__all__ = ["DEFAULT_CIPHERS", "SSHOptions"]

StrPath = str | os.PathLike[str]

#: AES-GCM first: on hardware with AES instructions it is much faster than chacha20.
DEFAULT_CIPHERS: tuple[str, ...] = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
)


def _paths(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str | os.PathLike):
        value = [value]
    if not isinstance(value, Sequence):
        raise InvalidArgument(f"SSHOptions.{what} must be a path or a list of paths")
    out = []
    for item in value:
        if not isinstance(item, str | os.PathLike):
            raise InvalidArgument(f"SSHOptions.{what} must hold paths, not {type(item).__name__}")
        out.append(os.fspath(item))
    return tuple(out)


def _to_known_hosts(value: Any) -> tuple[str, ...] | Literal["default"] | None:
    if value is None or value == "default":
        return value  # type: ignore[no-any-return]
    return _paths(value, "known_hosts")


def _to_config(value: Any) -> tuple[str, ...] | Literal["default"]:
    return "default" if value == "default" else _paths(value, "config")


def _to_client_keys(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if isinstance(value, str | os.PathLike):
        return (os.fspath(value),)
    if not isinstance(value, Sequence):
        raise InvalidArgument("SSHOptions.client_keys must be a list of key paths or keys")
    return tuple(os.fspath(k) if isinstance(k, os.PathLike) else k for k in value)


def _secret(what: str) -> Any:
    def check(_inst: object, _attr: object, value: object) -> None:
        if value is not None and not isinstance(value, str):
            raise InvalidArgument(f"SSHOptions.{what} must be a str or None")

    return check


def _positive(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if value is None and attr.name == "keepalive_interval":
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"SSHOptions.{attr.name} must be a positive number, not {value!r}")
    if math.isnan(value) or value <= 0:
        raise InvalidArgument(f"SSHOptions.{attr.name} must be positive, got {value!r}")


def _flag(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidArgument(f"SSHOptions.{attr.name} must be a bool, not {value!r}")


def _count(minimum: int) -> Any:
    def check(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidArgument(f"SSHOptions.{attr.name} must be an int >= {minimum}")

    return check


@attrs.frozen(repr=False)
class SSHOptions:
    """Options for ``ssh://`` sandboxes (``open_sandbox(url, ssh=SSHOptions(...))``).

    ``known_hosts``: ``"default"`` honours ``~/.ssh/known_hosts`` (and
    ``UserKnownHostsFile`` from the config); a path or list of paths; or ``None``, which
    accepts ANY host key (insecure: only for throwaway hosts). An unknown key raises
    :class:`~sandlot.HostKeyRejected`.
    ``config``: ``"default"`` reads ``~/.ssh/config``; a list of files; ``[]`` for none.
    ``client_keys``: key paths (or asyncssh keys); ``None`` uses the usual defaults.
    ``agent``: use ``$SSH_AUTH_SOCK`` (``True``), a socket path, or no agent (``False``).
    ``max_sessions``: the server's ``MaxSessions`` (channels per connection), at least
    3: each connection keeps one channel for signals and one for its guardian (which
    stops the connection's processes if the client dies), processes take the rest;
    ``max_connections``: how many connections the Sandbox may open to run more
    processes at once (further processes wait for a free channel).
    ``fast_receive``: experimental, off by default: decrypt AES-GCM channel data with
    sandlot's own receive path, which patches asyncssh internals on the connection
    (only on asyncssh 2.24.1; elsewhere asyncssh's path). About 1.7x less client CPU per
    byte received (docs/benchmarks.md).
    ``keepalive_interval``/``keepalive_count_max``: after ``keepalive_interval`` seconds
    without a word from the server a keepalive request is sent, and after
    ``keepalive_count_max`` unanswered ones the connection is declared lost, like
    OpenSSH's ``ServerAliveInterval``/``ServerAliveCountMax``: a silent partition fails
    pending calls with :class:`~sandlot.ConnectionLost` within about 60 s by default.
    Shorter detects sooner but may drop a healthy connection on a stalled link;
    ``None`` turns keepalive off (a frozen server then hangs calls without a timeout).
    """

    known_hosts: tuple[str, ...] | Literal["default"] | None = attrs.field(
        default="default", converter=_to_known_hosts
    )
    client_keys: tuple[Any, ...] | None = attrs.field(default=None, converter=_to_client_keys)
    passphrase: str | None = attrs.field(default=None, validator=_secret("passphrase"))
    password: str | None = attrs.field(default=None, validator=_secret("password"))
    agent: bool | str = attrs.field(default=True)
    config: tuple[str, ...] | Literal["default"] = attrs.field(
        default="default", converter=_to_config
    )
    connect_timeout: float = attrs.field(default=15.0, validator=_positive)
    username: str | None = attrs.field(default=None)
    max_sessions: int = attrs.field(default=10, validator=_count(3))
    max_connections: int = attrs.field(default=16, validator=_count(1))
    ciphers: tuple[str, ...] = attrs.field(default=DEFAULT_CIPHERS, converter=tuple)
    keepalive_interval: float | None = attrs.field(default=15.0, validator=_positive)
    keepalive_count_max: int = attrs.field(default=3, validator=_count(1))
    fast_receive: bool = attrs.field(default=False, validator=_flag)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.agent, bool | str):
            raise InvalidArgument("SSHOptions.agent must be a bool or a socket path")
        if self.username is not None and (not isinstance(self.username, str) or not self.username):
            raise InvalidArgument("SSHOptions.username must be a non-empty str or None")
        if not self.ciphers or not all(isinstance(c, str) for c in self.ciphers):
            raise InvalidArgument("SSHOptions.ciphers must be a non-empty list of names")

    def __repr__(self) -> str:
        # Secrets never appear: only whether they are set.
        keys = "None" if self.client_keys is None else f"<{len(self.client_keys)} key(s)>"
        return (
            f"SSHOptions(known_hosts={self.known_hosts!r}, client_keys={keys}, "
            f"passphrase={'<hidden>' if self.passphrase else None}, "
            f"password={'<hidden>' if self.password else None}, agent={self.agent!r}, "
            f"config={self.config!r}, connect_timeout={self.connect_timeout!r}, "
            f"username={self.username!r}, max_sessions={self.max_sessions}, "
            f"max_connections={self.max_connections}, "
            f"keepalive_interval={self.keepalive_interval!r}, "
            f"keepalive_count_max={self.keepalive_count_max}, fast_receive={self.fast_receive})"
        )

    __str__ = __repr__

    def connect_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``asyncssh.connect`` (secrets included: never log)."""
        kw: dict[str, Any] = {
            "encryption_algs": list(self.ciphers),
            "connect_timeout": self.connect_timeout,
        }
        if self.known_hosts != "default":
            kw["known_hosts"] = None if self.known_hosts is None else list(self.known_hosts)
        if self.config != "default":
            kw["config"] = list(self.config)
        if self.client_keys is not None:
            kw["client_keys"] = list(self.client_keys)
        if self.passphrase is not None:
            kw["passphrase"] = self.passphrase
        if self.password is not None:
            kw["password"] = self.password
        else:
            kw["password_auth"] = False  # never prompt
        if self.agent is False:
            kw["agent_path"] = None
        elif isinstance(self.agent, str):
            kw["agent_path"] = self.agent
        # asyncssh counts from the last data received: a busy connection sends none.
        kw["keepalive_interval"] = self.keepalive_interval or 0  # 0: off
        kw["keepalive_count_max"] = self.keepalive_count_max
        return kw
