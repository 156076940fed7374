"""Durable sandbox records (SPEC §5): a sandlot id for each sandbox, kept in SQLite.

A record holds the provider, the provider's own id, a status, the non-secret config and
timestamps. Secrets (keys, tokens, passwords) are given again when a sandbox is opened
and are never stored: a config key that looks like one is refused.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import anyio
import attrs

from ._backends import backend_for, options_for
from ._errors import InvalidArgument, InvalidSandboxURL, SandboxNotFound, SandlotError
from .backends import parse_url

__all__ = ["SandboxRecord", "SandboxRegistry"]

Status = Literal["creating", "active", "stopped", "error"]
ConfigValue = str | int | float | bool | None

_SECRET = re.compile(r"pass|secret|token|api_?key|private|credential", re.IGNORECASE)
_ID = re.compile(r"sb_[0-9a-f]{32}\Z")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sandboxes (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    provider_id TEXT,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)
"""


def default_path() -> Path:
    """``$SANDLOT_DB``, else ``$XDG_DATA_HOME/sandlot/sandboxes.db``."""
    if env := os.environ.get("SANDLOT_DB"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "sandlot" / "sandboxes.db"


@attrs.frozen
class SandboxRecord:
    """A sandbox as sandlot remembers it."""

    id: str
    provider: str
    provider_id: str | None
    url: str
    status: Status
    config: Mapping[str, ConfigValue] = attrs.field(eq=False)
    created_at: float
    updated_at: float
    error: str | None = None


def _new_params(url: str | None) -> tuple[str | None, dict[str, str]]:
    """``<scheme>://new?name=value&...``: the URL without its query, and what it sets;
    any other URL as it is (its backend's parser judges it)."""
    base, _, query = (url or "").partition("?")
    if not base.endswith("://new") or not query:
        return url, {}
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InvalidSandboxURL(
            f"malformed query in sandbox URL {url!r}: expected name=value&..."
        ) from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise InvalidSandboxURL(f"{name!r} is set twice in {url!r}")
        params[name] = value
    return base, params


def _check_config(config: Mapping[str, Any] | None) -> dict[str, ConfigValue]:
    out: dict[str, ConfigValue] = {}
    for key, value in (config or {}).items():
        if not isinstance(key, str) or not key:
            raise InvalidArgument(f"config keys must be non-empty str, got {key!r}")
        if _SECRET.search(key):
            raise InvalidArgument(
                f"config must not hold secrets, refusing key {key!r}: pass secrets when "
                "opening the sandbox instead"
            )
        if not isinstance(value, str | int | float | bool | type(None)):
            raise InvalidArgument(f"config value of {key!r} must be a str, number or bool")
        out[key] = value
    return out


def _check_id(sandbox_id: object) -> str:
    if not isinstance(sandbox_id, str) or not _ID.match(sandbox_id):
        raise InvalidArgument(f"malformed sandbox id: {sandbox_id!r}")
    return sandbox_id


class SandboxRegistry:
    """Sandbox records in an embedded SQLite database (:func:`default_path` by default)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    def __repr__(self) -> str:
        return f"<SandboxRegistry {str(self.path)!r}>"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.execute(_SCHEMA)
        return db

    async def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            db = self._connect()
            try:
                with db:  # one transaction
                    return db.execute(sql, params).fetchall()
            finally:
                db.close()

        return await anyio.to_thread.run_sync(run)

    @staticmethod
    def _record(row: tuple[Any, ...]) -> SandboxRecord:
        sid, provider, provider_id, url, status, config, error, created, updated = row
        return SandboxRecord(
            id=sid,
            provider=provider,
            provider_id=provider_id,
            url=url,
            status=status,
            config=json.loads(config),
            created_at=created,
            updated_at=updated,
            error=error,
        )

    async def create(
        self,
        url: str | None = None,
        *,
        config: Mapping[str, ConfigValue] | None = None,
        **options: Any,
    ) -> SandboxRecord:
        """Record a sandbox. The provider comes from ``url``, then ``$SANDLOT_SANDBOX``,
        then ``local``. ``<scheme>://new`` has a provider that owns its sandboxes
        (a backend with ``provisioning``) create a new one, with the backend's options
        (``<backend name>=...``), some of which the URL may set
        (:attr:`~sandlot.backends.Backend.new_params`); other URLs are recorded as they are."""
        cfg = _check_config(config)
        url, params = _new_params(url)
        parsed = parse_url(url)
        backend = backend_for(parsed)
        provision = backend.provisioning if parsed.target == "new" else None
        unknown = [name for name in params if name not in backend.new_params]
        if unknown:
            can = ", ".join(backend.new_params) or "nothing"
            raise InvalidSandboxURL(
                f"{unknown[0]!r} cannot be set in a {parsed} URL (it can set: {can})"
            )
        opts = options_for(backend, dict(options)) if provision else None
        if params and opts is not None:
            opts = attrs.evolve(opts, **params)
        sid = "sb_" + uuid.uuid4().hex
        now = time.time()
        await self._run(
            "INSERT INTO sandboxes VALUES (?, ?, ?, ?, 'creating', ?, NULL, ?, ?)",
            (sid, backend.name, parsed.target or None, str(parsed), json.dumps(cfg), now, now),
        )
        try:
            if provision is not None:
                parsed = await provision.create(opts)
        except SandlotError as exc:
            await self._update(sid, status="error", error=str(exc))
            raise
        await self._update(sid, status="active", provider_id=parsed.target or None, url=str(parsed))
        return await self.get(sid)

    async def _update(self, sid: str, **fields: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        await self._run(
            f"UPDATE sandboxes SET {cols}, updated_at = ? WHERE id = ?",
            (*fields.values(), time.time(), sid),
        )

    async def get(self, sandbox_id: str) -> SandboxRecord:
        """The record of ``sandbox_id``; :class:`SandboxNotFound` if there is none."""
        rows = await self._run("SELECT * FROM sandboxes WHERE id = ?", (_check_id(sandbox_id),))
        if not rows:
            raise SandboxNotFound(f"no sandbox with id {sandbox_id!r} in {self.path}")
        return self._record(rows[0])

    async def list(self) -> list[SandboxRecord]:
        """Every record, oldest first."""
        rows = await self._run("SELECT * FROM sandboxes ORDER BY created_at")
        return [self._record(r) for r in rows]

    @asynccontextmanager
    async def open(self, sandbox_id: str, **options: Any) -> AsyncIterator[Any]:
        """Reconnect to the sandbox of a record by its sandlot id and mark it active; a
        stopped provider sandbox is started first. ``options`` are the backend's
        (secrets included: they are not stored)."""
        from ._sandbox import open_sandbox

        record = await self.get(sandbox_id)
        url = parse_url(record.url)
        backend = backend_for(url)
        async with self._errors_recorded(record.id):
            if record.status == "stopped" and backend.provisioning and url.target:
                await backend.provisioning.start(url, options_for(backend, dict(options)))
        async with self._errors_recorded(record.id), open_sandbox(record.url, **options) as sb:
            if record.status != "active":
                await self._update(record.id, status="active", error=None)
            yield sb

    @asynccontextmanager
    async def _errors_recorded(self, sid: str) -> AsyncIterator[None]:
        """A failure reaching the sandbox (not bad input) puts the record in ``error``."""
        try:
            yield
        except SandlotError as exc:
            if not isinstance(exc, InvalidArgument):
                await self._update(sid, status="error", error=str(exc))
            raise

    async def _provider_call(
        self, sandbox_id: str, call: Literal["stop", "delete"], options: dict[str, Any]
    ) -> SandboxRecord:
        """The record; first, if its provider owns the sandbox, ``provisioning.<call>`` on
        it (with the backend's options), a failure recorded."""
        record = await self.get(sandbox_id)
        url = parse_url(record.url)
        backend = backend_for(url)
        if backend.provisioning and url.target:
            async with self._errors_recorded(record.id):
                action = getattr(backend.provisioning, call)
                await action(url, options_for(backend, dict(options)))
        return record

    async def stop(self, sandbox_id: str, **options: Any) -> SandboxRecord:
        """Stop the sandbox and mark it stopped. A provider that owns its sandboxes stops
        it (with the backend's options, ``<backend name>=...``) and :meth:`open` starts it
        again; for a host only the record changes."""
        record = await self._provider_call(sandbox_id, "stop", options)
        await self._update(record.id, status="stopped", error=None)
        return await self.get(record.id)

    async def delete(self, sandbox_id: str, **options: Any) -> None:
        """Delete the sandbox, if its provider owns it (with the backend's options,
        ``<backend name>=...``), then its record; for a host only the record goes."""
        record = await self._provider_call(sandbox_id, "delete", options)
        await self._run("DELETE FROM sandboxes WHERE id = ?", (record.id,))

    async def remove(self, sandbox_id: str) -> None:
        """Forget the record (the sandbox itself is left as it is)."""
        await self.get(sandbox_id)
        await self._run("DELETE FROM sandboxes WHERE id = ?", (sandbox_id,))
