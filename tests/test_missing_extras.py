"""A backend whose extra is not installed says which extra to install, from the API (a
SandlotError) and the CLI (one line). The missing package is simulated in a subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: (blocked module, URL, extra): a missing dependency of the SDK counts as the SDK missing.
CASES = [
    ("asyncssh", "ssh://root@127.0.0.1:1", "ssh"),
    ("daytona", "daytona://some-sandbox", "daytona"),
    ("aiohttp", "daytona://some-sandbox", "daytona"),
    ("httpx", "docker://some-container", "docker"),
    ("wsproto", "sandlot+http://127.0.0.1:1", "http"),
]


def run_without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a Python where ``module`` cannot be imported."""
    prelude = f"import sys\nsys.modules[{module!r}] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("module", "url", "extra"), CASES)
def test_the_api_names_the_extra(module: str, url: str, extra: str) -> None:
    code = f"""
import anyio, sandlot, sandlot.daytona
async def main():
    try:
        async with sandlot.open_sandbox({url!r}):
            pass
    except sandlot.MissingDependency as exc:
        assert isinstance(exc, sandlot.SandlotError) and isinstance(exc, ImportError)
        print(exc.backend, exc.extra)
        print(exc)
anyio.run(main)
"""
    done = run_without(module, code)
    assert done.returncode == 0, done.stderr
    first, message = done.stdout.splitlines()
    assert first == f"{extra} {extra}"
    assert f"pip install 'sandlot[{extra}]'" in message
    assert f"the {extra} backend needs" in message
    if module == "aiohttp":
        assert "aiohttp" in message  # says what is missing, and which extra brings it


def test_the_daytona_control_functions_name_the_extra() -> None:
    code = """
import anyio, sandlot, sandlot.daytona
async def main():
    for call in (sandlot.daytona.create_sandbox(), sandlot.daytona.delete_sandbox("x"),
                 sandlot.daytona.stop_sandbox("x")):
        try:
            await call
        except sandlot.MissingDependency as exc:
            print(exc)
anyio.run(main)
"""
    done = run_without("daytona", code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and all("pip install 'sandlot[daytona]'" in line for line in lines)


def test_the_docker_control_functions_name_the_extra() -> None:
    code = """
import anyio, sandlot, sandlot.docker
async def main():
    opts = sandlot.docker.DockerOptions(image="x")
    for call in (sandlot.docker.create_container(opts), sandlot.docker.delete_container("x"),
                 sandlot.docker.stop_container("x"), sandlot.docker.start_container("x")):
        try:
            await call
        except sandlot.MissingDependency as exc:
            print(exc)
anyio.run(main)
"""
    done = run_without("httpx", code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and all("pip install 'sandlot[docker]'" in line for line in lines)


@pytest.mark.parametrize(("module", "url", "extra"), CASES)
def test_the_cli_prints_one_line_naming_the_extra(module: str, url: str, extra: str) -> None:
    code = (
        f"sys.argv = ['sandlot', 'exec', {url!r}, '--', 'true']\n"
        "import runpy\nrunpy.run_module('sandlot', run_name='__main__', alter_sys=True)\n"
    )
    done = run_without(module, code)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("sandlot: error: the ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"pip install 'sandlot[{extra}]'" in done.stderr
    assert "No module named" not in done.stderr
