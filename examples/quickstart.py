"""The README demo: exec, spawn and pty on one sandbox.

python examples/quickstart.py [SANDBOX_URL]      # default: local
"""

from __future__ import annotations

import sys

import anyio

import sandlot


async def main(url: str) -> None:
    async with sandlot.open_sandbox(url) as sb:
        # exec: run to completion, get the output and the exit status.
        r = await sb.exec("sh", ["-c", "echo hello from $0; echo oops >&2; exit 3"])
        print(f"exec: stdout={r.stdout!r} stderr={r.stderr!r} exit={r.exit}")

        # spawn: separate streams, stdin with EOF.
        async with sb.spawn("sort") as proc:
            await proc.stdin.send(b"pear\napple\nfig\n")
            await proc.stdin.aclose()
            print(f"spawn: {(await proc.stdout.read_all()).split()} {await proc.exit}")

        # pty: a real terminal, resizable.
        async with sb.pty("sh", size=sandlot.TerminalSize(rows=24, cols=80)) as term:
            await term.resize(rows=40, cols=132)
            await term.input.send(b"stty size; exit 7\n")
            output = await term.output.read_all()
            size = "40 132" if b"40 132" in output else "?"
            print(f"pty: stty size says {size}; {await term.exit}")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "local")
