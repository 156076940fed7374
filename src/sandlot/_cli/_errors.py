"""How the command line reports errors: one line on stderr and an exit code."""

from __future__ import annotations

from .._errors import (
    CommandNotFound,
    ConnectionFailed,
    ConnectionLost,
    InvalidArgument,
    LaunchError,
)

#: Exit codes, following remote-login clients (255: no connection), timeout(1) and the shell.
EXIT_USAGE = 2
EXIT_TIMEOUT = 124
EXIT_CANNOT_RUN = 126
EXIT_NOT_FOUND = 127
EXIT_CONNECTION = 255


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""


class CommandFailed(Exception):
    """A failure that already has its message and exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, CommandFailed):
        return exc.code
    if isinstance(exc, UsageError | InvalidArgument):
        return EXIT_USAGE
    if isinstance(exc, CommandNotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, LaunchError):
        return EXIT_CANNOT_RUN
    if isinstance(exc, ConnectionFailed | ConnectionLost):
        return EXIT_CONNECTION
    return 1
