"""Helpers shared by ``gwrep eval``, ``gwrep ood`` and ``gwrep compare``: opening run
folders, labelling runs, writing JSON and markdown tables."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

from gwrep.config import atomic_write_text

__all__ = ["open_runs", "expand_run_dirs", "run_path", "run_label", "write_json", "markdown_table", "mean_std"]

#: Depth below a given folder searched for run folders (an experiment keeps them in DIR/runs/<name>).
RUN_SEARCH_DEPTH = 2


def open_runs(paths: Sequence[str | os.PathLike]) -> list:
    """:func:`gwrep.train.load_run` of each path (``FileNotFoundError`` names a bad one)."""
    from gwrep.train import load_run

    if not paths:
        raise ValueError("give at least one run folder")
    return [load_run(p) for p in paths]


def _is_run(path: Path) -> bool:
    from gwrep.train.run import CONFIG_FILE

    return (path / CONFIG_FILE).is_file()


def expand_run_dirs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Run folders named by ``paths``: a run folder itself, or every run folder inside a
    sweep or experiment folder (searched :data:`RUN_SEARCH_DEPTH` levels down, sorted).

    A plain file (``sweep.json`` from ``runs/sweep/*``) is left out with a printed note; a
    missing path, or a folder holding no run folder, is an error naming it.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"run folder not found: {path}")
        if path.is_file():
            print(f"note: {path} is a file, not a run folder; left out")
            continue
        if _is_run(path):
            found.append(path)
            continue
        inside: list[Path] = []
        level = [path]
        for _ in range(RUN_SEARCH_DEPTH):
            level = sorted(c for d in level for c in d.iterdir() if c.is_dir())
            inside += [c for c in level if _is_run(c)]
            level = [c for c in level if not _is_run(c)]
        if not inside:
            raise FileNotFoundError(f"{path} is not a run folder (no config.json) and holds none "
                                    f"{RUN_SEARCH_DEPTH} levels down")
        found += inside
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if len(unique) < len(found):
        print(f"note: {len(found) - len(unique)} run folder(s) named twice; each is used once")
    if not unique:
        raise ValueError("no run folders among " + ", ".join(map(str, paths)))
    return [Path(p) for p in unique]


def run_path(run: Any) -> str:
    """The run folder as a resolved absolute path: what eval.json, ood.json and comparison.json record,
    so the files stay true whatever folder the command ran from."""
    return str(Path(run.dir).resolve())


def run_label(run: Any, others: Sequence[Any] = ()) -> str:
    """``"<model> s<seed>"``, with the folder name added when another run has the same label."""
    label = f"{run.config.model} s{run.config.seed}"
    clashes = [o for o in others if o is not run and (o.config.model, o.config.seed) == (run.config.model, run.config.seed)]
    return f"{label} ({run.dir.name})" if clashes else label


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically (NaN/inf rejected: they are not JSON)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return path


def mean_std(values: Sequence[float], digits: int = 3) -> str:
    """``"m ± s (n=k)"`` with the sample std (ddof=1); ``"-"`` if no value.

    A lone value prints alone, or as ``"m (n=1)"`` when other entries are missing.
    """
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return "-"
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return f"{mean:.{digits}f}" if len(values) == 1 else f"{mean:.{digits}f} (n=1)"
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    return f"{mean:.{digits}f} ± {std:.{digits}f} (n={len(vals)})"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table, columns padded for reading in a terminal too.

    >>> print(markdown_table(["run", "auroc"], [["vae s0", "0.912"]]))
    | run    | auroc |
    |--------|-------|
    | vae s0 | 0.912 |
    """
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
