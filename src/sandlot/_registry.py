"""Durable sandbox records (SPEC §5): a sandlot id for each sandbox, in SQLite or PostgreSQL.

A record holds the provider, the provider's own id, a status, the non-secret config and
timestamps. Secrets (keys, tokens, passwords) are given again when a sandbox is opened
and are never stored: a config key that looks like one is refused.

Every status change is a compare-and-set on the record's ``version``, so workers sharing
the records never lose an update and never both provision one sandbox; a record being
created holds a lease, and one whose creator died is ``error`` once the lease ends.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
import attrs

from ._backends import backend_for, options_for
from ._errors import (
    InvalidArgument,
    InvalidSandboxURL,
    RecordConflict,
    SandboxNotFound,
    SandlotError,
)
from ._store import Row, Store, default_location, open_store
from ._store import is_postgres as _is_postgres
from .backends import Backend, parse_url
from .backends import SandboxURL as _URL

__all__ = ["SandboxRecord", "SandboxRegistry"]

Status = Literal["creating", "active", "stopped", "error"]
ConfigValue = str | int | float | bool | None
T = TypeVar("T")

STATUSES: tuple[Status, ...] = ("creating", "active", "stopped", "error")
#: The status changes a record may make (``creating`` is entered only with a lease).
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "creating": frozenset({"active", "error"}),
    "active": frozenset({"active", "stopped", "error", "creating"}),
    "stopped": frozenset({"stopped", "active", "error", "creating"}),
    "error": frozenset({"error", "active", "stopped", "creating"}),
}

_SECRET = re.compile(r"pass|secret|token|api_?key|private|credential", re.IGNORECASE)
_ID = re.compile(r"sb_[0-9a-f]{32}\Z")
_ABANDONED = "abandoned while creating: its worker's lease ended"


def default_path() -> Path:
    """``$SANDLOT_DB``, else ``$XDG_DATA_HOME/sandlot/sandboxes.db``."""
    return Path(default_location())


@attrs.frozen
class SandboxRecord:
    """A sandbox as sandlot remembers it.

    ``version`` grows with every change (the compare-and-set token); ``params`` are the
    provider options it was created with (non-secret), which ``recreate`` uses;
    ``recreated_at`` says when its provider sandbox was last created again;
    ``provisioned``: sandlot created the provider's sandbox (``<scheme>://new``), so it
    may create it again (a sandbox merely recorded by its URL is never recreated).
    """

    id: str
    provider: str
    provider_id: str | None
    url: str
    status: Status
    config: Mapping[str, ConfigValue] = attrs.field(eq=False)
    created_at: float
    updated_at: float
    error: str | None = None
    purpose: str | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict, eq=False)
    params: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    idempotency_key: str | None = None
    version: int = 0
    lease_until: float | None = None
    recreated_at: float | None = None
    provisioned: bool = False


def _record(row: Row) -> SandboxRecord:
    return SandboxRecord(
        id=row["id"],
        provider=row["provider"],
        provider_id=row["provider_id"],
        url=row["url"],
        status=row["status"],
        config=json.loads(row["config"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        error=row["error"],
        purpose=row["purpose"],
        labels=json.loads(row["labels"]),
        params=json.loads(row["params"]),
        idempotency_key=row["idem_key"],
        version=row["version"],
        lease_until=row["lease_until"],
        recreated_at=row["recreated_at"],
        provisioned=bool(row["provisioned"]),
    )


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


def _refuse_secret(key: str, what: str) -> None:
    if _SECRET.search(key):
        raise InvalidArgument(
            f"{what} must not hold secrets, refusing key {key!r}: pass secrets when "
            "opening the sandbox instead"
        )


def _check_config(config: Mapping[str, Any] | None) -> dict[str, ConfigValue]:
    out: dict[str, ConfigValue] = {}
    for key, value in (config or {}).items():
        if not isinstance(key, str) or not key:
            raise InvalidArgument(f"config keys must be non-empty str, got {key!r}")
        _refuse_secret(key, "config")
        if not isinstance(value, str | int | float | bool | type(None)):
            raise InvalidArgument(f"config value of {key!r} must be a str, number or bool")
        out[key] = value
    return out


def _check_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (labels or {}).items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise InvalidArgument(f"labels must map non-empty str to str, got {key!r}: {value!r}")
        _refuse_secret(key, "labels")
        out[key] = value
    return out


def _jsonable(value: Any, where: str) -> Any:
    """``value`` as JSON data (tuples become lists); mapping keys are checked for
    secrets (a provider's ``env`` is stored: its names must not look like secrets)."""
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise InvalidArgument(f"{where}: keys must be str, got {key!r}")
            _refuse_secret(key, where)
        return {k: _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    raise InvalidArgument(f"{where} must be JSON data (str, number, bool, list, dict)")


def _check_id(sandbox_id: object) -> str:
    if not isinstance(sandbox_id, str) or not _ID.match(sandbox_id):
        raise InvalidArgument(f"malformed sandbox id: {sandbox_id!r}")
    return sandbox_id


def _label_filter(label: str | Iterable[str] | None) -> list[tuple[str, str | None]]:
    """``"key=value"`` (or ``"key"``: any value), or several of them (all must match)."""
    if label is None:
        return []
    wanted = []
    for item in [label] if isinstance(label, str) else label:
        key, eq, value = item.partition("=")
        wanted.append((key, value if eq else None))
    return wanted


def _labelled(record: SandboxRecord, wanted: list[tuple[str, str | None]]) -> bool:
    return all(
        key in record.labels and (value is None or record.labels[key] == value)
        for key, value in wanted
    )


class SandboxRegistry:
    """Sandbox records in a SQLite file (a path; :func:`default_path` by default) or in
    PostgreSQL (a ``postgresql://`` URL), either given or in ``$SANDLOT_DB``.

    ``lease``: seconds a worker may take to create a sandbox before others may consider
    it dead (its record goes to ``error``). ``pool_size``: connections kept open.
    Use ``async with`` (or :meth:`aclose`) to close the connections.
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | None = None,
        *,
        lease: float = 600.0,
        pool_size: int = 8,
    ) -> None:
        where = os.fspath(location) if location is not None else default_location()
        self.path: Path | None = None if _is_postgres(where) else Path(where)
        self.lease = lease
        self._store: Store = open_store(where, pool_size=pool_size)

    @property
    def location(self) -> str:
        """The file, or the URL without its password."""
        return self._store.location

    def __repr__(self) -> str:
        return f"<SandboxRegistry {self.location!r}>"

    async def __aenter__(self) -> SandboxRegistry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections (they reopen on next use)."""
        await anyio.to_thread.run_sync(self._store.close)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args)

    # -- reading -----------------------------------------------------------------------

    async def _settle(self, row: Row | None) -> Row | None:
        """The row; one ``creating`` past its lease is first put in ``error``."""
        if row is None or row["status"] != "creating" or row["lease_until"] >= time.time():
            return row
        await self._call(self._store.expire, time.time(), _ABANDONED, row["id"])
        return await self._call(self._store.get, row["id"])

    async def get(self, sandbox_id: str) -> SandboxRecord:
        """The record of ``sandbox_id``; :class:`SandboxNotFound` if there is none."""
        row = await self._settle(await self._call(self._store.get, _check_id(sandbox_id)))
        if row is None:
            raise SandboxNotFound(f"no sandbox with id {sandbox_id!r} in {self.location}")
        return _record(row)

    async def list(
        self,
        *,
        purpose: str | None = None,
        status: Status | None = None,
        label: str | Iterable[str] | None = None,
    ) -> list[SandboxRecord]:
        """The records, oldest first; only those with this ``purpose``, ``status`` and
        label (``"key=value"``, or ``"key"`` for any value; several: all of them)."""
        if status is not None and status not in STATUSES:
            raise InvalidArgument(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        wanted = _label_filter(label)
        now = time.time()
        if status == "error":  # those past their lease are errors too: settle them first
            await self._call(self._store.expire, now, _ABANDONED, None)
        rows = await self._call(self._store.list, purpose, status)
        if any(r["status"] == "creating" and r["lease_until"] < now for r in rows):
            await self._call(self._store.expire, now, _ABANDONED, None)
            rows = await self._call(self._store.list, purpose, status)
        return [rec for rec in map(_record, rows) if _labelled(rec, wanted)]

    # -- compare-and-set ---------------------------------------------------------------

    async def _cas(self, record: SandboxRecord, **fields: Any) -> SandboxRecord | None:
        """``fields`` set if ``record`` is still current; the new record, else ``None``."""
        status = fields.get("status", record.status)
        if status != record.status and status not in TRANSITIONS[record.status]:
            raise InvalidArgument(f"a {record.status} sandbox cannot become {status}")
        if status != "creating":
            fields.setdefault("lease_until", None)
        fields["updated_at"] = time.time()
        row = await self._call(self._store.update, record.id, record.version, fields)
        return None if row is None else _record(row)

    async def compare_and_set(
        self,
        record: SandboxRecord,
        *,
        status: Status | None = None,
        purpose: str | None = None,
        labels: Mapping[str, str] | None = None,
        config: Mapping[str, ConfigValue] | None = None,
        error: str | None = None,
    ) -> SandboxRecord:
        """Change the record if nobody changed it since ``record`` was read (same
        ``version``); the new record. :class:`RecordConflict` if it changed (read it
        again and decide again). ``status`` must be a legal move (``creating`` is not:
        only :meth:`create` and recreation enter it, with a lease); ``error`` is kept
        only with ``status="error"``."""
        if record.status == "creating":
            raise RecordConflict(
                f"sandbox {record.id} is being created by another worker: try again later"
            )
        fields: dict[str, Any] = {}
        if status is not None:
            if status not in STATUSES or status == "creating":
                raise InvalidArgument(f"cannot set status {status!r}")
            fields["status"] = status
            fields["error"] = error if status == "error" else None
        if purpose is not None:
            fields["purpose"] = purpose
        if labels is not None:
            fields["labels"] = json.dumps(_check_labels(labels))
        if config is not None:
            fields["config"] = json.dumps(_check_config(config))
        new = await self._cas(record, **fields)
        if new is None:
            raise RecordConflict(
                f"sandbox {record.id} changed since version {record.version}: read it again"
            )
        return new

    # -- creating ----------------------------------------------------------------------

    async def create(
        self,
        url: str | None = None,
        *,
        config: Mapping[str, ConfigValue] | None = None,
        purpose: str | None = None,
        labels: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> SandboxRecord:
        """Record a sandbox. The provider comes from ``url``, then ``$SANDLOT_SANDBOX``,
        then ``local``. ``<scheme>://new`` has a provider that owns its sandboxes
        (a backend with ``provisioning``) create a new one, with the backend's options
        (``<backend name>=...``), some of which (:attr:`~sandlot.backends.Backend.new_params`)
        the URL's query or ``params`` may set; they are stored (never secrets) so that
        :meth:`open` can recreate it. Other URLs are recorded as they are.

        ``config`` (free-form), ``purpose`` and ``labels`` are stored as given. With an
        ``idempotency_key``, a retry returns the record the first call made (waiting
        while another worker creates it; taking over if that worker died)."""
        cfg = _check_config(config)
        tags = _check_labels(labels)
        if purpose is not None and not isinstance(purpose, str):
            raise InvalidArgument(f"purpose must be a str, not {type(purpose).__name__}")
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not idempotency_key
        ):
            raise InvalidArgument(f"idempotency_key must be a non-empty str: {idempotency_key!r}")
        url, query = _new_params(url)
        parsed = parse_url(url)
        backend = backend_for(parsed)
        provision = parsed.target == "new" and backend.provisioning is not None
        given = {**(params or {}), **query}
        unknown = [name for name in given if name not in backend.new_params]
        if unknown:
            can = ", ".join(backend.new_params) or "nothing"
            raise InvalidSandboxURL(
                f"{unknown[0]!r} cannot be set in a {parsed} URL (it can set: {can})"
            )
        stored: dict[str, Any] = {}
        if provision:
            opts = options_for(backend, dict(options))
            if given and opts is not None:
                try:
                    opts = attrs.evolve(opts, **given)
                except (TypeError, ValueError) as exc:
                    raise InvalidArgument(f"bad {backend.name} params {given}: {exc}") from None
            stored = {
                name: _jsonable(value, f"params.{name}")
                for name in backend.new_params
                if (value := getattr(opts, name, None)) is not None
            }
        now = time.time()
        row: Row = {
            "id": "sb_" + uuid.uuid4().hex,
            "provider": backend.name,
            "provider_id": None if provision else parsed.target or None,
            "url": str(parsed),
            "status": "creating" if provision else "active",
            "config": json.dumps(cfg),
            "error": None,
            "created_at": now,
            "updated_at": now,
            "purpose": purpose,
            "labels": json.dumps(tags),
            "params": json.dumps(stored),
            "idem_key": idempotency_key,
            "version": 0,
            "lease_until": now + self.lease if provision else None,
            "recreated_at": None,
            "provisioned": 1 if provision else 0,
        }
        got = await self._call(self._store.insert, row)
        record = _record(got)
        if got["id"] != row["id"]:  # a retry: the first call's record
            return await self._finish_retry(record, backend, options)
        if not provision:
            return record
        return await self._provision(record, backend, options, recreated=False)

    async def _finish_retry(
        self, record: SandboxRecord, backend: Backend, options: dict[str, Any]
    ) -> SandboxRecord:
        """The record an idempotent create made: once no one creates it any more; if its
        creation failed (or its worker died) before the provider made it, created again
        by this call."""
        delay = 0.02
        while True:
            record = await self.get(record.id)
            if record.status != "creating":
                break
            await anyio.sleep(delay)  # another worker is creating it: poll, backing off
            delay = min(delay * 2, 0.5)
        if record.status != "error" or record.provider_id or backend.provisioning is None:
            return record  # (an error after it was made is not the creation's to repair)
        claimed = await self._cas(
            record, status="creating", lease_until=time.time() + self.lease, error=None
        )
        if claimed is None:  # another retry took it over
            return await self._finish_retry(record, backend, options)
        return await self._provision(claimed, backend, options, recreated=False)

    async def _provision(
        self, claimed: SandboxRecord, backend: Backend, options: dict[str, Any], *, recreated: bool
    ) -> SandboxRecord:
        """Create the provider sandbox of a record this worker holds in ``creating``."""
        assert backend.provisioning is not None
        opts = options_for(backend, dict(options))
        if claimed.params and opts is not None:
            try:
                opts = attrs.evolve(opts, **claimed.params)
            except TypeError as exc:
                raise InvalidArgument(f"stored params of {claimed.id} do not fit: {exc}") from None
        try:
            made = await backend.provisioning.create(opts)
        except BaseException as exc:
            if isinstance(exc, SandlotError):
                message = str(exc)
            elif isinstance(exc, anyio.get_cancelled_exc_class()):
                message = "creation cancelled"
            else:
                message = f"{type(exc).__name__}: {exc}"
            with anyio.CancelScope(shield=True):
                await self._cas(claimed, status="error", error=message)
            raise
        fields: dict[str, Any] = {"status": "active", "provider_id": made.target, "url": str(made)}
        if recreated:
            fields["recreated_at"] = time.time()
        done = await self._cas(claimed, **fields, error=None)
        if done is None:
            # Our lease ended and another worker moved the record on: what we made is
            # no one's, so it goes.
            with anyio.CancelScope(shield=True):
                try:
                    await backend.provisioning.delete(made, opts)
                except SandlotError:
                    pass
            raise RecordConflict(
                f"sandbox {claimed.id} changed while this worker created it (its lease of "
                f"{self.lease:g} s ended): read it again"
            )
        return done

    async def _recreate(
        self, record: SandboxRecord, backend: Backend, options: dict[str, Any]
    ) -> SandboxRecord:
        """Create the provider sandbox of ``record`` again, from its stored params."""
        claimed = await self._cas(
            record, status="creating", lease_until=time.time() + self.lease, error=None
        )
        if claimed is None:
            raise RecordConflict(f"sandbox {record.id} changed while recreating: read it again")
        return await self._provision(claimed, backend, options, recreated=True)

    # -- lifecycle ---------------------------------------------------------------------

    async def _current(self, sandbox_id: str) -> SandboxRecord:
        """The record, refusing one another worker is creating."""
        record = await self.get(sandbox_id)
        if record.status == "creating":
            raise RecordConflict(
                f"sandbox {record.id} is being created by another worker: try again later"
            )
        return record

    async def _failed(self, record: SandboxRecord, exc: SandlotError) -> None:
        """A failure reaching the sandbox (not bad input) puts the record in ``error``
        (unless another worker changed it meanwhile: its news is newer)."""
        if not isinstance(exc, InvalidArgument | RecordConflict):
            with anyio.CancelScope(shield=True):
                await self._cas(record, status="error", error=str(exc))

    @staticmethod
    def _owned(record: SandboxRecord) -> tuple[Backend, _URL, bool]:
        url = parse_url(record.url)
        backend = backend_for(url)
        return backend, url, backend.provisioning is not None and bool(url.target)

    async def start(
        self, sandbox_id: str, *, recreate: bool = False, **options: Any
    ) -> SandboxRecord:
        """Start the sandbox if it is stopped (or in ``error``) and mark it active; a
        provider sandbox that is gone is created again with ``recreate=True``."""
        record = await self._current(sandbox_id)
        backend, url, owned = self._owned(record)
        if owned and record.status in ("stopped", "error"):
            assert backend.provisioning is not None
            try:
                await backend.provisioning.start(url, options_for(backend, dict(options)))
            except SandboxNotFound as exc:
                if not (recreate and record.provisioned):
                    await self._failed(record, exc)
                    raise
                return await self._recreate(record, backend, options)
            except SandlotError as exc:
                await self._failed(record, exc)
                raise
        if record.status == "active":
            return record
        new = await self._cas(record, status="active", error=None)
        if new is None:
            raise RecordConflict(f"sandbox {record.id} changed while starting: read it again")
        return new

    @asynccontextmanager
    async def open(
        self, sandbox_id: str, *, recreate: bool = False, **options: Any
    ) -> AsyncIterator[Any]:
        """Reconnect to the sandbox of a record by its sandlot id and mark it active; a
        stopped provider sandbox is started first, and with ``recreate=True`` one that is
        gone is created again from the record's params if sandlot created it (same
        sandlot id; the record notes the new provider id and ``recreated_at``).
        ``options`` are the backend's (secrets included: they are not stored)."""
        from ._sandbox import open_sandbox

        record = await self._current(sandbox_id)
        backend, _, owned = self._owned(record)
        if record.status == "stopped":
            record = await self.start(record.id, recreate=recreate, **options)
        async with AsyncExitStack() as stack:
            try:
                sb = await stack.enter_async_context(open_sandbox(record.url, **options))
            except SandboxNotFound as exc:
                if not (recreate and owned and record.provisioned):
                    await self._failed(record, exc)
                    raise
                record = await self._recreate(record, backend, options)
                sb = await stack.enter_async_context(open_sandbox(record.url, **options))
            except SandlotError as exc:
                await self._failed(record, exc)
                raise
            if record.status != "active":
                await self._cas(record, status="active", error=None)
            yield sb

    async def _provider_call(
        self, sandbox_id: str, call: Literal["stop", "delete"], options: dict[str, Any]
    ) -> SandboxRecord:
        """The record; first, if its provider owns the sandbox, ``provisioning.<call>`` on
        it (with the backend's options), a failure recorded."""
        record = await self._current(sandbox_id)
        backend, url, owned = self._owned(record)
        if owned:
            try:
                action = getattr(backend.provisioning, call)
                await action(url, options_for(backend, dict(options)))
            except SandlotError as exc:
                await self._failed(record, exc)
                raise
        return record

    async def stop(self, sandbox_id: str, **options: Any) -> SandboxRecord:
        """Stop the sandbox and mark it stopped. A provider that owns its sandboxes stops
        it (with the backend's options, ``<backend name>=...``) and :meth:`open` starts it
        again; for a host only the record changes."""
        record = await self._provider_call(sandbox_id, "stop", options)
        new = await self._cas(record, status="stopped", error=None)
        if new is None:
            raise RecordConflict(f"sandbox {record.id} changed while stopping: read it again")
        return new

    async def delete(self, sandbox_id: str, **options: Any) -> None:
        """Delete the sandbox, if its provider owns it (with the backend's options,
        ``<backend name>=...``), then its record; for a host only the record goes."""
        record = await self._provider_call(sandbox_id, "delete", options)
        await self._call(self._store.delete, record.id, None)

    async def remove(self, sandbox_id: str) -> None:
        """Forget the record (the sandbox itself is left as it is)."""
        await self.get(sandbox_id)
        await self._call(self._store.delete, sandbox_id, None)
