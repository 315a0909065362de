"""Sweeps: a grid of training runs (models x seeds x option values), one run folder each.

Runs go one after the other in this process (or, with ``backend="ray"`` and the ``ray``
extra installed, as Ray tasks). ``SWEEP/sweep.json`` indexes them: name, folder, the
options that vary, status, steps and best validation loss. Running the same sweep again
skips finished runs and resumes unfinished ones, so an interrupted sweep just restarts.
"""
from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from gwrep.config import atomic_write_text, read_json_file
from gwrep.train.config import TrainConfig
from gwrep.train.run import CHECKPOINT_DIR, SUMMARY_FILE

__all__ = ["SweepPoint", "expand_grid", "run_sweep", "set_dotted", "SWEEP_FILE", "FINISHED"]

SWEEP_FILE = "sweep.json"
#: Run statuses a restarted sweep does not train again.
FINISHED = ("completed", "early_stopped")


def set_dotted(options: dict[str, Any], key: str, value: Any) -> None:
    """Set ``options["a"]["b"] = value`` for ``key = "a.b"`` (creating the inner dict).

    >>> o = {"model_options": {"lr": 1}}
    >>> set_dotted(o, "model_options.beta", 4); o
    {'model_options': {'lr': 1, 'beta': 4}}
    """
    head, _, rest = key.partition(".")
    if not rest:
        options[head] = value
        return
    inner = options.setdefault(head, {})
    if not isinstance(inner, dict):
        raise ValueError(f"cannot set {key!r}: {head!r} is {inner!r}, not a mapping")
    set_dotted(inner, rest, value)


def _slug(value: Any) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(value)).strip("_") or "x"


class SweepPoint:
    """One run of a sweep: its folder name, the varied options, the full TrainConfig options."""

    def __init__(self, name: str, overrides: dict[str, Any], options: dict[str, Any]):
        self.name, self.overrides, self.options = name, overrides, options

    def __repr__(self) -> str:
        return f"SweepPoint({self.name!r}, {self.overrides!r})"


def expand_grid(base: Mapping[str, Any], models: Sequence[str] = (), seeds: Sequence[int] = (),
                grid: Mapping[str, Sequence[Any]] | None = None) -> list[SweepPoint]:
    """The runs of a grid: every combination of ``models``, ``grid`` values and ``seeds``.

    ``grid`` keys are TrainConfig fields or dotted options (``"model_options.beta"``).
    Each point's options are validated as a :class:`TrainConfig` (bad values fail here,
    before any run starts). Folder names read ``<model>-<option>=<value>...-s<seed>``,
    e.g. ``vae-batch_size=32-s0``.
    """
    grid = dict(grid or {})
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"grid values of {key!r} must be a non-empty list, got {values!r}")
    models = list(models) or [base.get("model", TrainConfig.model)]
    seeds = list(seeds) or [base.get("seed", TrainConfig.seed)]
    points, names = [], set()
    for model in models:
        for values in itertools.product(*grid.values()):
            for seed in seeds:
                options = json.loads(json.dumps(dict(base)))
                options.pop("_class", None)
                options["model"], options["seed"] = model, seed
                overrides = {"model": model, **dict(zip(grid, values)), "seed": seed}
                for key, value in zip(grid, values):
                    set_dotted(options, key, value)
                parts = [_slug(model)] + [f"{_slug(k.rsplit('.', 1)[-1])}={_slug(v)}" for k, v in zip(grid, values)]
                name = "-".join(parts + [f"s{seed}"])
                if name in names:
                    raise ValueError(f"two sweep points share the folder name {name!r}; make the grid values distinct")
                names.add(name)
                TrainConfig.from_dict({**options, "out": None})  # validate now
                points.append(SweepPoint(name, overrides, options))
    return points


def _train_point(options: dict[str, Any], resume: bool, progress: bool | None,
                 datasets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train one point; returns its summary (status ``failed`` with the message on NaN/inf)."""
    from gwrep.models.base import NonFiniteLossError
    from gwrep.train.trainer import train

    try:
        run = train(options, resume=resume, progress=progress, **(datasets or {}))
    except NonFiniteLossError as err:
        return {"status": "failed", "message": str(err)}
    return dict(run.summary)


def _previous(run_dir: Path) -> tuple[str | None, bool]:
    """(status of an earlier attempt or None, whether it has a checkpoint to resume)."""
    summary = run_dir / SUMMARY_FILE
    status = read_json_file(summary).get("status") if summary.is_file() else None
    return status, (run_dir / CHECKPOINT_DIR / "last.pt").is_file()


def run_sweep(points: Sequence[SweepPoint], out_dir: str | os.PathLike, backend: str = "sequential",
              progress: bool | None = None, dataset: Any = None, val_dataset: Any = None) -> list[dict[str, Any]]:
    """Train every point into ``out_dir/<name>``; writes and returns the ``sweep.json`` records.

    ``dataset``/``val_dataset`` replace loading each point's ``data`` (as in
    :func:`gwrep.train.train`; sequential backend only).

    A Ctrl-C stops the sweep after saving the current run's checkpoint; run it again to
    continue. A run that fails on a non-finite loss is recorded and the sweep goes on.
    """
    if backend not in ("sequential", "ray"):
        raise ValueError(f"unknown sweep backend {backend!r}; choose 'sequential' or 'ray'")
    if backend == "ray" and (dataset is not None or val_dataset is not None):
        raise ValueError("the ray backend loads each point's data by name; pass no dataset objects")
    datasets = {k: v for k, v in (("dataset", dataset), ("val_dataset", val_dataset)) if v is not None}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    jobs = []
    for point in points:
        run_dir = out_dir / point.name
        status, resumable = _previous(run_dir)
        record = {"name": point.name, "dir": str(run_dir), "overrides": point.overrides}
        if status in FINISHED:
            records.append({**record, **_summary_fields(read_json_file(run_dir / SUMMARY_FILE))})
            continue
        jobs.append((record, {**point.options, "out": str(run_dir)}, resumable))
        records.append(record)
    _write_index(out_dir, records)
    if backend == "ray":
        results = _run_with_ray([(opts, resumable) for _, opts, resumable in jobs])
        for (record, _, _), summary in zip(jobs, results):
            record.update(_summary_fields(summary))
        _write_index(out_dir, records)
        return records
    for record, options, resumable in jobs:
        summary = _train_point(options, resumable, progress, datasets)
        record.update(_summary_fields(summary))
        _write_index(out_dir, records)
        if summary.get("status") == "interrupted":
            break
    return records


def _summary_fields(summary: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("status", "step", "best_val_loss", "best_step", "minutes", "message")
    return {k: summary[k] for k in keys if k in summary}


def _write_index(out_dir: Path, records: list[dict[str, Any]]) -> None:
    atomic_write_text(out_dir / SWEEP_FILE, json.dumps({"runs": records}, indent=2) + "\n")


def _run_with_ray(jobs: list[tuple[dict[str, Any], bool]]) -> list[dict[str, Any]]:
    """Train the jobs as Ray tasks (one CPU each); needs ``pip install 'gwrep[ray]'``."""
    try:
        import ray
    except ImportError:
        raise ValueError("the ray sweep backend needs Ray: pip install 'gwrep[ray]' (or use --backend sequential)") \
            from None
    ray.init(ignore_reinit_error=True)
    task = ray.remote(num_cpus=1)(_train_point)
    return ray.get([task.remote(options, resumable, False) for options, resumable in jobs])
