"""``gwrep sweep``: train a grid of configurations, one run folder each, indexed by sweep.json.

A sweep file (``--config``, .json/.yaml) holds ``base`` (TrainConfig options), ``models``,
``seeds``, ``grid`` (option -> list of values; dotted keys reach into ``model_options``
and ``data_options``), and optionally ``out`` and ``backend``. Flags override it::

    gwrep sweep --model gwae-fnp beta-vae --seeds 0 1 2 --set latent_dim=4,8 --steps 500 --out runs/sweep
"""
from __future__ import annotations

import argparse
from typing import Any

from gwrep.commands.train import add_config_arguments, config_options, parse_value

HELP = "train a grid of configurations (models x seeds x option values), one run folder each"

_SWEEP_KEYS = ("base", "models", "seeds", "grid", "out", "backend")


def parse_grid(items: list[str] | None) -> dict[str, list[Any]]:
    """``["latent_dim=4,8"]`` -> ``{"model_options.latent_dim": [4, 8]}``.

    A key that is not a TrainConfig field and has no dot is a model option.

    >>> parse_grid(["latent_dim=4,8", "batch_size=32", "data_options.image_size=28,64"])
    {'model_options.latent_dim': [4, 8], 'batch_size': [32], 'data_options.image_size': [28, 64]}
    """
    from gwrep.train.config import TrainConfig

    fields = set(TrainConfig.__dataclass_fields__)
    grid: dict[str, list[Any]] = {}
    for item in items or []:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values:
            raise ValueError(f"--set expects KEY=V1,V2,..., got {item!r}")
        if "." not in key and key not in fields:
            key = f"model_options.{key}"
        if key in grid:
            raise ValueError(f"--set gives the grid axis {key!r} twice; give its values once, e.g. {key}=4,8")
        grid[key] = [parse_value(v.strip()) for v in values.split(",")]
    return grid


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="sweep file (.json/.yaml): base, models, seeds, grid, out")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds to run for every point")
    parser.add_argument("--set", action="append", metavar="KEY=V1,V2", help="grid axis (repeatable)")
    parser.add_argument("--out", help="sweep folder (one run folder per point inside, and sweep.json)")
    parser.add_argument("--backend", choices=["sequential", "ray"], help="sequential (default) or ray (gwrep[ray])")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show progress bars (default: on a terminal)")
    add_config_arguments(parser, several_models=True)


def run(args: argparse.Namespace) -> int:
    from gwrep.train.config import read_config_file
    from gwrep.train.sweep import expand_grid, run_sweep

    spec = read_config_file(args.config) if args.config else {}
    unknown = sorted(set(spec) - set(_SWEEP_KEYS))
    if unknown:
        raise ValueError(f"sweep file {args.config} has unknown keys {unknown}; known: {list(_SWEEP_KEYS)}")
    models = args.model or spec.get("models") or []
    seeds = args.seeds or spec.get("seeds") or []
    grid = {**(spec.get("grid") or {}), **parse_grid(args.set)}
    out = args.out or spec.get("out")
    if not out:
        raise ValueError("give the sweep folder with --out (or 'out' in the sweep file)")
    args.model = None  # handled above; config_options must not see the list
    args.out = None
    base = config_options(args, spec.get("base") or {})
    points = expand_grid(base, models=models, seeds=seeds, grid=grid)
    print(f"sweep of {len(points)} runs into {out}")
    if args.dry_run:
        for point in points:
            print(f"  {point.name}")
        return 0
    records = run_sweep(points, out, backend=args.backend or spec.get("backend") or "sequential",
                        progress=args.progress)
    for record in records:
        best = record.get("best_val_loss")
        print(f"  {record['name']:<40} {record.get('status', 'not run'):<14} step {record.get('step', '-')}"
              f"  best val {'-' if best is None else f'{best:.6g}'}")
    statuses = [r.get("status") for r in records]
    if "interrupted" in statuses:
        return 130
    return 1 if "failed" in statuses else 0
