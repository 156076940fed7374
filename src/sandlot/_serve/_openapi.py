"""The OpenAPI document of every route (served at ``/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

__all__ = ["document"]


def document() -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "sandlot serve", "version": "1"}, "paths": {}}
