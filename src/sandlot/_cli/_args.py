"""Argument helpers shared by the ``sandlot`` parsers (the package and ``jobs``)."""

from __future__ import annotations

import argparse

from .._validate import check_timeout

__all__ = ["positive_seconds", "sandbox_arg"]


def positive_seconds(text: str) -> float:
    """Seconds, for --timeout and --grace (argparse names the option in its message)."""
    try:
        return check_timeout("the value", float(text)) or 0.0
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of seconds, got {text!r}"
        ) from None


def sandbox_arg(p: argparse.ArgumentParser, *, with_id: bool = False) -> None:
    """The positional words: ``[SANDBOX]``, or ``[SANDBOX] JOB_ID``."""
    # One list for every positional word, sorted out in parse_args: argparse cannot
    # take an optional SANDBOX before JOB_ID once options sit between them.
    p.add_argument(
        "words",
        nargs="*",
        metavar="[SANDBOX] JOB_ID" if with_id else "SANDBOX",
        help="SANDBOX: a URL (local, ssh://user@host:port, daytona://id) or a configured "
        "name; default: $SANDLOT_SANDBOX, else local",
    )
    p.set_defaults(with_id=with_id)
