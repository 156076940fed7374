"""Run a test suite in a sandbox and show its output live, stdout and stderr apart.

    python examples/test_runner.py [SANDBOX_URL]      # default: local

It writes a small unittest module into a scratch directory of the sandbox, runs it with
``spawn`` and prints each line as it arrives, tagged with the stream it came from.
"""

from __future__ import annotations

import sys

import anyio

import sandlot

TESTS = b"""\
import sys, time, unittest

class Demo(unittest.TestCase):
    def test_one(self):
        print("progress from test_one", flush=True)

    def test_two(self):
        time.sleep(0.1)
        self.assertEqual(6 * 7, 42)

    def test_three(self):
        self.assertEqual(6 * 9, 42, "the question was wrong")
"""


async def show(stream: sandlot.ProcessOutput, tag: str) -> None:
    """Print complete lines as they arrive."""
    pending = b""
    async for chunk in stream:
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            print(f"[{tag}] {line.decode(errors='replace')}", flush=True)
    if pending:
        print(f"[{tag}] {pending.decode(errors='replace')}", flush=True)


async def main(url: str) -> int:
    async with sandlot.open_sandbox(url) as sb:
        scratch = (await sb.exec("mktemp", ["-d"], check=True)).stdout.decode().strip()
        try:
            await sb.write_file(f"{scratch}/test_demo.py", TESTS)
            async with sb.spawn("python3", ["-u", "-m", "unittest", "-v"], cwd=scratch) as proc:
                await proc.stdin.aclose()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(show, proc.stdout, "out")
                    tg.start_soon(show, proc.stderr, "err")
                status = await proc.exit
        finally:
            await sb.exec("rm", ["-rf", scratch])
    print(f"test run finished: {status}")
    return status.shell_code


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "local"))
