"""The API reference covers the public API (issue 26): every name of every library package's
``__all__`` is on a hand-written package page of ``docs/api/``, every library package has a page,
and the generated module pages (``docs/_ext/api_modules.py``) cover every module's ``__all__``.

A new public name, module or package without a page fails here, before the site build."""
from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import api_modules  # noqa: E402


def parse_pages(texts: list[str]) -> tuple[set[str], set[str]]:
    """(full names listed in ``autosummary`` blocks, modules named by ``automodule``) of reST texts.

    >>> page = ".. automodule:: a.b\\n.. currentmodule:: a.b\\n\\n.. autosummary::\\n   :toctree: g\\n\\n   f\\n   C\\n\\nText"
    >>> names, modules = parse_pages([page]); sorted(names), sorted(modules)
    (['a.b.C', 'a.b.f'], ['a.b'])
    """
    names: set[str] = set()
    modules: set[str] = set()
    for text in texts:
        current = None
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if m := re.match(r"\.\. automodule:: (\S+)", line):
                modules.add(m.group(1))
            elif m := re.match(r"\.\. currentmodule:: (\S+)", line):
                current = m.group(1)
            elif line.startswith(".. autosummary::"):
                for entry in lines[i + 1:]:
                    if entry and not entry.startswith("   "):
                        break
                    entry = entry.strip()
                    if entry and not entry.startswith(":"):
                        names.add(entry if current is None else f"{current}.{entry}")
    return names, modules


def _pages() -> tuple[set[str], set[str]]:
    return parse_pages([p.read_text() for p in sorted(API.glob("*.rst"))])


def _resolve(full: str) -> object:
    module, _, attr = full.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _packages() -> list[str]:
    return [n for n in api_modules.module_names(ROOT) if api_modules.is_package(n)]


def test_the_pages_are_found_and_parsed():
    names, modules = _pages()
    assert {"gwrep.ot.sinkhorn_log", "gwrep.data.load", "gwrep.eval.metrics.dci_importance"} <= names
    assert {"gwrep", "gwrep.ot", "gwrep.eval"} <= modules


def test_every_library_package_has_a_page():
    _, modules = _pages()
    missing = [p for p in _packages() if p not in modules]
    assert missing == [], f"packages without a page in docs/api/ (add one to docs/api/index.rst): {missing}"
    assert "gwrep.commands" not in _packages()


def test_every_listed_name_exists():
    names, _ = _pages()
    missing = []
    for full in sorted(names):
        try:
            _resolve(full)
        except (ImportError, AttributeError):
            missing.append(full)
    assert missing == [], f"docs/api/ lists names the package does not have: {missing}"


@pytest.mark.parametrize("package", _packages())
def test_every_public_name_of_a_package_is_on_a_page(package):
    names, modules = _pages()
    documented = {id(_resolve(n)) for n in names}
    module = importlib.import_module(package)
    missing = []
    for attr in getattr(module, "__all__", ()):
        obj = getattr(module, attr)
        if f"{package}.{attr}" in names:
            continue
        if isinstance(obj, ModuleType) and obj.__name__ in modules:  # gwrep.train: the callable package
            continue
        if (inspect.isclass(obj) or inspect.isroutine(obj)) and id(obj) in documented:
            continue  # the same object under another public name (gwrep.eval.mig is gwrep.eval.metrics.mig)
        missing.append(attr)
    assert missing == [], f"{package}.__all__ names missing from docs/api/: {missing}"


def test_module_pages_cover_every_module_s_public_names():
    """Each module page documents or links every name of the module's ``__all__``."""
    for name in api_modules.module_names(ROOT):
        if api_modules.is_package(name):
            continue
        page = api_modules.module_page(name)
        module = importlib.import_module(name)
        assert f".. automodule:: {name}" in page
        linked = api_modules.package_documented(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            target = f":py:obj:`{linked[id(obj)]}`" if id(obj) in linked else f":: {name}.{attr}\n"
            assert target in page, f"{name}.{attr} is not on the page of {name}"


def test_module_pages_leave_out_the_cli_the_benchmarks_and_private_modules():
    names = api_modules.module_names(ROOT)
    assert "gwrep.runs" in names and "gwrep.eval.catalog" in names and "gwrep.priors.mixture" in names
    assert not any(n == "gwrep.cli" or n.startswith(("gwrep.commands", "gwrep.bench")) or "._" in n for n in names)
