"""Backends are plugins (SPEC §3): declarations, the registry, and a third-party backend
installed through the ``sandlot.backends`` entry point."""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import attrs
import pytest

import sandlot
import sandlot.backends
from sandlot._url import DEFAULT

SRC = Path(sandlot.__file__).parent
BUILTINS = sandlot.backends.available()


def module_name(backend: sandlot.backends.Backend) -> str:
    """The name of a built-in backend's module in ``sandlot._backends`` (its public
    module, ``sandlot.<module>``, has the same): its name, unless that is no identifier
    (``sandlot+http`` lives in ``http``)."""
    return backend.connect.split(":")[0].split(".")[2]


def own_files(name: str) -> set[Path]:
    """A backend's own modules: its module or package and its public module."""
    backends = SRC / "_backends"
    own = {SRC / f"{name}.py", backends / f"{name}.py", *backends.glob(f"_{name}_*.py")}
    return own | set((backends / name).rglob("*.py"))


def test_the_builtins_are_declared() -> None:
    assert [b.name for b in BUILTINS] == ["daytona", "docker", "sandlot+http", "local", "ssh"]
    for backend in BUILTINS:
        assert isinstance(backend, sandlot.backends.Backend)
        assert backend.schemes[0] == backend.name
    schemes = {b.name: b.schemes for b in BUILTINS}
    assert schemes["sandlot+http"] == ("sandlot+http", "sandlot+https")
    assert all(len(s) == 1 for name, s in schemes.items() if name != "sandlot+http")


def test_shared_modules_name_no_backend() -> None:
    """Only a backend's own modules know it (the default sandbox, ``local``, is the
    SPEC's default and named once, in ``_url.DEFAULT``)."""
    own = set().union(*(own_files(module_name(b)) for b in BUILTINS))
    shared = [p for p in SRC.rglob("*.py") if p not in own]
    assert SRC / "_backends" / "__init__.py" in shared and SRC / "_url.py" in shared
    names = [b.name for b in BUILTINS if b.name != DEFAULT]
    pattern = re.compile("|".join(map(re.escape, names)), re.IGNORECASE)
    found = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in shared
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


BACKENDS_MD = SRC.parents[1] / "docs" / "backends.md"


def _table(markdown: str, header: str = "") -> dict[str, list[str]]:
    """The markdown table whose header row starts with ``header``: row title -> cells."""
    for block in re.split(r"\n(?!\|)", markdown):  # a table: consecutive lines of "|"
        rows = [line for line in block.splitlines() if line.startswith("|")]
        cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
        if cells and cells[0][0] == header:
            return {row[0]: row[1:] for row in cells if not (row[0] and set(row[0]) <= {"-"})}
    raise AssertionError(f"no table headed {header!r}")


def test_the_docs_table_matches_the_declarations() -> None:
    table = _table(BACKENDS_MD.read_text())
    columns = table[""]
    assert sorted(columns) == sorted(b.name for b in BUILTINS)
    for backend in BUILTINS:
        col = columns.index(backend.name)
        assert table["URL"][col].split(" ")[0] == f"`{backend.url_syntax}`"
        options = backend.options_type
        public = f"sandlot.{module_name(backend)}.{options.__name__}(...)" if options else ""
        if not options:
            expected = "none"
        elif backend.name.isidentifier():
            expected = f"`{backend.name}={public}`"
        else:
            expected = f'`**{{"{backend.name}": {public}}}`'

        assert table["options"][col] == expected
        lacking = [f.name for f in attrs.fields(sandlot.Capabilities)]
        lacking = [n for n in lacking if not getattr(backend.capabilities, n)]
        assert table["`Capabilities` lacking"][col] == (", ".join(lacking) or "none")
        provisioning = table["provisioning (create / start / stop / delete)"][col]
        assert provisioning.startswith("yes") == (backend.provisioning is not None)


def test_the_docs_explain_every_capability() -> None:
    """Each field of ``Capabilities`` has its row (what it allows, who raises what
    without it), and the docs name no field that does not exist."""
    table = _table(BACKENDS_MD.read_text(), "capability")
    fields = [f"`{f.name}`" for f in attrs.fields(sandlot.Capabilities)]
    assert [row for row in table if row != "capability"] == fields


def test_each_transport_declares_what_its_backend_declares() -> None:
    for backend in BUILTINS:
        module = importlib.import_module(backend.connect.split(":")[0])
        transports = [
            cls
            for cls in vars(module).values()
            if isinstance(cls, type)
            and issubclass(cls, sandlot.backends.Transport)
            and cls is not sandlot.backends.Transport
        ]
        assert transports, backend.name
        for cls in transports:
            assert cls.capabilities == backend.capabilities, (backend.name, cls)


def test_options_are_passed_under_the_backend_name() -> None:
    for backend in BUILTINS:
        if backend.options_type is not None:
            public = __import__(f"sandlot.{module_name(backend)}", fromlist=["_"])
            assert getattr(public, backend.options_type.__name__) is backend.options_type


# --- a third-party backend, installed as a distribution --------------------------------

TOY = '''
"""A toy backend: runs processes on this machine under the ``toy://<name>`` scheme."""

from sandlot._backends.local import LocalTransport
from sandlot.backends import Backend, SandboxURL

created = []


class ToyTransport(LocalTransport):
    name = "toy"


class Provisioning:
    async def create(self, options):
        return SandboxURL("toy", "made")

    async def start(self, url, options):
        pass

    async def stop(self, url, options):
        created.append(("stop", str(url)))

    async def delete(self, url, options):
        created.append(("delete", str(url)))


async def connect(url, options):
    return ToyTransport()


backend = Backend(
    name="toy",
    schemes=("toy",),
    url_syntax="toy://<name>",
    connect="sandlot_toy:connect",
    provisioning=Provisioning(),
)
'''


def _wheel(where: Path, name: str, entry_points: str, files: dict[str, str]) -> Path:
    """A minimal wheel (no build backend needed): the files, METADATA, WHEEL,
    entry_points.txt and RECORD."""
    dist = f"{name}-1.0.dist-info"
    files = {
        **files,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": entry_points,
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    wheel = where / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


PIP = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
PIP += ["--disable-pip-version-check"]


def _install(tmp: Path, name: str, entry_points: str, files: dict[str, str]) -> Path:
    """Install a throwaway distribution with pip into a fresh site directory."""
    site = tmp / f"site-{name}"
    wheel = _wheel(tmp, name, entry_points, files)
    subprocess.run(
        [*PIP, "--target", str(site), str(wheel)],
        check=True,
        timeout=120,
    )
    assert (site / f"{name}-1.0.dist-info" / "entry_points.txt").exists()
    return site


def _env(*sites: Path) -> dict[str, str]:
    path = [*map(str, sites), str(SRC.parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


def _python(code: str, *sites: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=_env(*sites),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("toy")
    entry = "[sandlot.backends]\ntoy = sandlot_toy:backend\n"
    return _install(tmp, "sandlot_toy", entry, {"sandlot_toy/__init__.py": TOY})


def test_a_plugin_backend_opens_through_open_sandbox(toy_site: Path, tmp_path: Path) -> None:
    r = _python(
        f"""
        import anyio, sandlot, sandlot.backends

        async def main():
            assert "toy" in [b.name for b in sandlot.backends.available()]
            async with sandlot.open_sandbox("toy://x") as sb:
                result = await sb.exec("echo", ["hi"])
                print(sb.backend, sb.url, result.stdout)
            try:
                sandlot.backends.parse_url("nope://x")
            except sandlot.InvalidSandboxURL as exc:
                print(exc)
            try:
                sandlot.backends.parse_url("toy://")
            except sandlot.InvalidSandboxURL as exc:
                print(exc)
            registry = sandlot.SandboxRegistry({str(tmp_path / "db")!r})
            record = await registry.create("toy://new")
            print(record.provider, record.provider_id, record.url)
            await registry.stop(record.id)
            await registry.delete(record.id)
            print(await registry.list())
            import sandlot_toy
            print(sandlot_toy.created)

        anyio.run(main)
        """,
        toy_site,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "toy toy://x b'hi\\n'",
        "unknown sandbox scheme 'nope' in 'nope://x'; "
        "known: daytona, docker, sandlot+http, sandlot+https, local, ssh, toy",
        "malformed sandbox URL 'toy://': expected toy://<name>",
        "toy made toy://made",
        "[]",
        "[('stop', 'toy://made'), ('delete', 'toy://made')]",
    ]


def test_a_plugin_backend_runs_through_the_cli(toy_site: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sandlot", *args],
            env=_env(toy_site),
            capture_output=True,
            text=True,
            timeout=60,
        )

    r = cli("exec", "toy://x", "--", "echo", "hi")
    assert (r.returncode, r.stdout, r.stderr) == (0, "hi\n", "")
    assert "toy" in cli("--help").stdout
    assert "toy://<name>" in " ".join(cli("exec", "--help").stdout.split())
    r = cli("exec", "nope://x", "--", "true")
    assert r.returncode == 2
    assert "known: daytona, docker, sandlot+http, sandlot+https, local, ssh, toy" in r.stderr


def test_a_broken_plugin_is_named(tmp_path: Path) -> None:
    site = _install(
        tmp_path, "sandlot_broken", "[sandlot.backends]\nbroken = no_such_module:backend\n", {}
    )
    r = _python("import sandlot.backends; sandlot.backends.parse_url('local')", site)
    assert r.returncode == 1
    assert (
        "SandlotError: the sandlot backend plugin entry point 'broken' = "
        "'no_such_module:backend' (group 'sandlot.backends') fails: "
        "ModuleNotFoundError(\"No module named 'no_such_module'\")"
    ) in r.stderr


def test_two_backends_for_one_scheme_are_refused(tmp_path: Path) -> None:
    code = "from sandlot.backends import Backend\nbackend = Backend('mine', ('ssh',), 's', 'x:y')\n"
    site = _install(
        tmp_path,
        "sandlot_dup",
        "[sandlot.backends]\nmine = sandlot_dup:backend\n",
        {"sandlot_dup.py": code},
    )
    r = _python("import sandlot.backends; sandlot.backends.parse_url('local')", site)
    assert r.returncode == 1
    assert (
        "two sandlot backends claim the URL scheme 'ssh': sandlot's ssh module and entry "
        "point 'mine' = 'sandlot_dup:backend' (group 'sandlot.backends'); uninstall one"
    ) in r.stderr


def test_a_builtin_declared_as_an_entry_point_too_is_no_duplicate(tmp_path: Path) -> None:
    entry = "[sandlot.backends]\nlocal = sandlot._backends.local:backend\n"
    site = _install(tmp_path, "sandlot_again", entry, {})
    r = _python(
        "import sandlot.backends; print([b.name for b in sandlot.backends.available()])", site
    )
    assert (r.returncode, r.stdout) == (
        0,
        "['daytona', 'docker', 'sandlot+http', 'local', 'ssh']\n",
    ), r.stderr


def test_backends_are_listed_without_their_dependencies() -> None:
    """Declarations import no optional dependency: with asyncssh and the daytona SDK
    missing, every backend is still listed, parsed and configured."""
    r = _python(
        """
        import sys
        sys.modules["asyncssh"] = sys.modules["daytona"] = sys.modules["httpx"] = None
        import sandlot, sandlot.backends
        from sandlot.backends import parse_url
        print([b.name for b in sandlot.backends.available()])
        print(parse_url("ssh://h"), parse_url("daytona://d"), parse_url("docker://c"))
        ssh = {b.name: b for b in sandlot.backends.available()}["ssh"]
        print(ssh.options_from_config({"identity_file": "~/k"}).client_keys[0].startswith("/"))
        """
    )
    assert r.stdout.splitlines() == [
        "['daytona', 'docker', 'sandlot+http', 'local', 'ssh']",
        "ssh://h daytona://d docker://c",
        "True",
    ]
