"""The server's limits: readable and settable at ``/v1/limits`` (sandbox-agent's names
and defaults)."""

from __future__ import annotations

from typing import Any

import attrs

from .._errors import InvalidArgument

__all__ = ["Limits"]

_FIELDS = {
    "maxConcurrentProcesses": "max_concurrent_processes",
    "defaultRunTimeoutMs": "default_run_timeout_ms",
    "maxRunTimeoutMs": "max_run_timeout_ms",
    "maxOutputBytes": "max_output_bytes",
    "maxLogBytesPerProcess": "max_log_bytes_per_process",
    "maxInputBytesPerRequest": "max_input_bytes_per_request",
    "maxRequestBytes": "max_request_bytes",
}


def _positive(inst: Any, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{attribute.name} must be a positive integer, got {value!r}")


@attrs.frozen
class Limits:
    """Past any of these a request gets a clear error status, never a hang."""

    #: managed processes, terminals and attached spawns running at once (429 past it)
    max_concurrent_processes: int = attrs.field(default=64, validator=_positive)
    #: a run without ``timeoutMs`` is killed after this
    default_run_timeout_ms: int = attrs.field(default=30_000, validator=_positive)
    #: a larger ``timeoutMs`` is refused (400)
    max_run_timeout_ms: int = attrs.field(default=300_000, validator=_positive)
    #: a run's output cap per stream (also its default ``maxOutputBytes``)
    max_output_bytes: int = attrs.field(default=1 << 20, validator=_positive)
    #: a managed process's log; later output is discarded and flagged
    max_log_bytes_per_process: int = attrs.field(default=10 << 20, validator=_positive)
    #: bytes of stdin in one request (input route, run's stdin, a WebSocket frame)
    max_input_bytes_per_request: int = attrs.field(default=64 << 10, validator=_positive)
    #: any request body (files included): 413 past it
    max_request_bytes: int = attrs.field(default=32 << 20, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.default_run_timeout_ms > self.max_run_timeout_ms:
            raise InvalidArgument(
                f"defaultRunTimeoutMs ({self.default_run_timeout_ms}) exceeds "
                f"maxRunTimeoutMs ({self.max_run_timeout_ms})"
            )

    def to_json(self) -> dict[str, int]:
        return {key: getattr(self, name) for key, name in _FIELDS.items()}

    def updated(self, body: Any) -> Limits:
        """These limits with the fields of a JSON object changed."""
        if not isinstance(body, dict):
            raise InvalidArgument("the limits must be a JSON object")
        unknown = sorted(set(body) - set(_FIELDS))
        if unknown:
            raise InvalidArgument(
                f"unknown limit(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}"
            )
        return attrs.evolve(self, **{_FIELDS[key]: value for key, value in body.items()})
