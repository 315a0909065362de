"""Run folders as the scoring and reporting code reads them: opening run folders (or the sweep
and experiment folders that hold them), labelling runs, what a score was computed on
(:func:`scored_weights`), writing JSON (non-finite numbers as strings, with a note) and
markdown tables.

A library module: ``gwrep eval``, ``gwrep ood`` and ``gwrep compare`` use it (through
``gwrep.commands._runs``), and so do :mod:`gwrep.eval.sequence` and :mod:`gwrep.study`; the
library never imports from :mod:`gwrep.commands` (``tests/test_docs_layering.py``)."""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from gwrep.config import atomic_write_text

__all__ = ["open_runs", "expand_run_dirs", "run_path", "run_label", "write_json", "json_text", "markdown_table",
           "mean_std", "training_holder", "scored_weights", "NON_FINITE_TEXT",
           "check_existing_runs", "UNCOMPARED_FIELDS"]

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


#: How :func:`json_text` writes the floats JSON has no number for (Python's ``float()`` reads them back).
NON_FINITE_TEXT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _json_safe(value: Any, where: str, found: list[str]) -> Any:
    """``value`` with every NaN/inf float replaced by its :data:`NON_FINITE_TEXT` string (``found`` gets its key)."""
    if isinstance(value, float) and not math.isfinite(value):
        found.append(f"{where} = {value}")
        return NON_FINITE_TEXT[str(value)]
    if isinstance(value, dict):
        return {k: _json_safe(v, f"{where}.{k}" if where else str(k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    if hasattr(value, "dtype") and hasattr(value, "tolist") and getattr(value, "ndim", 1) == 0:  # numpy scalars
        return _json_safe(value.tolist(), where, found)
    return value


def json_text(data: Any, path: str | os.PathLike) -> tuple[str, list[str]]:
    """``data`` as indented JSON text, and the keys (``"group.metrics.mig.values[1] = nan"``) whose NaN or
    infinite values were written as the strings of :data:`NON_FINITE_TEXT` (JSON has no number for them).

    A value JSON cannot hold at all is a ``ValueError`` naming ``path``, raised before anything is written.

    >>> json_text({"a": [1.0, float("nan")]}, "x.json")
    ('{\\n  "a": [\\n    1.0,\\n    "NaN"\\n  ]\\n}\\n', ['a[1] = nan'])
    """
    found: list[str] = []
    try:
        text = json.dumps(_json_safe(data, "", found), indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot write {path}: {err}") from None
    return text, found


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically. NaN and infinite numbers are written as the strings
    ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (JSON has no number for them; ``float()`` reads them back),
    with a printed note naming the file and the keys."""
    path = Path(path)
    text, found = json_text(data, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    note_non_finite(path, found)
    return path


def note_non_finite(path: str | os.PathLike, found: list[str]) -> None:
    """Print which values of ``path`` were written as NaN/infinity strings (nothing when none were)."""
    if found:
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        print(f"note: {path}: {len(found)} value(s) not finite, written as strings "
              f"(\"NaN\", \"Infinity\"): {'; '.join(found[:5])}{more}", file=sys.stderr)


def training_holder(run_dir: str | os.PathLike) -> str | None:
    """The pid (as written) of the process training in ``run_dir`` now, or None when none holds its lock.

    Probes ``RUN/.lock`` with a shared, non-blocking ``flock`` on a read-only descriptor, released
    at once; nothing is written, and a ``.lock`` that is a symbolic link is not opened.
    """
    import fcntl

    from gwrep.train.run import LOCK_FILE

    path = Path(run_dir) / LOCK_FILE
    if path.is_symlink() or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def scored_weights(run: Any, model: Any, output: str) -> dict[str, Any]:
    """What a score of ``run`` is computed on, for its JSON (``output``: that file's name), and a warning
    on stderr when the run is still training (its lock held) or says so in run.json without a process.

    Returns ``{"step": the step of the weights scored (the model's own step counter), "run_step",
    "run_status" (run.json), "training": whether a process held the run's lock}``.
    """
    step = int(model.step)
    holder = training_holder(run.dir)
    record = {"step": step, "run_step": run.step, "run_status": run.status, "training": holder is not None}
    if holder is not None:
        print(f"warning: {run.dir} is still training (pid {holder}): scoring its model saved so far, the weights "
              f"of step {step}, which the run may still replace; {output} records that step", file=sys.stderr)
    elif run.summary.get("status") == "running":  # (a folder without run.json has no status to go by)
        print(f"warning: {run.dir}: run.json says the run is running, but no process holds its lock (it was "
              f"killed before it could record how it ended); scoring the weights of step {step}, recorded in "
              f"{output}; gwrep train --resume {run.dir} finishes it", file=sys.stderr)
    return record


def _non_finite_counts(values: Sequence[float]) -> str:
    """``"1 NaN, 2 inf"``: how many of ``values`` are NaN and infinite ("" when none is)."""
    kinds = {"NaN": sum(math.isnan(v) for v in values), "inf": sum(math.isinf(v) for v in values)}
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)


def mean_std(values: Sequence[float | None], digits: int = 3) -> str:
    """``"m ± s (n=k)"`` over the finite values, with the sample std (ddof=1); ``"-"`` if no value.

    A lone value prints alone, or as ``"m (n=1)"`` when other entries are missing. NaN and infinite
    values are left out of the mean and counted in the text, never dropped silently.

    >>> mean_std([1.0, 3.0, float("nan")]), mean_std([float("nan"), None]), mean_std([float("inf")] * 2)
    ('2.000 ± 1.414 (n=2; 1 NaN)', 'NaN', 'inf (2 runs)')
    """
    present = [float(v) for v in values if v is not None]
    vals = [v for v in present if math.isfinite(v)]
    bad = _non_finite_counts(present)
    if not vals:
        if not present:
            return "-"
        kinds = sorted({"NaN" if math.isnan(v) else str(v) for v in present})  # "NaN", "inf", "-inf"
        if len(present) == 1:
            return kinds[0]
        return f"{kinds[0]} ({len(present)} runs)" if len(kinds) == 1 else f"not finite ({bad})"
    mean = sum(vals) / len(vals)
    suffix = f"; {bad}" if bad else ""
    if len(vals) == 1:
        return f"{mean:.{digits}f}" if len(values) == 1 else f"{mean:.{digits}f} (n=1{suffix})"
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    return f"{mean:.{digits}f} ± {std:.{digits}f} (n={len(vals)}{suffix})"


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


#: Config fields a run folder may hold differently from the plan (paths are stored resolved).
UNCOMPARED_FIELDS = ("out", "data_root")


def check_existing_runs(points: Sequence[Any], runs_dir: str | os.PathLike) -> None:
    """Refuse to reuse run folders trained with other options than the plan's (a finished run would be
    skipped and reported as if it had the new settings); names the run and the differing fields.
    ``points`` are an experiment's or a study's planned runs (each with ``.name`` and ``.options``),
    looked for in ``runs_dir/<name>``.

    Options are compared by value, after parsing, with defaults filled in
    (:func:`gwrep.train.config.config_changes`): an unchanged experiment re-run finds no change whatever
    form its YAML takes (``model_options`` absent, empty or null; a default written out; ``1e-4`` as text).
    """
    from gwrep.train import TrainConfig
    from gwrep.train.config import config_changes
    from gwrep.train.run import CONFIG_FILE

    runs_dir = Path(runs_dir)
    for point in points:
        path = runs_dir / point.name / CONFIG_FILE
        if not path.is_file():
            continue
        changes = config_changes(TrainConfig.load(path), TrainConfig.from_dict({**point.options, "out": None}),
                                 ignore=UNCOMPARED_FIELDS)
        if changes:
            text = ", ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in changes)
            raise ValueError(f"{runs_dir / point.name} was trained with other options than this experiment plans "
                             f"({text}); give another --out, or remove that run folder")
