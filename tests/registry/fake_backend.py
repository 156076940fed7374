"""A provider that owns its sandboxes, for the records' tests: each sandbox is a file in
``root`` saying ``running`` or ``stopped``; processes run locally. Every creation is
appended to ``root/creates.log`` as ``<tag> <provider id>``, so tests can count them."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import anyio
import attrs

import sandlot
from sandlot._backends.local import LocalTransport
from sandlot.backends import Backend, SandboxURL, registry

ROOT_VAR = "SANDLOT_TEST_FAKE_ROOT"


def _ints(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in (value.split(",") if isinstance(value, str) else value))


@attrs.frozen
class FakeOptions:
    root: str = attrs.field(factory=lambda: os.environ.get(ROOT_VAR, ""))
    tag: str | None = None
    size: tuple[int, ...] | None = attrs.field(default=None, converter=lambda v: v and _ints(v))
    env: dict[str, str] | None = None
    #: create writes ``<block>.ready``, sets ``entered`` and then waits forever (to be
    #: killed or cancelled)
    block: str | None = None
    entered: anyio.Event | None = attrs.field(default=None, eq=False)


def _state(opts: FakeOptions, ident: str) -> Path:
    return Path(opts.root) / ident


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + "." + uuid.uuid4().hex)
    tmp.write_text(text)
    os.replace(tmp, path)


def _existing(opts: FakeOptions, ident: str) -> Path:
    path = _state(opts, ident)
    if not path.exists():
        raise sandlot.SandboxNotFound(f"no fake sandbox {ident!r}")
    return path


class FakeProvisioning:
    async def create(self, options: FakeOptions) -> SandboxURL:
        if options.block:
            await anyio.Path(options.block + ".ready").write_text("")
            if options.entered is not None:
                options.entered.set()
            await anyio.sleep_forever()
        if (Path(options.root) / "down").exists():
            raise sandlot.ConnectionFailed("the fake provider is down")
        ident = "f" + uuid.uuid4().hex[:12]
        _write(_state(options, ident), "running")
        fd = os.open(Path(options.root) / "creates.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{options.tag} {ident}\n".encode())
        finally:
            os.close(fd)
        return SandboxURL("fake", ident)

    async def start(self, url: SandboxURL, options: FakeOptions) -> None:
        _write(_existing(options, url.target), "running")

    async def stop(self, url: SandboxURL, options: FakeOptions) -> None:
        _write(_existing(options, url.target), "stopped")

    async def delete(self, url: SandboxURL, options: FakeOptions) -> None:
        _existing(options, url.target).unlink()


async def connect(url: SandboxURL, options: FakeOptions) -> LocalTransport:
    if _existing(options, url.target).read_text() != "running":
        raise sandlot.ConnectionFailed(f"fake sandbox {url.target!r} is stopped")
    return LocalTransport()


backend = Backend(
    name="fake",
    schemes=("fake",),
    url_syntax="fake://<id>",
    connect=f"{__name__}:connect",
    options_type=FakeOptions,
    provisioning=FakeProvisioning(),
    new_params=("tag", "size", "env"),
)


def install(root: str | os.PathLike[str]) -> None:
    """Make ``fake://`` known in this process, its sandboxes kept in ``root``."""
    os.environ[ROOT_VAR] = os.fspath(root)
    registry()["fake"] = backend
