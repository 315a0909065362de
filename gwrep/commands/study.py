"""``gwrep study NAME|FILE [--scale smoke|small|paper] [--data ...] [--seeds ...] [--backend sequential|ray] [--out DIR]``.

Runs a study of unsupervised disentanglement (:mod:`gwrep.study`; ``gwrep study list`` names
the shipped ones): trains every data set x model x hyperparameter value x seed into
``DIR/runs/<run>``, scores each run (the six metrics, the unsupervised scores on the mean and
sampled representations, the downstream task, the reconstruction error, UDR per cell of
seeds), writes the tidy table ``DIR/study.csv`` / ``DIR/study.json`` (one row per run) and the
analyses ``DIR/study.md`` with ``DIR/figures/``. Running it again resumes: finished runs are
skipped, interrupted ones resume, only missing or stale scores are computed; a failed run is
reported and the rest go on.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HELP = "run a study of unsupervised disentanglement end to end ('gwrep study list')"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="study name ('gwrep study list' shows them) or path of a .yaml")
    parser.add_argument("--scale", default="smoke", choices=["smoke", "small", "paper"],
                        help="smoke (minutes; checks the machinery), small (hours on a CPU), paper (the paper's "
                             "sizes, for GPUs); default smoke")
    parser.add_argument("--data", nargs="+", default=None, metavar="SET",
                        help="the study's data sets to run (default: the scale's)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (default: the scale's)")
    parser.add_argument("--backend", choices=["sequential", "ray"], default="sequential",
                        help="run one run after the other here, or each as a Ray task (gwrep[ray]); a cluster "
                             "is --ray-address or RAY_ADDRESS away (its workers must see --out and the data)")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else local)")
    parser.add_argument("--out", default=None, help="study folder (default runs/studies/<name>-<scale>)")
    parser.add_argument("--data-root", default=None, metavar="DIR",
                        help="data folder for the sets read from files (default: $GWREP_DATA)")
    parser.add_argument("--device", default=None, help="device of every run and its scores (default: cpu)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one option of every run, e.g. steps=50 or model_options.latent_dim=8")
    parser.add_argument("--score-seed", type=int, default=0, help="seed of every score's sampling (default 0)")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    parser.add_argument("--no-report", action="store_true", help="write the table but not the analyses")
    parser.add_argument("--report-only", action="store_true",
                        help="train and score nothing: write the table and the analyses of the runs the folder holds "
                             "now (e.g. while the study runs in another process)")


def list_studies() -> str:
    """The shipped studies as a markdown table: name, data sets, models, runs per scale, title."""
    from gwrep.commands._runs import markdown_table
    from gwrep.study.spec import load_study, study_names

    rows = []
    for name in study_names():
        s = load_study(name)
        runs = ", ".join(f"{scale} {len(s.runs(scale))}" for scale in s.scales)
        rows.append([name, len(s.datasets), len(s.models), runs, s.title])
    return markdown_table(["study", "data sets", "models", "runs per scale", "title"], rows)


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    from gwrep.commands.train import parse_assignments
    from gwrep.train.sweep import set_dotted

    overrides: dict[str, Any] = {}
    for key, value in parse_assignments(args.set, "--set").items():
        set_dotted(overrides, key, value)
    return overrides


def run(args: argparse.Namespace) -> int:
    from gwrep.study.runner import run_study
    from gwrep.study.spec import load_study

    if args.name == "list":
        print(list_studies())
        return 0
    study = load_study(args.name)
    scale = args.scale
    out = Path(args.out or f"runs/studies/{study.name}-{scale}")
    overrides = overrides_from(args)
    if args.dry_run:
        runs = study.runs(scale, args.seeds, args.data, overrides)
        print(f"study {study.name}, scale {scale}: {len(runs)} runs into {out / 'runs'}")
        for r in runs:
            print(f"  {r.name:<48} steps {r.options.get('steps')}  batch {r.options.get('batch_size')}")
        return 0
    result = run_study(study, scale, out, seeds=args.seeds, datasets=args.data, overrides=overrides,
                       backend=args.backend, ray_address=args.ray_address, data_root=args.data_root,
                       device=args.device, score_seed=args.score_seed, report=not args.no_report,
                       work=not args.report_only)
    print(f"wrote {', '.join(result['table'])}" + (f" and {result['report']}" if result.get("report") else ""))
    if result["interrupted"]:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    if result["failed"]:
        print(f"{len(result['failed'])} run(s) not finished or failed: {', '.join(result['failed'][:10])}"
              + (" ..." if len(result["failed"]) > 10 else ""), file=sys.stderr)
        return 1
    return 0
