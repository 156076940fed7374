"""The public surface: exactly what ``sandlot.__all__`` exports, all documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import sandlot


def test_all_is_exact() -> None:
    public = {n for n in dir(sandlot) if not n.startswith("_")}
    modules = {n for n, v in vars(sandlot).items() if inspect.ismodule(v)}
    future = {"annotations"}  # from __future__ import annotations
    assert set(sandlot.__all__) - {"__version__"} == public - modules - future
    assert len(set(sandlot.__all__)) == len(sandlot.__all__), "duplicates in __all__"


def test_every_export_has_a_docstring() -> None:
    for name in sandlot.__all__:
        obj = getattr(sandlot, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"


def test_every_temporal_export_has_a_docstring() -> None:
    pytest.importorskip("temporalio")  # the extra (the test extra has it)
    import sandlot.temporal

    for name in sandlot.temporal.__all__:
        obj = getattr(sandlot.temporal, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"


def test_modules_other_than_the_public_ones_are_private() -> None:
    public_modules = {
        "sandlot.testing",
        "sandlot.backends",
        "sandlot.ssh",
        "sandlot.daytona",
        "sandlot.docker",
        "sandlot.temporal",  # the Temporal integration (extra: sandlot[temporal])
        "sandlot.http",
        "sandlot.serve",
    }
    for info in pkgutil.walk_packages(sandlot.__path__, "sandlot."):
        leaf = info.name.rsplit(".", 1)[1]
        if info.name in public_modules or leaf.startswith("_"):
            continue
        parent = info.name.rsplit(".", 1)[0]
        assert any(p.startswith("_") for p in parent.split(".")[1:]), (
            f"{info.name} is public but not listed as a public module"
        )
        importlib.import_module(info.name)


def test_errors_form_one_hierarchy() -> None:
    for name in sandlot.__all__:
        obj = getattr(sandlot, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            assert issubclass(obj, sandlot.SandlotError), name


def test_records_are_frozen() -> None:
    import attrs

    status = sandlot.ExitStatus(code=0)
    try:
        status.code = 1  # type: ignore[misc]
    except attrs.exceptions.FrozenInstanceError:
        pass
    else:
        raise AssertionError("ExitStatus is mutable")
    assert attrs.has(sandlot.ExecResult) and attrs.has(sandlot.TerminalSize)


def _base_install() -> set[str]:
    """Top-level modules that ``pip install sandlot`` (no extras) provides: sandlot's
    declared dependencies and theirs, markers evaluated as for this interpreter."""
    from importlib.metadata import distribution, packages_distributions

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    dists = {"sandlot"}
    todo = ["sandlot"]
    while todo:
        for text in distribution(todo.pop()).requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if canonicalize_name(req.name) not in dists:
                dists.add(canonicalize_name(req.name))
                todo.append(req.name)
    return {
        module
        for module, owners in packages_distributions().items()
        if any(canonicalize_name(d) in dists for d in owners)
    }


def test_importing_sandlot_needs_only_its_declared_dependencies() -> None:
    """The README's first command installs no extras: ``import sandlot`` and the CLI must
    not reach for a package only an extra (or a test tool) brings."""
    code = (
        "import sys, sandlot, sandlot._cli\n"
        "for name, m in list(sys.modules.items()):\n"
        "    if 'site-packages' in (getattr(m, '__file__', None) or ''):\n"
        "        print(name.split('.')[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    imported = set(done.stdout.split()) - {"_distutils_hack"}  # setuptools' .pth hook
    assert imported - _base_install() == set()
