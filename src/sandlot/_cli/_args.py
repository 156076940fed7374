"""Argument helpers shared by the ``sandlot`` parsers (the package and ``jobs``)."""

from __future__ import annotations

import argparse

from .._url import DEFAULT, ENV_VAR
from .._validate import check_timeout
from ._config import url_forms

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
        help=f"SANDBOX: a URL ({', '.join(url_forms())}) or a configured "
        f"name; default: ${ENV_VAR}, else {DEFAULT}",
    )
    p.set_defaults(with_id=with_id)
