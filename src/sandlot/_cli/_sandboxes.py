"""``sandlot sandboxes``: the durable sandbox records (SPEC §5), in the registry that
``--db`` or ``$SANDLOT_DB`` names (a SQLite file or a ``postgresql://`` URL)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import attrs

from .._registry import STATUSES, SandboxRecord, SandboxRegistry
from ._config import backend_options, resolve
from ._errors import UsageError
from ._io import STDOUT, write_fd

__all__ = ["add_parsers", "run"]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``sandlot sandboxes create|ls|show|start|stop|rm``."""
    group = sub.add_parser(
        "sandboxes",
        parents=[common],
        help="durable sandbox records: create, list, start, stop, remove",
        description="Sandbox records keep a sandlot id for each sandbox, shared by every "
        "worker that uses the same registry (--db, else $SANDLOT_DB: a SQLite file or a "
        "postgresql:// URL).",
    )
    verbs = group.add_subparsers(dest="verb", metavar="VERB", parser_class=type(group))
    verbs.required = True

    def verb(name: str, help: str, *, with_id: bool = True) -> Any:
        p = verbs.add_parser(name, parents=[common], help=help, description=help)
        p.add_argument("--db", metavar="DB", help="the registry (default: $SANDLOT_DB)")
        if with_id:
            p.add_argument("id", metavar="ID", help="the sandlot id (sb_...)")
        p.set_defaults(run="sandboxes", needs_command=None, with_id=False, words=[])
        return p

    p = verb(
        "create", "record a sandbox (<scheme>://new creates one) and print its id", with_id=False
    )
    p.add_argument(
        "sandbox",
        nargs="?",
        metavar="SANDBOX",
        help="a URL or a configured name (its options are used); default: $SANDLOT_SANDBOX, "
        "else local",
    )
    p.add_argument("--purpose", help="what it is for (ls --purpose finds it)")
    p.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument(
        "--config", action="append", default=[], metavar="KEY=VALUE", help="free-form, stored"
    )
    p.add_argument("--key", metavar="KEY", help="idempotency key: a retry returns the same record")

    p = verb("ls", "list the records", with_id=False)
    p.add_argument("--purpose")
    p.add_argument("--status", choices=STATUSES)
    p.add_argument(
        "--label", action="append", default=[], metavar="KEY[=VALUE]", help="all must match"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    verb("show", "print a record as JSON")
    p = verb("start", "start a stopped sandbox (--recreate: create it again if it is gone)")
    p.add_argument("--recreate", action="store_true")
    verb("stop", "stop the sandbox (its files stay; start resumes it)")
    p = verb("rm", "delete the sandbox (if its provider owns it) and its record")
    p.add_argument(
        "--keep-sandbox", action="store_true", help="only forget the record, leave the sandbox"
    )


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(f"{what} must be KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def as_json(record: SandboxRecord) -> dict[str, Any]:
    return {
        f.name: (dict(v) if isinstance(v := getattr(record, f.name), dict) else v)
        for f in attrs.fields(SandboxRecord)
    }


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


async def _table(records: list[SandboxRecord]) -> None:
    rows = [("ID", "STATUS", "PROVIDER", "PROVIDER ID", "PURPOSE", "CREATED", "LABELS")]
    for r in records:
        labels = ",".join(f"{k}={v}" for k, v in r.labels.items())
        rows.append(
            (r.id, r.status, r.provider, r.provider_id or "-", r.purpose or "-",
             _when(r.created_at), labels)
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[6]]).rstrip()
             for r in rows]  # fmt: skip
    await write_fd(STDOUT, ("\n".join(lines) + "\n").encode())


async def run(args: argparse.Namespace) -> int:
    async with SandboxRegistry(args.db) as registry:
        if args.verb == "create":
            spec = args.sandbox
            # ``<scheme>://new?name=value``: the query is the registry's to read.
            new = spec is not None and "://new?" in spec
            target = resolve(None if new else spec)
            if new:
                target = attrs.evolve(target, name=spec, url=spec, options={})
            record = await registry.create(
                target.url,
                purpose=args.purpose,
                labels=_pairs(args.label, "--label"),
                config=_pairs(args.config, "--config"),
                idempotency_key=args.key,
                **backend_options(target),
            )
            await write_fd(STDOUT, f"{record.id}\n".encode())
        elif args.verb == "ls":
            records = await registry.list(
                purpose=args.purpose, status=args.status, label=args.label or None
            )
            if args.json:
                text = "".join(json.dumps(as_json(r)) + "\n" for r in records)
                await write_fd(STDOUT, text.encode())
            else:
                await _table(records)
        elif args.verb == "show":
            record = await registry.get(args.id)
            await write_fd(STDOUT, (json.dumps(as_json(record), indent=2) + "\n").encode())
        elif args.verb == "start":
            record = await registry.start(args.id, recreate=args.recreate)
            await write_fd(STDOUT, f"{record.id} {record.status}\n".encode())
        elif args.verb == "stop":
            record = await registry.stop(args.id)
            await write_fd(STDOUT, f"{record.id} {record.status}\n".encode())
        elif args.keep_sandbox:
            await registry.remove(args.id)
        else:
            await registry.delete(args.id)
    return 0
