"""``exec`` in one toolbox request: ``/process/execute`` running the exec launcher
(``sh/exec.sh``), which runs the command to its end inside the sandbox and answers with
both streams (base64: the daemon's text handling keeps every byte), the raw wait status
and the timeout flag. The timeout, its kill of the group and ``max_output_bytes`` all act
inside the sandbox. Off the happy path: a large ``input`` is uploaded first, output larger
than :data:`INLINE` is fetched in chunks of :data:`CHUNK` (then removed), and a cancelled
exec sends one more request that kills the group.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import secrets
import shlex
import signal as _signal
from typing import TYPE_CHECKING, Any

import anyio

from ..._errors import ConnectionLost, SandlotError
from ..._launcher import Failed, Parser, launch_error
from ..._launcher._script import load
from ..._records import ExecResult, ExitStatus
from ..._transport import LaunchSpec, RawProcess, Reaper
from ..._validate import check_command_line
from ._errors import is_connection_error, operation_error

if TYPE_CHECKING:
    from ..._bridge import AsyncioBridge

logger = logging.getLogger("sandlot.daytona")

#: Output bytes (both streams) carried by the one answer; more is left in the sandbox.
INLINE = 4 << 20
#: Bytes per request when fetching output left in the sandbox (memory stays bounded).
CHUNK = 4 << 20
#: Input up to this size travels inside the command (as base64, one argument: Linux takes
#: 128 KiB per argument); larger input is uploaded as a file first.
INPUT_INLINE = 48 << 10
#: How long past the timeout (and the kill grace) to wait for the answer before deciding
#: the server does not answer.
MARGIN = 1.0
#: With no timeout: after this many seconds without an answer, check that the server
#: still answers (within the same time), or fail with ConnectionLost.
_IDLE_PROBE = 15.0


def _dir(token: str) -> str:
    return f'd="${{TMPDIR:-/tmp}}/sandlot.{token}"; '


def exec_command(
    token: str,
    spec: LaunchSpec,
    *,
    timeout: float | None,
    grace: float,
    cap: int | None,
    stdin: tuple[str, str] | None,
) -> str:
    """The ``/process/execute`` command that runs ``spec`` under the exec launcher;
    ``stdin`` is ``("i", base64)`` or ``("f", path)``."""
    env = spec.env
    flags = ("c" if spec.cwd is not None else "") + ("p" if "PATH" in env else "")
    flags += stdin[0] if stdin else ""
    limit = "" if timeout is None else f"{max(timeout, 0.01):.2f}"
    pairs = [f"{name}={value}" for name, value in env.items()]
    args = [token, flags, spec.cwd or "", limit, str(math.ceil(grace * 100))]
    args += ["" if cap is None else str(cap), str(INLINE), stdin[1] if stdin else ""]
    args += [str(len(pairs)), *pairs, *spec.argv]
    script = load("exec", __package__)
    check_command_line([script, *args], "Daytona")
    # exec: one fork fewer; the daemon's shell has nothing left to do.
    return "exec sh -c " + shlex.join([script, "sandlot", *args])


def cancel_command(token: str, upload: str | None = None) -> str:
    """Kill the group of exec ``token`` and remove its files (printing the group's id), or
    leave the mark that keeps a launcher not started yet from running anything (printing
    ``none``). ``upload``: the input file uploaded for it, removed too."""
    extra = "" if upload is None else f"rm -f {shlex.quote(upload)}; "
    return (
        _dir(token) + extra + ': >"$d.c"; if read -r p <"$d.p"; then kill -KILL -"$p" || '
        'kill -KILL "$p"; echo "$p"; rm -f "$d".*; else echo none; fi 2>/dev/null; true'
    )


def _decode(text: str) -> bytes:
    return base64.b64decode(text.replace("\n", ""))


class _Answer:
    """The launcher's answer, parsed."""

    def __init__(self, text: str, spec: LaunchSpec) -> None:
        self.failure: Failed | None = None
        self.status: ExitStatus | None = None
        self.timed_out = False
        self.totals: tuple[int | None, int | None] = (None, None)
        self.kept = False
        self.out = self.err = b""
        head, sep, body = text.partition("=o\n")
        for event in Parser().feed(head.encode("utf-8", "replace")):
            if isinstance(event, Failed):
                self.failure = event
        for line in head.splitlines():
            word, _, rest = line.partition(" ")
            if word == "t":
                self.timed_out = True
            elif word == "x":
                status = rest.strip()
                self.status = (
                    ExitStatus.from_wait_status(int(status))
                    if status.isdigit()
                    else ExitStatus(code=255)
                )
            elif word == "s":
                self.totals = tuple(  # type: ignore[assignment]
                    int(v) if v.isdigit() else None for v in rest.split()[:2]
                )
            elif word == "k":
                self.kept = True
        if sep:
            out, _, rest = body.partition("=e\n")
            err, _, _ = rest.partition("=z")
            self.out, self.err = _decode(out), _decode(err)


class _Remnant(RawProcess):
    """What the reaper kills for an exec whose answer never came: its group, by token."""

    def __init__(self, once: OneShot) -> None:
        self._once = once
        self.stdin = None  # type: ignore[assignment]
        self.stdout = None  # type: ignore[assignment]
        self.stderr = None

    async def wait_ready(self) -> None:
        await anyio.lowlevel.checkpoint()

    async def wait(self) -> ExitStatus:
        await anyio.lowlevel.checkpoint()
        return ExitStatus(signal=_signal.SIGKILL)

    def poll(self) -> ExitStatus | None:
        # Known (as killed) from the start: cleanup sends one SIGKILL, no grace.
        return ExitStatus(signal=_signal.SIGKILL)

    async def signal(self, sig: _signal.Signals) -> None:
        try:
            await self._once.bridge.call(self._once.cancel)
        except Exception as exc:
            raise operation_error(exc, "stopping a cancelled exec") from None

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint()


class OneShot:
    """One exec in one request (see the module docstring)."""

    def __init__(self, bridge: AsyncioBridge, sandbox: Any, spec: LaunchSpec) -> None:
        self.bridge = bridge
        self._sandbox = sandbox
        self._spec = spec
        self.token = secrets.token_hex(8)
        self._upload: str | None = None

    # -- the SDK's loop ------------------------------------------------------------------
    async def _execute(self, command: str) -> str:
        response = await self._sandbox.process.exec(command)
        return str(response.result or "")

    async def _run(self, command: str, wait: float | None) -> str | None:
        """The answer, or None when none came within ``wait`` seconds (or, with no
        ``wait``, the server stopped answering a probe)."""
        task = asyncio.ensure_future(self._execute(command))
        try:
            if wait is not None:
                done, _ = await asyncio.wait({task}, timeout=wait)
                return task.result() if done else None
            while True:
                done, _ = await asyncio.wait({task}, timeout=_IDLE_PROBE)
                if done:
                    return task.result()
                await self._probe()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def _probe(self) -> None:
        try:
            probe = self._sandbox.process.get_session(f"sandlot-probe-{self.token}")
            await asyncio.wait_for(probe, _IDLE_PROBE)
        except Exception as exc:
            if is_connection_error(exc):
                raise ConnectionError("the Daytona server stopped answering") from exc

    async def _fetch(self, name: str, size: int | None) -> bytes:
        """Stream file ``name`` of the exec's directory, chunk by chunk."""
        data = bytearray()
        skip = 0
        blocks = CHUNK >> 20
        while size is None or len(data) < size:
            cmd = _dir(self.token) + (
                f'dd if="$d.{name}" bs=1048576 skip={skip} count={blocks} 2>/dev/null | base64'
            )
            piece = _decode(await self._execute(cmd))
            data += piece
            skip += blocks
            if len(piece) < CHUNK:
                break
        return bytes(data)

    async def fetch_kept(self, answer: _Answer, cap: int | None) -> None:
        try:
            out_size, err_size = (
                None if t is None else t if cap is None else min(t, cap) for t in answer.totals
            )
            answer.out = await self._fetch("O", out_size)
            answer.err = await self._fetch("E", err_size)
        finally:
            await self.remove()

    async def remove(self) -> None:
        await self._execute(_dir(self.token) + 'rm -f "$d.O" "$d.E" "$d.c"')

    async def upload(self, data: bytes) -> str:
        self._upload = f"/tmp/sandlot-in.{self.token}"
        await self._sandbox.fs.upload_file(data, self._upload)
        return self._upload

    async def cancel(self) -> str:
        """Kill the group (or keep it from starting); the killed group's id, or ``none``."""
        return (await self._execute(cancel_command(self.token, self._upload))).strip()

    async def abandon(self) -> None:
        """The caller gave up waiting (the server did not answer): stop what may run."""
        argv = list(self._spec.argv)
        try:
            what = await self.cancel()
        except Exception as exc:
            logger.warning(
                "could not stop %r, whose exec the caller gave up on: %s",
                argv,
                exc or type(exc).__name__,
            )
            return
        if what.isdigit():
            logger.info("stopped %r (process group %s): the caller gave up on its exec", argv, what)
        else:
            logger.info(
                "the caller gave up on the exec of %r before it started: it never ran", argv
            )

    # -- the caller's loop ---------------------------------------------------------------
    async def run(
        self, data: bytes | None, timeout: float | None, cap: int | None, reaper: Reaper
    ) -> ExecResult:
        spec = self._spec
        stdin: tuple[str, str] | None = None
        try:
            if data and len(data) <= INPUT_INLINE:
                stdin = ("i", base64.b64encode(data).decode())
            elif data:
                stdin = ("f", await self.bridge.call(self.upload, data))
            command = exec_command(
                self.token, spec, timeout=timeout, grace=reaper.grace, cap=cap, stdin=stdin
            )
            wait = None if timeout is None else timeout + reaper.grace + 0.25 + MARGIN
            text = await self.bridge.call(self._run, command, wait)
        except SandlotError:
            raise
        except Exception as exc:
            await self._stop(reaper)
            raise operation_error(exc, f"running {spec.argv[0]!r}") from None
        except BaseException:
            await self._stop(reaper)
            raise
        if text is None:
            if timeout is None:
                raise ConnectionLost("lost the connection to the Daytona sandbox while running")
            # The deadline and the kill inside the sandbox have passed without an answer:
            # report the SIGKILL ordered, and stop the group once the server answers.
            self.bridge.call_soon(self._abandon_soon)
            return ExecResult(spec.argv, ExitStatus(signal=_signal.SIGKILL), b"", b"", True)
        answer = _Answer(text, spec)
        if answer.failure is not None:
            raise launch_error(answer.failure, spec)
        if answer.status is None:
            raise operation_error(
                ConnectionError(f"no exit status in the answer: {text[-200:]!r}"), "running"
            )
        if answer.kept:
            try:
                await self.bridge.call(self.fetch_kept, answer, cap)
            except BaseException as exc:
                with anyio.CancelScope(shield=True), anyio.move_on_after(3):
                    await self.bridge.call(self.remove)
                if isinstance(exc, Exception) and not isinstance(exc, SandlotError):
                    raise operation_error(exc, "reading the output") from None
                raise
        (out_total, err_total) = answer.totals
        return ExecResult(
            argv=spec.argv,
            exit=answer.status,
            stdout=answer.out,
            stderr=answer.err,
            timed_out=answer.timed_out,
            stdout_truncated=_truncated(answer.out, out_total, cap),
            stderr_truncated=_truncated(answer.err, err_total, cap),
        )

    def _abandon_soon(self) -> None:
        task = asyncio.ensure_future(self.abandon())
        self.bridge._keep(task)

    async def _stop(self, reaper: Reaper) -> None:
        """Cancelled or failed: kill the group now (bounded; else the reaper retries)."""
        with anyio.CancelScope(shield=True):
            await reaper.terminate(_Remnant(self), self._spec.argv)


def _truncated(data: bytes, total: int | None, cap: int | None) -> bool:
    if cap is None:
        return False
    return total > cap if total is not None else len(data) >= cap
