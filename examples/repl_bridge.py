"""Drive a Python REPL over a pty: send a line, read until the next prompt.

python examples/repl_bridge.py [SANDBOX_URL]      # default: local
"""

from __future__ import annotations

import sys

import anyio

import sandlot

PROMPT = b">>> "


class Repl:
    """A line-at-a-time driver for an interactive ``python3`` on a terminal."""

    def __init__(self, term: sandlot.Terminal) -> None:
        self.term = term
        self.buffer = b""

    async def read_until_prompt(self) -> bytes:
        while PROMPT not in self.buffer:
            self.buffer += await self.term.output.receive()
        before, _, self.buffer = self.buffer.partition(PROMPT)
        return before

    async def run(self, line: str) -> str:
        await self.term.input.send(line.encode() + b"\r")
        echoed_and_output = await self.read_until_prompt()
        # The terminal echoes what we typed, then the REPL answers; lines end in \r\n.
        lines = echoed_and_output.decode().replace("\r\n", "\n").split("\n", 1)
        return lines[1].rstrip("\n") if len(lines) > 1 else ""


async def main(url: str) -> None:
    async with (
        sandlot.open_sandbox(url) as sb,
        sb.pty("python3", ["-q", "-i"], env={"PYTHONSTARTUP": ""}) as term,
    ):
        repl = Repl(term)
        with anyio.fail_after(30):
            await repl.read_until_prompt()
            for line in ["x = 6 * 7", "x", "import sys; sys.stdin.isatty()", "'é' * 3"]:
                print(f"{line} -> {await repl.run(line)!r}")
            await term.input.send(b"raise SystemExit(4)\r")
            print(f"repl ended: {await term.exit}")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "local")
