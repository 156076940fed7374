"""The Docker backend's public names: its options, errors and containers' lifecycle.

``open_sandbox("docker://<container>", docker=DockerOptions(...))``; each function below
takes the options too (default ``DockerOptions()``, from the environment: ``DOCKER_HOST``).
"""

from __future__ import annotations

from ._backends.docker import DockerOptions
from ._backends.docker._control import (
    create_container,
    delete_container,
    start_container,
    stop_container,
)
from ._backends.docker._errors import ContainerStopped, EngineError, ImageNotFound

__all__ = [
    "ContainerStopped",
    "DockerOptions",
    "EngineError",
    "ImageNotFound",
    "create_container",
    "delete_container",
    "start_container",
    "stop_container",
]
