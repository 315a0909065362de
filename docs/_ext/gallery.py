"""Sphinx extension: the examples gallery. Before the sources are read, every ``examples/*.py``
(but ``_*.py``) runs in a subprocess (one thread, 2 at a time) with ``--out gallery/``; its
figure, printed output and source make its page ``gallery/<name>.rst`` (git-ignored), and
``gallery/index.rst`` shows every figure. An example that fails, or draws no figure, fails
the build. An example is rerun only when its figure is older than the script or than any
library source (so a rebuild with nothing changed runs none; a fresh clone runs all).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sphinx.errors import ExtensionError

#: Library source folders whose change reruns every example.
LIBRARY = ("gwrep", "eval", "priors", "baselines")
#: Each example gets this long before the build fails (the examples take seconds on one thread).
TIMEOUT_S = 600
PARALLEL = 2


def example_scripts(root: Path) -> list[Path]:
    """The examples, in name order."""
    return sorted(p for p in (root / "examples").glob("*.py") if not p.name.startswith("_"))


def run_example(script: Path, out: Path) -> tuple[str, float]:
    """Run ``script`` with ``--out out`` on one thread; its stdout and the wall seconds it took."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script), "--out", str(out)], capture_output=True, text=True,
                          env=env, cwd=script.parent, timeout=TIMEOUT_S)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise ExtensionError(f"example {script.name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    figure = out / f"{script.stem}.png"
    if not figure.is_file():
        raise ExtensionError(f"example {script.name} drew no figure {figure}")
    return proc.stdout, seconds


def _stale(script: Path, figure: Path, library_time: float) -> bool:
    return not figure.is_file() or figure.stat().st_mtime < max(script.stat().st_mtime, library_time)


def _rst_text(text: str, indent: str = "   ") -> str:
    return "\n".join(indent + line if line.strip() else "" for line in text.splitlines())


def _title_body(script: Path) -> tuple[str, str]:
    """The first line of the script's docstring (without its full stop) and the rest."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or script.stem
    title, _, body = doc.partition("\n")
    return title.strip().rstrip("."), body


def example_page(script: Path, stdout: str, seconds: float | None) -> str:
    """The reST page of one example: its docstring, figure, printed output and source."""
    title, body = _title_body(script)
    timing = f" (took {seconds:.0f} s in this build)" if seconds is not None else ""
    lines = [title, "=" * len(title), "", body.strip(), "",
             f".. image:: {script.stem}.png", f"   :alt: {title}", "",
             f"Run it with ``python examples/{script.name} --out DIR``{timing}. It printed:", "",
             ".. code-block:: text", "", _rst_text(stdout.strip() or "(nothing)"), "",
             f".. literalinclude:: ../../examples/{script.name}", "   :language: python", ""]
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def build_gallery(root: Path, out: Path) -> list[str]:
    """Run the stale examples and write their pages and the index into ``out``; returns the names."""
    out.mkdir(parents=True, exist_ok=True)
    scripts = example_scripts(root)
    library_time = max(p.stat().st_mtime for top in LIBRARY for p in (root / top).rglob("*.py"))
    stale = [s for s in scripts if _stale(s, out / f"{s.stem}.png", library_time)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = dict(zip(stale, pool.map(lambda s: run_example(s, out), stale)))
    for script, (stdout, seconds) in results.items():
        stdout = stdout.replace(str(out), "DIR")  # as the page's command line names it
        (out / f"{script.stem}.out").write_text(stdout)
        _write(out / f"{script.stem}.rst", example_page(script, stdout, seconds))
    for script in scripts:
        if script not in results and not (out / f"{script.stem}.rst").is_file():
            _write(out / f"{script.stem}.rst", example_page(script, (out / f"{script.stem}.out").read_text(), None))
    index = ["Examples", "========", "",
             "Short scripts in ``examples/``, each drawing one figure in under a minute on one CPU thread. "
             "The site build runs them (these figures are from it) and ``tests/test_examples.py`` runs them "
             "in CI. Each takes ``--out DIR`` (or ``$GWREP_EXAMPLES_OUT``) for its figure.", "",
             ".. toctree::", "   :hidden:", ""]
    index += [f"   {s.stem}" for s in scripts] + [""]
    for script in scripts:
        title = _title_body(script)[0]
        index += [f":doc:`{title} <{script.stem}>`", "", f".. image:: {script.stem}.png", "   :width: 480px",
                  f"   :alt: {title}", ""]
    _write(out / "index.rst", "\n".join(index))
    return [s.stem for s in scripts]


def _generate(app: Any) -> None:
    build_gallery(Path(app.srcdir).parent, Path(app.srcdir) / "gallery")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
