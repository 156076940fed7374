"""The :class:`Jobs` API: durable jobs built only on :meth:`Sandbox.exec`."""

from __future__ import annotations

import contextlib
import math
import secrets
import signal as _signal
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from os import PathLike
from typing import Protocol

import anyio

from .._errors import (
    CommandNotFound,
    FileError,
    InvalidArgument,
    JobLimitReached,
    JobStillRunning,
    LaunchError,
    NotSupported,
    ProcessExited,
    SandlotError,
    StreamBroken,
    StreamClosed,
    UnknownJob,
)
from .._records import ExecResult
from .._validate import check_argv, check_cwd, check_env, check_input, check_signal, check_timeout
from . import _script
from ._records import (
    JobHandle,
    JobInfo,
    JobLimits,
    JobRead,
    JobState,
    JobStatus,
    check_job_id,
    exit_from_record,
)
from ._utf8 import incomplete_tail

__all__ = ["ExecTarget", "Jobs"]

_TAG = b"sandlot-job "
#: bytes per read round trip, unless the caller asks for another size
DEFAULT_READ_BYTES = 4 << 20
_STEP = 0.05  # the sandbox-side poll step of the scripts, in seconds
_ENV_PREFIX = "SANDLOT_JOB_ENV_"  # a job's variables, on their way to its command


def _new_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


def _parse_status(tokens: Sequence[str]) -> JobStatus:
    state, ex, timed_out, capped, reaper = tokens[:5]
    exit_status = None
    if state == "exited":
        exit_status = exit_from_record(*ex.split(":")[:3])
    return JobStatus(
        state=JobState(state),
        exit=exit_status,
        timed_out=timed_out == "1",
        log_truncated=capped == "1",
        reaper=None if reaper == "-" else reaper,
    )


class ExecTarget(Protocol):
    """All that jobs need from a sandbox (a :class:`Sandbox` is one): ``exec``, and the
    backend's name for error messages."""

    @property
    def backend(self) -> str: ...

    async def exec(
        self,
        cmd: str,
        args: Sequence[str] | None = None,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        timeout: float | None = None,
    ) -> ExecResult: ...


class Jobs:
    """Durable jobs in one sandbox, kept under ``root`` (default ``$HOME/.sandlot/jobs``).

    Every method is one ``exec`` in the sandbox, so jobs work on every backend and can
    be found again from any process that can open the sandbox.
    """

    def __init__(
        self,
        sandbox: ExecTarget,
        *,
        root: str | PathLike[str] | None = None,
        limits: JobLimits | None = None,
    ) -> None:
        self._sb = sandbox
        self.root = None if root is None else check_cwd(root)
        self.limits = limits if limits is not None else JobLimits()
        if not isinstance(self.limits, JobLimits):
            raise InvalidArgument(f"limits must be a JobLimits, not {self.limits!r}")

    def __repr__(self) -> str:
        return f"<Jobs in {self._sb!r} at {self.root or '$HOME/.sandlot/jobs'}>"

    async def _run(
        self,
        script: str,
        root: str | None,
        job_id: str,
        *args: str,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        timeout: float | None = None,
    ) -> tuple[list[str], bytes, ExecResult]:
        argv = ["-c", script, "sandlot-job", root or "", job_id, *args]
        result = await self._sb.exec("sh", argv, cwd=cwd, env=env, input=input, timeout=timeout)
        head, nl, body = result.stdout.partition(b"\n")
        if not head.startswith(_TAG) or not nl:
            err = result.stderr[-500:].decode("utf-8", "replace").strip()
            raise SandlotError(
                f"job {job_id!r}: unexpected reply from the sandbox ({result.exit}): {err}"
            )
        tokens = head[len(_TAG) :].decode("ascii", "replace").split()
        if tokens == ["unknown"]:
            raise UnknownJob(f"no job {job_id!r} under {root or '$HOME/.sandlot/jobs'}")
        return tokens, body, result

    def _handle_root(self, handle: JobHandle) -> tuple[str | None, str]:
        if not isinstance(handle, JobHandle):
            raise InvalidArgument(f"expected a JobHandle, not {type(handle).__name__}")
        return handle.root, check_job_id(handle.id)

    async def start(
        self,
        cmd: str,
        args: Sequence[str] | None = None,
        *,
        cwd: str | PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        separate_streams: bool = False,
        job_id: str | None = None,
        exist_ok: bool = False,
    ) -> JobHandle:
        """Start ``cmd args`` as a detached job and return its handle at once.

        The job survives this process, the connection and the Sandbox object. Its
        output goes to a byte-exact log (``stdout``/``stderr`` kept apart with
        ``separate_streams``). ``timeout`` (default ``limits.default_timeout``) stops it
        like :meth:`stop`. ``env`` values are passed to the process and never stored.
        Raises :class:`CommandNotFound`, :class:`LaunchError` (bad ``cwd``),
        :class:`JobLimitReached`, or :class:`InvalidArgument` before launching anything.

        A taken ``job_id`` is refused (:class:`InvalidArgument`), unless ``exist_ok``:
        then, if the job of that id runs (or ran) the same command (argv, cwd, names of
        the env variables, streams), its handle is returned and nothing is started, so a
        start retried under one id starts the command at most once, even when retries
        race. The id of another command, or of a cancelled start, is still refused.
        """
        argv = check_argv(cmd, args)
        workdir = check_cwd(cwd)
        environment = check_env(env)
        limit = check_timeout("timeout", timeout)
        if limit is None:
            limit = self.limits.default_timeout
        if not isinstance(separate_streams, bool):
            raise InvalidArgument(f"separate_streams must be a bool, not {separate_streams!r}")
        if not isinstance(exist_ok, bool):
            raise InvalidArgument(f"exist_ok must be a bool, not {exist_ok!r}")
        if exist_ok and job_id is None:
            raise InvalidArgument("exist_ok=True needs a job_id")
        jid = _new_id() if job_id is None else check_job_id(job_id)
        handle = JobHandle(
            id=jid,
            root=self.root,
            argv=argv,
            cwd=workdir,
            env_names=tuple(sorted(environment)),
            separate_streams=separate_streams,
            timeout=limit,
            created=time.time(),
        )
        lim = self.limits
        try:
            tokens = await self._launch(handle, limit, environment)
        except LaunchError:
            raise  # bad cwd: the launcher never ran
        except BaseException:
            # Cancelled (or the connection failed) mid-launch. Leave nothing behind, as a
            # cancelled exec would: the launcher may be on its way still (some backends
            # abandon a cancelled exec, and kill it only later), or have started the job.
            with (
                anyio.CancelScope(shield=True),
                anyio.move_on_after(30),
                contextlib.suppress(SandlotError),
            ):
                await self._unlaunch(handle)
            raise
        match tokens:
            case ["started", *_]:
                return handle
            case ["notfound"]:
                raise CommandNotFound(argv[0])
            case ["limit", running]:
                raise JobLimitReached(
                    f"{running} jobs already run under {self.root or '$HOME/.sandlot/jobs'}"
                    f" (JobLimits.max_concurrent={lim.max_concurrent})"
                )
            case ["exists"] if exist_ok:
                return await self._adopt(handle)
            case ["exists"]:
                raise InvalidArgument(f"a job with id {jid!r} already exists")
            case ["nosetsid"]:
                raise NotSupported(self._sb.backend, "durable jobs", "`setsid` is missing")
            case _:
                raise FileError(f"cannot create job {jid!r}: {' '.join(tokens)}")

    async def _adopt(self, wanted: JobHandle) -> JobHandle:
        """The existing job with ``wanted``'s id, if it runs the same command."""
        try:
            _, body, _ = await self._run(_script.load("adopt"), wanted.root, wanted.id)
        except UnknownJob:
            raise InvalidArgument(f"a job with id {wanted.id!r} already exists") from None
        found = JobHandle.from_json(body.strip())
        same = ("argv", "cwd", "env_names", "separate_streams")
        if any(getattr(found, name) != getattr(wanted, name) for name in same):
            raise InvalidArgument(
                f"job {wanted.id!r} already exists with another command: {list(found.argv)!r}"
                f" in {found.cwd or 'the default directory'}"
            )
        return found

    async def _unlaunch(self, handle: JobHandle) -> None:
        """Undo a launch whose reply never came: claim the id (claim.sh), so that a
        launcher still on its way starts nothing, or remove the job if it got there
        first. Whatever the launcher answers after a claim (``exists``) goes to nobody:
        its caller is this cancelled ``start``."""
        tokens, _, _ = await self._run(
            _script.load("claim"), handle.root, handle.id, handle.to_json()
        )
        if tokens == ["ours"]:
            await self.remove(handle, force=True)

    async def _launch(
        self, handle: JobHandle, limit: float | None, environment: Mapping[str, str]
    ) -> list[str]:
        lim = self.limits
        # The scripts get the variables renamed (see launch.sh); the shorter names are
        # given back first, so that a job variable named SANDLOT_JOB_ENV_X cannot
        # overwrite the value of X before X has it.
        names = sorted(environment, key=lambda name: (len(name), name))
        renamed = {_ENV_PREFIX + name: environment[name] for name in names}
        tokens, _, _ = await self._run(
            _script.load("launch"),
            handle.root,
            handle.id,
            _script.load("wrapper"),
            handle.to_json(),
            str(lim.max_log_bytes or 0),
            "1" if handle.separate_streams else "0",
            repr(lim.kill_grace),
            "0" if limit is None else repr(limit),
            str(lim.max_concurrent or 0),
            " ".join(names),
            *handle.argv,
            cwd=handle.cwd,
            env=renamed,
        )
        return tokens

    async def attach(self, job_id: str) -> JobHandle:
        """The handle of the job ``job_id`` (e.g. started by another process)."""
        jid = check_job_id(job_id)
        _, body, _ = await self._run(_script.load("attach"), self.root, jid)
        return JobHandle.from_json(body.strip())

    async def status(self, handle: JobHandle) -> JobStatus:
        """The job's current :class:`JobStatus`."""
        return (await self._read(handle, 0, None, 0, 0)).status

    async def read(
        self,
        handle: JobHandle,
        cursor: int = 0,
        *,
        stream: str | None = None,
        max_bytes: int = DEFAULT_READ_BYTES,
        wait: float = 0.0,
    ) -> JobRead:
        """The log bytes after byte offset ``cursor``, the new cursor and the status.

        Costs O(new bytes). While the job runs, an incomplete UTF-8 character at the end
        is held back until the rest arrives; once it has ended, everything is returned.
        ``stream`` is ``"output"`` (combined) or ``"stdout"``/``"stderr"`` for a job
        started with ``separate_streams`` (default: the first). ``wait`` seconds: wait
        in the sandbox for new output before answering (long poll).
        """
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
            raise InvalidArgument(f"cursor must be a non-negative int, got {cursor!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise InvalidArgument(f"max_bytes must be a positive int, got {max_bytes!r}")
        linger = 0 if not wait else math.ceil((check_timeout("wait", wait) or 0) / _STEP)
        return await self._read(handle, cursor, stream, max_bytes, linger)

    async def _read(
        self, handle: JobHandle, cursor: int, stream: str | None, max_bytes: int, linger: int
    ) -> JobRead:
        root, jid = self._handle_root(handle)
        name = self._stream(handle, stream)
        tokens, data, _ = await self._run(
            _script.load("read"), root, jid, name, str(cursor), str(max_bytes), str(linger)
        )
        status = _parse_status(tokens)
        size = int(tokens[5])
        end = cursor + len(data)
        if data and (status.running or end < size):
            keep = incomplete_tail(data)
            if keep:
                data = data[:-keep]
                end -= keep
        return JobRead(
            data=data,
            cursor=end,
            status=status,
            stream=name,
            eof=status.ended and end >= size,
        )

    async def follow(
        self,
        handle: JobHandle,
        cursor: int = 0,
        *,
        stream: str | None = None,
        max_bytes: int = DEFAULT_READ_BYTES,
        poll: float = 1.0,
    ) -> AsyncIterator[JobRead]:
        """Replay the log from ``cursor``, then stream new output as it is written.

        Yields :class:`JobRead` chunks (never empty); ends once the job has ended and
        all its output has been delivered. Each quiet round trip waits up to ``poll``
        seconds inside the sandbox for output, so an idle job costs one call per
        ``poll`` and new output arrives within ~50 ms.
        """
        check_timeout("poll", poll)
        while True:
            chunk = await self.read(handle, cursor, stream=stream, max_bytes=max_bytes, wait=poll)
            cursor = chunk.cursor
            if chunk.data:
                yield chunk
            if chunk.eof:
                return

    async def tail(self, handle: JobHandle, lines: int = 10, *, stream: str | None = None) -> bytes:
        """The last ``lines`` lines of the log (the final line may lack a newline)."""
        root, jid = self._handle_root(handle)
        name = self._stream(handle, stream)
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
            raise InvalidArgument(f"lines must be a non-negative int, got {lines!r}")
        _, body, _ = await self._run(_script.load("tail"), root, jid, name, str(lines))
        return body

    async def write(self, handle: JobHandle, data: bytes, *, timeout: float = 60.0) -> None:
        """Write ``data`` to the job's stdin. Raises :class:`StreamClosed` after
        :meth:`close_stdin`, :class:`ProcessExited` once the job has ended, and
        :class:`StreamBroken` if the job does not take the data within ``timeout``
        seconds (the pipe holds 64 KiB; past that, the job must read)."""
        root, jid = self._handle_root(handle)
        payload = check_input(data)
        if payload is None:
            raise InvalidArgument("data must be bytes, not None")
        limit = check_timeout("timeout", timeout)
        tokens, body, result = await self._run(
            _script.load("write"), root, jid, input=payload, timeout=limit
        )
        match tokens:
            case ["writing"] if body == b"ok\n":
                return
            case ["closed"]:
                raise StreamClosed(f"stdin of job {jid!r} was closed")
            case ["ended"]:
                raise ProcessExited(f"job {jid!r} has ended; cannot write to its stdin")
        status = await self.status(handle)
        if status.ended:
            raise ProcessExited(f"job {jid!r} ended before reading all its input")
        what = "in time" if result.timed_out else f"({result.exit})"
        raise StreamBroken(f"job {jid!r} did not read its stdin {what}")

    async def close_stdin(self, handle: JobHandle) -> None:
        """Deliver EOF to the job's stdin (once the bytes already written are read)."""
        root, jid = self._handle_root(handle)
        await self._run(_script.load("close"), root, jid)

    async def stop(
        self, handle: JobHandle, *, wait: bool = True, grace: float | None = None
    ) -> JobStatus:
        """SIGTERM the job's whole tree, wait ``grace`` seconds (default
        ``limits.kill_grace``), then SIGKILL it; return the status. With ``wait=False``
        only SIGTERM is sent. Stopping an ended job does nothing."""
        root, jid = self._handle_root(handle)
        seconds = check_timeout("grace", grace) or self.limits.kill_grace
        steps = max(1, math.ceil(seconds / _STEP))
        tokens, _, _ = await self._run(
            _script.load("stop"), root, jid, str(steps), "1" if wait else "0"
        )
        return _parse_status(tokens)

    async def kill(
        self, handle: JobHandle, sig: int | str | _signal.Signals = _signal.SIGKILL
    ) -> JobStatus:
        """Send ``sig`` to every process of the job (no-op once it has ended)."""
        root, jid = self._handle_root(handle)
        signum = check_signal(sig)
        tokens, _, _ = await self._run(
            _script.load("kill"), root, jid, signum.name.removeprefix("SIG")
        )
        return _parse_status(tokens)

    async def remove(self, handle: JobHandle | str, *, force: bool = False) -> None:
        """Delete the job's directory. Refused (:class:`JobStillRunning`) while it runs,
        unless ``force=True``, which kills it first."""
        if isinstance(handle, str):
            root, jid = self.root, check_job_id(handle)
        else:
            root, jid = self._handle_root(handle)
        tokens, _, _ = await self._run(_script.load("remove"), root, jid, "1" if force else "0")
        if tokens == ["running"]:
            raise JobStillRunning(f"job {jid!r} is still running; stop it or pass force=True")

    async def list(self) -> list[JobInfo]:
        """Every job under the root, oldest first, with its status."""
        result = await self._sb.exec(
            "sh", ["-c", _script.load("list"), "sandlot-job", self.root or "", "-"]
        )
        lines = result.stdout.split(b"\n")
        infos = []
        for head, meta in zip(lines[0::2], lines[1::2], strict=False):
            if not head.startswith(_TAG):
                continue
            status = _parse_status(head[len(_TAG) :].decode("ascii", "replace").split())
            try:
                handle = JobHandle.from_json(meta)
            except InvalidArgument:
                continue  # not ours, or damaged: list what can be listed
            infos.append(JobInfo(handle, status))
        infos.sort(key=lambda info: (info.handle.created, info.handle.id))
        return infos

    @staticmethod
    def _stream(handle: JobHandle, stream: str | None) -> str:
        names = handle.streams
        if stream is None:
            return names[0]
        if stream not in names:
            raise InvalidArgument(
                f"job {handle.id!r} has streams {', '.join(names)}, not {stream!r}"
            )
        return stream
