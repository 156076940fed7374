"""A worker that dies while creating a sandbox: ``block_worker.py STORE ROOT KEY LEASE``.
Its provider's create writes ``ROOT/block.ready`` and never returns (the test kills it)."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

import fake_backend
import sandlot


async def main(store: str, root: Path, key: str, lease: float) -> None:
    fake_backend.install(root)
    opts = fake_backend.FakeOptions(block=str(root / "block"))
    async with sandlot.SandboxRegistry(store, lease=lease) as reg:
        await reg.create(f"fake://new?tag={key}", idempotency_key=key, fake=opts)


if __name__ == "__main__":
    store, root, key, lease = sys.argv[1:]
    anyio.run(main, store, Path(root), key, float(lease))
