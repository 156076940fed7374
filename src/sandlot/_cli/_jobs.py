"""``sandlot jobs``: durable jobs (waiting for the jobs API)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .._sandbox import Sandbox


def add_parsers(
    sub: Any, common: argparse.ArgumentParser, sandbox_arg: Callable[[Any], None]
) -> None:
    """Register ``sandlot jobs ...`` (nothing until the jobs API exists)."""


async def run(sb: Sandbox, args: argparse.Namespace) -> int:
    raise NotImplementedError
