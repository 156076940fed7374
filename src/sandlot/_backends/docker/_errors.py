"""The Docker backend's errors: the Engine's answers as sandlot's, one clear line each."""

from __future__ import annotations

from ..._errors import ConnectionFailed, SandlotError

__all__ = ["ContainerStopped", "EngineError", "ImageNotFound"]


class ContainerStopped(ConnectionFailed):
    """The container exists but is not running (``docker start`` it)."""


class ImageNotFound(SandlotError, LookupError):
    """The Engine has no such image (sandlot pulls nothing: pull or build it first)."""


class EngineError(SandlotError):
    """The Engine refused a request; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)
