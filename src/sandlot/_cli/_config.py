"""Named sandboxes from the config file, and turning a SANDBOX argument into a Sandbox.

The file is ``$SANDLOT_CONFIG``, else ``$XDG_CONFIG_HOME/sandlot/config.toml``, else
``~/.config/sandlot/config.toml``::

    [sandboxes.build]
    url = "<scheme>://..."
    some_option = "value"      # other keys: the backend's options (its from_config)
"""

from __future__ import annotations

import os
import re
import tomllib
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import attrs

from .._backends import backend_for
from .._errors import InvalidSandboxURL
from .._sandbox import Sandbox, open_sandbox
from .._url import DEFAULT, ENV_VAR
from ..backends import parse_url, registry
from ._errors import UsageError

CONFIG_VAR = "SANDLOT_CONFIG"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


@attrs.frozen
class Named:
    """One ``[sandboxes.<name>]`` entry."""

    name: str
    url: str
    options: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


def config_path() -> Path:
    explicit = os.environ.get(CONFIG_VAR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sandlot" / "config.toml"


def load_config(path: Path | None = None) -> dict[str, Named]:
    """The named sandboxes; a missing default file means none, a missing
    ``$SANDLOT_CONFIG`` is an error."""
    path = path or config_path()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        if os.environ.get(CONFIG_VAR):
            raise UsageError(
                f"config file {str(path)!r} (from ${CONFIG_VAR}) does not exist"
            ) from None
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    unknown = set(data) - {"sandboxes"}
    if unknown:
        raise UsageError(f"config file {str(path)!r}: unknown section(s) {sorted(unknown)}")
    table = data.get("sandboxes", {})
    if not isinstance(table, dict):
        raise UsageError(f"config file {str(path)!r}: 'sandboxes' must be a table")
    named = {}
    for name, entry in table.items():
        where = f"config file {str(path)!r}, [sandboxes.{name}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{where} must be a table")
        options = dict(entry)
        url = options.pop("url", None)
        if not isinstance(url, str):
            raise UsageError(f"{where} needs url = {' | '.join(map(repr, url_forms()))}")
        named[name] = Named(name, url, options)
    return named


def resolve(spec: str | None) -> Named:
    """``spec`` is a URL or a configured name; ``None`` means ``$SANDLOT_SANDBOX`` or local."""
    if spec is None:
        spec = os.environ.get(ENV_VAR) or DEFAULT
    if not _NAME.match(spec):
        parse_url(spec)  # InvalidSandboxURL names what is wrong
        return Named(spec, spec)
    try:
        parse_url(spec)  # a URL that is a plain word, such as ``local``
        return Named(spec, spec)
    except InvalidSandboxURL:
        pass
    found = load_config().get(spec)
    if found is None:
        raise UsageError(
            f"unknown sandbox {spec!r}: not a URL ({', '.join(url_forms())}) "
            f"and not a name in {str(config_path())!r}"
        )
    parse_url(found.url)
    return found


def url_forms() -> list[str]:
    """Each backend's URL syntax, for help texts and errors."""
    return list(dict.fromkeys(b.url_syntax for b in registry().values()))


#: Config keys that would put a secret in a plain file: use an agent or a key file.
_SECRETS = ("password", "passphrase", "api_key", "token", "secret")


def backend_options(target: Named) -> dict[str, Any]:
    """The keyword options for :func:`open_sandbox` built from a config entry."""
    if not target.options:
        return {}
    where = f"sandbox {target.name!r} in {str(config_path())!r}"
    for key in target.options:
        if any(word in key.lower() for word in _SECRETS):
            raise UsageError(
                f"{where}: {key!r} is a secret and does not belong in the config file; "
                "use an agent, a key file or an environment variable"
            )
    backend = backend_for(parse_url(target.url))
    if backend.options_type is None:
        keys = ", ".join(sorted(target.options))
        raise UsageError(f"{where}: the {backend.name} backend takes no options ({keys})")
    try:
        return {backend.name: backend.options_from_config(target.options)}
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: {exc}") from None


def open_target(spec: str | None) -> AbstractAsyncContextManager[Sandbox]:
    target = resolve(spec)
    return open_sandbox(target.url, **backend_options(target))
