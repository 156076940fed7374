"""The Docker transport: one running container, reached through the Engine API."""

from __future__ import annotations

import contextlib
import secrets

import anyio

from ..._detached import Detached
from ..._launcher._script import load
from ..._process import CLOSE_WAIT, SIGNAL_WAIT
from ..._transport import FailedLaunch, LaunchSpec, RawProcess, Transport
from ..._url import SandboxURL
from ..._validate import check_command_line
from . import _files, backend
from ._engine import Engine
from ._errors import ContainerStopped
from ._options import DockerOptions
from ._process import DockerProcess

__all__ = ["DockerTransport", "connect"]

#: The PATH of a container whose configuration sets none (Docker's own default).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: All arguments and environment strings of one command together: half of Linux's usual
#: ARG_MAX, leaving room for the container's own environment.
#: How long the launcher may take to report (the container may be very busy).
_START_TIMEOUT = 60.0


class DockerTransport(Transport):
    """Runs processes in one container, each through an exec and the launcher."""

    name = "docker"
    capabilities = backend.capabilities

    def __init__(self, engine: Engine, container: str, path: str = DEFAULT_PATH) -> None:
        self._engine = engine
        #: The container's full id.
        self.container_id = container
        #: The container's PATH, for the launcher's own tools.
        self._path = path
        self._detached = Detached()

    @classmethod
    async def open(cls, container: str, options: DockerOptions) -> DockerTransport:
        engine = Engine(options)
        try:
            info = await engine.inspect(container)
            if not info.get("State", {}).get("Running"):
                raise ContainerStopped(
                    f"the Docker container {container!r} is not running (docker start {container})"
                )
        except BaseException:
            await engine.aclose()
            raise
        env = info.get("Config", {}).get("Env") or []
        paths = [e.removeprefix("PATH=") for e in env if e.startswith("PATH=")]
        return cls(engine, str(info["Id"]), paths[0] if paths else DEFAULT_PATH)

    def _command(self, spec: LaunchSpec, tag: str) -> list[str]:
        flags = ("c" if spec.cwd is not None else "") + ("p" if "PATH" in spec.env else "")
        if spec.pty is not None:
            head = [tag, flags, spec.cwd or "", str(spec.pty.rows), str(spec.pty.cols)]
            return ["sh", "-c", load("pty", __package__), "sandlot", *head, *spec.argv]
        head = [tag, flags, spec.cwd or ""]
        return ["sh", "-c", load("spawn", __package__), "sandlot", *head, *spec.argv]

    async def start(self, spec: LaunchSpec) -> RawProcess:
        tag = f"sandlot-{secrets.token_hex(8)}"
        tty = spec.pty is not None
        cmd = self._command(spec, tag)
        env = [f"{k}={v}" for k, v in spec.env.items() if k != "PATH"]
        if "PATH" in spec.env:
            # The launcher's tools come from the container's PATH; the command gets its own.
            env += [f"PATH={self._path}", f"SANDLOT_PATH={spec.env['PATH']}"]
        check_command_line([*cmd, *env], "Docker")
        config: dict[str, object] = {
            "Cmd": cmd,
            "AttachStdin": spec.stdin or tty,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": tty,
            "Env": env,
        }
        if self._engine.options.user is not None:
            config["User"] = self._engine.options.user
        # Once the exec is created it may run, and only its handle can stop it: the start
        # runs in a task of its own; a caller that gives up (its deadline, a frozen Engine)
        # leaves it to finish there, and what it started is then stopped.
        return await self._detached.call_or_abandon(
            lambda: self._launch(config, spec, tag),
            abandon=_stop,
            what=f"starting {list(spec.argv)!r}",
        )

    async def _launch(self, config: dict[str, object], spec: LaunchSpec, tag: str) -> RawProcess:
        tty = spec.pty is not None
        exec_id = await self._engine.create_exec(self.container_id, config)
        stack = contextlib.AsyncExitStack()
        stream = await stack.enter_async_context(self._engine.start_exec(exec_id, tty))
        proc = DockerProcess(self._engine, self.container_id, exec_id, stream, spec, tag, stack)
        try:
            with anyio.fail_after(_START_TIMEOUT):
                await proc.wait_report()
        except BaseException:
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_WAIT):
                await proc.aclose()
            raise
        if proc.failure is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_WAIT):
                await proc.aclose()
            return FailedLaunch(proc.failure, pty=tty)
        return proc

    async def read_file(self, path: str) -> bytes:
        return await _files.read(self._engine, self.container_id, path)

    async def write_file(self, path: str, data: bytes, mode: int | None) -> None:
        await _files.write(self._engine, self.container_id, path, data, mode)

    async def aclose(self) -> None:
        try:
            # A start given up on gets a last chance to finish, and to stop what it started.
            await self._detached.aclose(SIGNAL_WAIT, CLOSE_WAIT)
        finally:
            await self._engine.aclose()


async def _stop(raw: RawProcess) -> None:
    """Dispose of a start the caller gave up on (a failed launch started nothing)."""
    if isinstance(raw, DockerProcess):
        await raw.abandon()


async def connect(url: SandboxURL, options: DockerOptions) -> DockerTransport:
    """Open ``docker://<container>`` (a name or id) on a running container."""
    return await DockerTransport.open(url.target, options)
