"""Configuration of the Docker backend."""

from __future__ import annotations

import os

import attrs

from .._convert import opt_int

__all__ = ["DEFAULT_HOST", "DockerOptions"]

DEFAULT_HOST = "unix:///var/run/docker.sock"


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _tls_verify() -> bool:
    return bool(_env("DOCKER_TLS_VERIFY"))


def _cert_path(name: str) -> str | None:
    """``$DOCKER_CERT_PATH/<name>`` when TLS is on (the docker CLI's convention)."""
    base = _env("DOCKER_CERT_PATH")
    if base is None or not _tls_verify():
        return None
    return os.path.join(base, name)


def _cpus(value: object) -> float | None:
    if value is None:
        return None
    try:
        cpus = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"cpus: expected a number, got {value!r}") from None
    if not cpus > 0:
        raise ValueError(f"cpus: expected a positive number, got {value!r}")
    return cpus


@attrs.frozen
class DockerOptions:
    """How to reach the Docker Engine; the defaults are the docker CLI's environment.

    - ``host`` (``DOCKER_HOST``, default ``unix:///var/run/docker.sock``): ``unix://PATH``
      or ``tcp://HOST:PORT``.
    - ``tls`` (``DOCKER_TLS_VERIFY``): HTTPS to a ``tcp://`` host, checking its certificate
      against ``ca_cert``; ``client_cert`` / ``client_key`` authenticate us
      (``$DOCKER_CERT_PATH/{ca,cert,key}.pem``). The key's path never appears in reprs.
    - ``image``: the image of containers created by ``SandboxRegistry.create("docker://new")``
      or :func:`sandlot.docker.create_container`.
    - ``cpus`` (a fraction of CPUs, like ``docker run --cpus``) and ``memory`` (MiB): the
      resources of created containers.
    - ``user``: the user processes run as (``docker exec --user``), default the container's.
    - ``timeout``: seconds each Engine API request (not a running process) may take.
    """

    host: str = attrs.field(factory=lambda: _env("DOCKER_HOST") or DEFAULT_HOST)
    tls: bool = attrs.field(factory=_tls_verify)
    ca_cert: str | None = attrs.field(factory=lambda: _cert_path("ca.pem"))
    client_cert: str | None = attrs.field(factory=lambda: _cert_path("cert.pem"))
    client_key: str | None = attrs.field(factory=lambda: _cert_path("key.pem"), repr=False)
    image: str | None = None
    cpus: float | None = attrs.field(default=None, converter=_cpus)
    memory: int | None = attrs.field(default=None, converter=opt_int)
    user: str | None = None
    timeout: float = 60.0
