"""SSH options from a config-file table: ssh_config-like spellings, ``~`` expanded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from ._options import SSHOptions

#: Friendlier spellings, as in ssh_config.
_ALIASES = {"identity_file": "client_keys", "identity_files": "client_keys"}
_PATHS = ("known_hosts", "client_keys", "config")


def _expand(value: Any) -> Any:
    if isinstance(value, str):
        return os.path.expanduser(value)
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def from_config(config: Mapping[str, Any]) -> SSHOptions:
    """``SSHOptions`` from a table; ``known_hosts = false`` accepts any host key (only
    for throwaway hosts)."""
    fields = {f.name for f in attrs.fields(SSHOptions)}
    kwargs: dict[str, Any] = {}
    for key, value in config.items():
        name = _ALIASES.get(key, key)
        if name not in fields:
            known = ", ".join(sorted(fields | set(_ALIASES)))
            raise ValueError(f"unknown ssh option {key!r} (known: {known})")
        if name == "known_hosts" and value is False:
            value = None
        kwargs[name] = _expand(value) if name in _PATHS else value
    return SSHOptions(**kwargs)
