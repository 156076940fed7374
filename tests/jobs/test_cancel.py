"""A cancelled :meth:`Jobs.start` leaves nothing behind, whatever the launcher does later.

On Docker and Daytona a cancelled exec is abandoned, not killed at once: launch.sh goes
on in the sandbox after ``start``'s cleanup has looked. These tests make that order
certain with an exec target that holds the launcher's exec (never sleeps), on every
target.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import pytest

import sandlot
from sandlot import Jobs
from sandlot._jobs import _script
from sandlot._records import ExecResult

from . import DEADLINE, processes_mentioning

_MKDIR = 'mkdir "$job_dir" 2>/dev/null || { echo "sandlot-job exists"; exit 0; }\n'


class AbandonedLaunch:
    """Runs every exec on ``sb``, except the launcher's: that one is held (its caller
    waits until cancelled) so the test decides when, and whether, it runs."""

    def __init__(self, sb: sandlot.Sandbox, patch: Callable[[str], str] = str) -> None:
        self.sb = sb
        self.patch = patch
        self.held = anyio.Event()
        self.cleanup_began = anyio.Event()
        self.launch: tuple[str, list[str], dict[str, Any]] | None = None

    @property
    def backend(self) -> str:
        return self.sb.backend

    async def exec(
        self,
        cmd: str,
        args: Sequence[str] | None = None,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        argv = list(args or ())
        options: dict[str, Any] = {"cwd": cwd, "env": env, "input": input, "timeout": timeout}
        if argv[:2] == ["-c", _script.load("launch")]:
            self.launch = (cmd, ["-c", self.patch(argv[1]), *argv[2:]], options)
            self.held.set()
            await anyio.sleep_forever()
        if self.held.is_set():
            self.cleanup_began.set()
        return await self.sb.exec(cmd, argv, **options)

    async def run_launch(self) -> ExecResult:
        """The held launcher's exec, run now (as the abandoned exec would run on)."""
        assert self.launch is not None
        cmd, argv, options = self.launch
        return await self.sb.exec(cmd, argv, **options)


async def _cancelled_start(jobs: Jobs, job_id: str, cancel_on: anyio.Event) -> None:
    """``jobs.start`` for ``job_id``, cancelled once ``cancel_on`` is set; the cleanup
    has run when this returns."""
    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as scope:

            async def cancel() -> None:
                await cancel_on.wait()
                scope.cancel()

            tg.start_soon(cancel)
            await jobs.start("sleep", ["60"], job_id=job_id)
        assert scope.cancelled_caught


async def _nothing_left(sb: sandlot.Sandbox, jobs: Jobs, job_id: str) -> None:
    assert await Jobs(sb, root=jobs.root).list() == []
    assert await processes_mentioning(sb, f"{jobs.root}/{job_id}/") == b""


async def test_a_launcher_that_comes_after_the_cleanup_starts_nothing(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    target = AbandonedLaunch(sb)
    jobs = Jobs(target, root=f"{scratch}/jobs")
    job_id = "late-launcher"
    with anyio.fail_after(DEADLINE):
        await _cancelled_start(jobs, job_id, target.held)
        # The abandoned launcher reaches the sandbox only now, after the cleanup.
        late = await target.run_launch()
    assert late.stdout == b"sandlot-job exists\n"
    await _nothing_left(sb, jobs, job_id)
    # What is left is a tombstone: not a job, listed nowhere.
    ls = await sb.exec("ls", ["-A", f"{jobs.root}/{job_id}"])
    assert ls.check().stdout == b"cancelled\n"
    with pytest.raises(sandlot.UnknownJob):
        await Jobs(sb, root=jobs.root).attach(job_id)


async def test_a_launcher_held_past_mkdir_is_waited_for_and_removed(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    # The launcher has made the job's directory, says so on one FIFO, and waits on
    # another until the cleanup has begun: the cleanup must wait for the job, remove it.
    here, gate = f"{scratch}/here", f"{scratch}/gate"
    (await sb.exec("mkfifo", [here, gate])).check()
    hold = f'echo > "{here}"; read -r _ < "{gate}"\n'

    def patch(text: str) -> str:
        assert _MKDIR in text
        return text.replace(_MKDIR, _MKDIR + hold, 1)

    target = AbandonedLaunch(sb, patch)
    jobs = Jobs(target, root=f"{scratch}/jobs")
    job_id = "held-launcher"
    late: list[ExecResult] = []
    past_mkdir = anyio.Event()
    with anyio.fail_after(DEADLINE):
        async with anyio.create_task_group() as tg:

            async def launcher_runs_on() -> None:
                await target.held.wait()
                late.append(await target.run_launch())

            async def wait_past_mkdir() -> None:
                await target.held.wait()
                (await sb.exec("cat", [here])).check()
                past_mkdir.set()

            async def release_at_cleanup() -> None:
                await target.cleanup_began.wait()
                (await sb.exec("sh", ["-c", 'echo go > "$1"', "sh", gate])).check()

            tg.start_soon(launcher_runs_on)
            tg.start_soon(wait_past_mkdir)
            tg.start_soon(release_at_cleanup)
            await _cancelled_start(jobs, job_id, past_mkdir)
    [result] = late
    assert result.stdout.startswith(b"sandlot-job started ")
    await _nothing_left(sb, jobs, job_id)
    assert (await sb.exec("test", ["-e", f"{jobs.root}/{job_id}"])).exit.code == 1


async def test_a_finished_launch_whose_reply_is_lost_is_removed(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    # The launcher ran to its end in the sandbox; the caller was cancelled before the reply.
    target = AbandonedLaunch(sb)
    jobs = Jobs(target, root=f"{scratch}/jobs")
    job_id = "finished-launcher"
    launched = anyio.Event()
    with anyio.fail_after(DEADLINE):
        async with anyio.create_task_group() as tg:

            async def launcher_runs_on() -> None:
                await target.held.wait()
                result = await target.run_launch()
                assert result.stdout.startswith(b"sandlot-job started ")
                launched.set()

            tg.start_soon(launcher_runs_on)
            await _cancelled_start(jobs, job_id, launched)
    await _nothing_left(sb, jobs, job_id)


async def test_tombstones_count_for_nothing_and_are_pruned_after_ten_minutes(
    sb: sandlot.Sandbox, scratch: str
) -> None:
    root = f"{scratch}/jobs"
    jobs = Jobs(sb, root=root, limits=sandlot.JobLimits(max_concurrent=1, kill_grace=0.5))
    # Two tombstones: one claimed just now, one 601 s ago.
    script = (
        'mkdir -p "$1/fresh" "$1/stale"; date +%s > "$1/fresh/cancelled"; '
        'echo $(($(date +%s) - 601)) > "$1/stale/cancelled"'
    )
    (await sb.exec("sh", ["-c", script, "sh", root])).check()
    # A start with a tombstoned id starts nothing; another one is not held back by them.
    with pytest.raises(sandlot.InvalidArgument, match="a job with id 'fresh' already exists"):
        await jobs.start("sleep", ["60"], job_id="fresh")
    handle = await jobs.start("sleep", ["60"], job_id="real")
    try:
        assert [info.handle for info in await jobs.list()] == [handle]
        ls = await sb.exec("ls", [root])
        assert ls.check().stdout == b"fresh\nreal\n"
    finally:
        await jobs.remove(handle, force=True)
