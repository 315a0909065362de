"""The library does not import the CLI or the benchmarks (issue 26): only ``gwrep/commands/`` and
``gwrep/cli.py`` import :mod:`gwrep.commands` (and the benchmarks of :mod:`gwrep.bench`); library
code reads run folders through :mod:`gwrep.runs` and the metric names through
:mod:`gwrep.eval.catalog`."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Source folders of the installed package (pyproject's package-dir) and the module each maps to.
PACKAGES = {"gwrep": "gwrep", "priors": "gwrep.priors", "baselines": "gwrep.baselines", "eval": "gwrep.eval"}
#: What the library must not import, and the files that may (the CLI, and the benchmarks themselves).
FORBIDDEN = ("gwrep.commands", "gwrep.cli", "gwrep.bench")
OUTSIDE = ("gwrep/commands/", "gwrep/cli.py", "gwrep/bench/")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT)
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:-1]]
    if rel.stem != "__init__":
        parts.append(rel.stem)
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[str]:
    """Every module that ``source`` (the text of ``module``) imports, relative imports resolved, plus the
    string arguments of ``importlib.import_module`` calls.

    >>> imported_modules("from ..commands import eval\\nimport os", "gwrep.study.runner", False)
    ['gwrep.commands', 'os']
    >>> imported_modules("importlib.import_module('gwrep.commands.eval')", "gwrep.x", False)
    ['gwrep.commands.eval']
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                found.append(".".join(base + ([node.module] if node.module else [])))
            else:
                found.append(node.module or "")
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(node.args[0].value)
    return found


def _library_files() -> list[Path]:
    files = [p for top in PACKAGES for p in sorted((ROOT / top).rglob("*.py"))]
    return [p for p in files if not str(p.relative_to(ROOT)).startswith(OUTSIDE)]


def test_the_scan_sees_the_library_and_the_cli_imports_it_skips():
    names = {_module_name(p) for p in _library_files()}
    assert {"gwrep.runs", "gwrep.eval.sequence", "gwrep.study.runner", "gwrep.ot.sinkhorn"} <= names
    assert not any(n.startswith(("gwrep.commands", "gwrep.bench")) or n == "gwrep.cli" for n in names)
    cli = (ROOT / "gwrep/commands/eval.py").read_text()
    assert "gwrep.eval.catalog" in imported_modules(cli, "gwrep.commands.eval", False)


@pytest.mark.parametrize("path", _library_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_library_module_does_not_import_the_cli_or_the_benchmarks(path):
    module = _module_name(path)
    bad = [m for m in imported_modules(path.read_text(), module, path.stem == "__init__")
           if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}: move what it needs into the library"


def test_the_commands_still_import_the_moved_helpers():
    """``gwrep.commands._runs`` and ``gwrep.commands.eval`` re-export what moved, as the same objects."""
    import gwrep.eval.catalog as catalog
    import gwrep.runs as runs
    from gwrep.commands import _runs
    from gwrep.commands import eval as eval_command

    assert all(getattr(_runs, name) is getattr(runs, name) for name in runs.__all__)
    assert eval_command.FACTOR_METRICS is catalog.FACTOR_METRICS and eval_command.summarize is catalog.summarize
