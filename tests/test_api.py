"""The public surface: exactly what ``sandlot.__all__`` exports, all documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

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


def test_modules_other_than_the_public_ones_are_private() -> None:
    public_modules = {"sandlot.testing"}
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
