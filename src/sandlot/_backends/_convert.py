"""Converters for backend options that a ``<scheme>://new?name=value`` URL (a string)
or stored record params (JSON) may set: each takes the typed value too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["opt_bool", "opt_int", "opt_mapping", "opt_strings"]


def opt_int(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"expected a whole number, got {value!r}")


def opt_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def opt_mapping(value: Any) -> Mapping[str, str] | None:
    """A mapping, or ``"NAME=VALUE,NAME=VALUE"``."""
    if value is None:
        return None
    if isinstance(value, str):
        pairs = [item.partition("=") for item in value.split(",") if item]
        if any(not eq or not name for name, eq, _ in pairs):
            raise ValueError(f"expected NAME=VALUE,..., got {value!r}")
        return {name: v for name, _, v in pairs}
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    raise ValueError(f"expected a mapping of str to str, got {value!r}")


def opt_strings(value: Any) -> tuple[str, ...] | None:
    """A sequence of str, or ``"A,B"``."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(item for item in value.split(",") if item)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"expected a list of str, got {value!r}")
