"""sandlot: run and talk to processes in sandboxes on anyio.

Backends are plugins (:mod:`sandlot.backends`); a backend's options and other names
are in its own module.
"""

from __future__ import annotations

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
    RecordConflict,
    RegistryError,
    SandboxNotFound,
    SandlotError,
    StreamBroken,
    StreamClosed,
    UnknownJob,
)
from ._jobs import JobHandle, JobInfo, JobLimits, JobRead, Jobs, JobState, JobStatus
from ._process import Process, Terminal
from ._records import Capabilities, ExecResult, ExitStatus, ProcessFailed, TerminalSize
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
    "RecordConflict",
    "RegistryError",
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
    "open_sandbox",
]
