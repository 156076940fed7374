"""Input validation shared by every backend: bad input fails before anything launches."""

from __future__ import annotations

import math
import re
import signal as _signal
from collections.abc import Mapping, Sequence

from ._errors import InvalidArgument
from ._records import TerminalSize

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def check_text(what: str, value: object, *, allow_empty: bool = True, show: bool = True) -> str:
    """``show=False`` keeps the value out of the message (it may be a secret)."""
    shown = f": {value!r}" if show else ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a str, not {type(value).__name__}{shown}")
    if "\x00" in value:
        raise InvalidArgument(f"{what} contains a NUL byte{shown}")
    if not allow_empty and not value:
        raise InvalidArgument(f"{what} must not be empty")
    return value


def check_argv(cmd: object, args: object) -> tuple[str, ...]:
    command = check_text("command", cmd, allow_empty=False)
    if args is None:
        return (command,)
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise InvalidArgument(f"args must be a list of str, not {type(args).__name__}: {args!r}")
    return (command, *(check_text(f"argument {i}", a) for i, a in enumerate(args, 1)))


def check_env(env: object) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise InvalidArgument(f"env must be a mapping of str to str, not {type(env).__name__}")
    out: dict[str, str] = {}
    for name, value in env.items():
        check_text("environment variable name", name)
        if not _ENV_NAME.match(name):
            raise InvalidArgument(f"invalid environment variable name: {name!r}")
        out[name] = check_text(f"value of environment variable {name}", value, show=False)
    return out


def check_cwd(cwd: object) -> str | None:
    if cwd is None:
        return None
    if hasattr(cwd, "__fspath__"):
        cwd = str(cwd)
    return check_text("cwd", cwd, allow_empty=False)


def check_timeout(what: str, timeout: object) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise InvalidArgument(f"{what} must be a number of seconds, not {timeout!r}")
    if math.isnan(timeout) or timeout <= 0:
        raise InvalidArgument(f"{what} must be positive, got {timeout!r}")
    return float(timeout)


def check_size_limit(what: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(f"{what} must be a non-negative int, got {value!r}")
    return value


def check_input(data: object) -> bytes | None:
    if data is None:
        return None
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidArgument(f"input must be bytes, not {type(data).__name__}")
    return bytes(data)


def check_signal(sig: object) -> _signal.Signals:
    if isinstance(sig, str):
        name = sig.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        try:
            return _signal.Signals[name]
        except KeyError:
            raise InvalidArgument(f"unknown signal: {sig!r}") from None
    if isinstance(sig, bool) or not isinstance(sig, int):
        raise InvalidArgument(f"unknown signal: {sig!r}")
    try:
        return _signal.Signals(sig)
    except ValueError:
        raise InvalidArgument(f"unknown signal: {sig!r}") from None


def check_size(size: object) -> TerminalSize:
    if isinstance(size, TerminalSize):
        return size
    if isinstance(size, tuple) and len(size) == 2:
        return TerminalSize(rows=size[0], cols=size[1])
    raise InvalidArgument(f"size must be a TerminalSize or (rows, cols), not {size!r}")


def check_path(path: object) -> str:
    if hasattr(path, "__fspath__"):
        path = str(path)
    return check_text("path", path, allow_empty=False)


def check_mode(mode: object) -> int | None:
    if mode is None:
        return None
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
        raise InvalidArgument(f"mode must be an int in 0..0o7777, got {mode!r}")
    return mode


#: The longest single argument or environment string Linux's exec accepts
#: (MAX_ARG_STRLEN, 128 KiB, less the terminating NUL).
MAX_ARG_BYTES = 131071


def command_line_too_large(detail: str) -> InvalidArgument:
    """The error for arguments and environment that exec (or the way there) cannot carry."""
    return InvalidArgument(
        f"the command line is too large: {detail}; pass large data as input= (or on stdin) "
        "or in a file (write_file)"
    )


#: What a shell-launched command line may hold in all (arguments and environment), below
#: exec's ARG_MAX (usually 2 MiB, the sandbox's own environment included).
MAX_TOTAL_BYTES = 1 << 20


def check_command_line(strings: list[str], where: str) -> None:
    """Refuse, before anything is sent, what exec in the sandbox would refuse (E2BIG):
    one string over Linux's limit, or all of them over :data:`MAX_TOTAL_BYTES`."""
    sizes = [len(s.encode()) for s in strings]
    if max(sizes, default=0) > MAX_ARG_BYTES:
        raise command_line_too_large(
            f"{max(sizes)} bytes in one argument or environment string, over Linux's "
            f"limit of {MAX_ARG_BYTES} bytes for one"
        )
    if sum(sizes) > MAX_TOTAL_BYTES:
        raise command_line_too_large(
            f"{sum(sizes)} bytes of arguments and environment in all, over sandlot's limit "
            f"of {MAX_TOTAL_BYTES} for {where} (exec's limit, ARG_MAX, is usually 2 MiB "
            f"including the sandbox's own environment; one argument holds {MAX_ARG_BYTES})"
        )
