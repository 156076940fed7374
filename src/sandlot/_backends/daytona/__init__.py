"""The Daytona backend: ``daytona://<sandbox id or name>``, on the official ``daytona`` SDK.

Only :class:`DaytonaOptions` is imported eagerly: the SDK loads when a sandbox connects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._options import DaytonaOptions

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DaytonaOptions", "create_sandbox", "delete_sandbox", "stop_sandbox"]


async def create_sandbox(
    options: DaytonaOptions | None = None,
    *,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    snapshot: str | None = None,
) -> str:
    """Create a Daytona sandbox through the SDK and return its id (for ``daytona://<id>``)."""
    from ._transport import create_sandbox

    return await create_sandbox(options, name=name, labels=labels, snapshot=snapshot)


async def delete_sandbox(ident: str, options: DaytonaOptions | None = None) -> None:
    """Delete the Daytona sandbox ``ident`` (id or name) through the SDK."""
    from ._transport import delete_sandbox

    await delete_sandbox(ident, options)


async def stop_sandbox(ident: str, options: DaytonaOptions | None = None) -> None:
    """Stop the Daytona sandbox ``ident`` (id or name) through the SDK."""
    from ._transport import stop_sandbox

    await stop_sandbox(ident, options)
