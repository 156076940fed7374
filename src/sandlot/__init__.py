"""sandlot: run and talk to processes in sandboxes (local, SSH, Daytona) on anyio."""

from __future__ import annotations

from ._backends.daytona import DaytonaOptions
from ._backends.daytona import create_sandbox as create_daytona_sandbox
from ._backends.daytona import delete_sandbox as delete_daytona_sandbox
from ._backends.daytona import stop_sandbox as stop_daytona_sandbox
from ._backends.ssh import SSHOptions
from ._errors import (
    AuthenticationFailed,
    CommandNotFound,
    ConnectionFailed,
    ConnectionLost,
    FileError,
    FileNotFound,
    HostKeyRejected,
    HostUnreachable,
    InvalidArgument,
    InvalidSandboxURL,
    JobLimitReached,
    JobStillRunning,
    LaunchError,
    MissingDependency,
    NotSupported,
    ProcessExited,
    ProcessFailed,
    SandboxNotFound,
    SandlotError,
    StreamBroken,
    StreamClosed,
    UnknownJob,
)
from ._jobs import JobHandle, JobInfo, JobLimits, JobRead, Jobs, JobState, JobStatus
from ._process import Process, Terminal
from ._records import Capabilities, ExecResult, ExitStatus, TerminalSize
from ._registry import SandboxRecord, SandboxRegistry
from ._sandbox import Sandbox, open_sandbox
from ._streams import ProcessInput, ProcessOutput

__version__ = "0.1.0"

__all__ = [
    "AuthenticationFailed",
    "Capabilities",
    "CommandNotFound",
    "ConnectionFailed",
    "ConnectionLost",
    "DaytonaOptions",
    "ExecResult",
    "ExitStatus",
    "FileError",
    "FileNotFound",
    "HostKeyRejected",
    "HostUnreachable",
    "InvalidArgument",
    "InvalidSandboxURL",
    "JobHandle",
    "JobInfo",
    "JobLimitReached",
    "JobLimits",
    "JobRead",
    "JobState",
    "JobStatus",
    "JobStillRunning",
    "Jobs",
    "LaunchError",
    "MissingDependency",
    "NotSupported",
    "Process",
    "ProcessExited",
    "ProcessFailed",
    "ProcessInput",
    "ProcessOutput",
    "SSHOptions",
    "Sandbox",
    "SandboxNotFound",
    "SandboxRecord",
    "SandboxRegistry",
    "SandlotError",
    "StreamBroken",
    "StreamClosed",
    "Terminal",
    "TerminalSize",
    "UnknownJob",
    "__version__",
    "create_daytona_sandbox",
    "delete_daytona_sandbox",
    "open_sandbox",
    "stop_daytona_sandbox",
]
