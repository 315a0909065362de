"""Helpers shared by ``gwrep eval``, ``gwrep ood`` and ``gwrep compare``: opening run
folders, labelling runs, writing JSON and markdown tables."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Sequence

from gwrep.config import atomic_write_text

__all__ = ["open_runs", "run_path", "run_label", "write_json", "markdown_table", "mean_std"]


def open_runs(paths: Sequence[str | os.PathLike]) -> list:
    """:func:`gwrep.train.load_run` of each path (``FileNotFoundError`` names a bad one)."""
    from gwrep.train import load_run

    if not paths:
        raise ValueError("give at least one run folder")
    return [load_run(p) for p in paths]


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
