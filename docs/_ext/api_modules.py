"""Sphinx extension: one reference page per library module, written before the build reads
the sources (``api/modules/``, git-ignored).

The package pages (``api/*.rst``) list each package's ``__all__`` by hand, in sections; this
extension covers every other public name: each module page shows the module's docstring and
documents each name of its ``__all__``, except those its package already documents, which it
links to. So a new module, or a new name in a module's ``__all__``, is in the reference without
editing a page; ``tests/test_docs_reference.py`` checks the hand-written package pages.
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

#: Source folder -> installed package name (pyproject.toml's ``[tool.setuptools] package-dir``).
PACKAGE_DIRS = {"gwrep": "gwrep", "priors": "gwrep.priors", "baselines": "gwrep.baselines", "eval": "gwrep.eval"}
#: Not the library: the command-line interface (documented by ``gwrep <command> --help`` and the user
#: guide) and the benchmarks that ship with it (``gwrep bench``; docs/benchmarks.md).
NOT_LIBRARY = ("gwrep.cli", "gwrep.commands", "gwrep.bench")


def module_names(root: Path) -> list[str]:
    """Every public library module (packages included) under the repository ``root``, sorted."""
    names = []
    for folder, package in PACKAGE_DIRS.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if any(p.startswith("_") for p in parts):
                continue
            name = ".".join((package, *parts))
            if not any(name == c or name.startswith(c + ".") for c in NOT_LIBRARY):
                names.append(name)
    return sorted(names)


def is_package(name: str) -> bool:
    return hasattr(importlib.import_module(name), "__path__")


def package_documented(name: str) -> dict[int, str]:
    """``id(object) -> "package.name"`` for the ``__all__`` of every package above module ``name``
    (and of ``name`` itself if it is a package): what the package pages document."""
    parts = name.split(".")
    found: dict[int, str] = {}
    for k in range(1, len(parts) + 1):
        package = ".".join(parts[:k])
        if not is_package(package):
            continue
        module = importlib.import_module(package)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                found.setdefault(id(obj), f"{package}.{attr}")
    return found


def _directive(module: str, attr: str, obj: Any) -> str:
    target = f"{module}.{attr}"
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        return f".. auto{kind}:: {target}\n   :members:\n   :show-inheritance:\n"
    if inspect.isroutine(obj):
        return f".. autofunction:: {target}\n"
    return f".. autodata:: {target}\n   :no-value:\n"


def module_page(name: str) -> str:
    """The reST of the page of module ``name`` (not a package: packages have hand-written pages)."""
    module = importlib.import_module(name)
    title = f"``{name}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {name}", ""]
    elsewhere = package_documented(name)
    linked, inline = [], []
    for attr in getattr(module, "__all__", ()):
        obj = getattr(module, attr)
        if id(obj) in elsewhere:
            linked.append(f":py:obj:`{elsewhere[id(obj)]}`")
        else:
            inline.append(_directive(name, attr, obj))
    if linked:
        lines += ["Documented on the package page: " + ", ".join(linked) + ".", ""]
    return "\n".join(lines + inline)


def write_pages(root: Path, out: Path) -> list[str]:
    """Write every module page and the index ``out/index.rst``; returns the module names."""
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in module_names(root) if not is_package(n)]
    for name in names:
        text = module_page(name)
        path = out / f"{name}.rst"
        if not path.is_file() or path.read_text() != text:  # unchanged pages keep their time: no re-read
            path.write_text(text)
    for stale in set(out.glob("*.rst")) - {out / f"{n}.rst" for n in names} - {out / "index.rst"}:
        stale.unlink()
    index = ["Modules", "=======", "",
             "Every library module, with the public names its package page does not already document.", ""]
    by_package: dict[str, list[str]] = {}
    for name in names:
        by_package.setdefault(name.rpartition(".")[0], []).append(name)
    for package, members in by_package.items():
        index += [f"``{package}``", "-" * (len(package) + 4), "", ".. toctree::", "   :maxdepth: 1", ""]
        index += [f"   {m}" for m in members] + [""]
    text = "\n".join(index)
    if not (out / "index.rst").is_file() or (out / "index.rst").read_text() != text:
        (out / "index.rst").write_text(text)
    return names


def _generate(app: Any) -> None:
    write_pages(Path(app.srcdir).parent, Path(app.srcdir) / "api" / "modules")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
