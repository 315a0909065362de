"""``gwrep bench TARGET [options]``: run a benchmark that times part of gwrep and writes JSON.

Targets are looked up in :data:`BENCHMARKS`, ``name -> "module:function"``; the function takes
the remaining command-line arguments as a list (argparse style) and returns an exit status.
Targets in :data:`SCRIPTS` are the scripts of the repository's ``benchmarks/`` folder, run as
``python benchmarks/<file>`` would run them; they need a source checkout (editable install).
"""
from __future__ import annotations

import argparse
import importlib
import runpy
import sys
from pathlib import Path

__all__ = ["HELP", "BENCHMARKS", "add_arguments", "run"]

HELP = "time the engine, data, models and metrics and write JSON to benchmarks/results/"

#: benchmark name -> "module:function" entry point taking a list of arguments.
BENCHMARKS: dict[str, str] = {
    "gw": "gwrep.bench.gw:main",
}

#: benchmark name -> script in the repository's benchmarks/ folder.
SCRIPTS: dict[str, str] = {
    "data": "data.py",
    "train-step": "train_step.py",
    "metrics": "metrics.py",
    "generation": "generation.py",
}

BENCHMARK_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def _run_script(name: str, options: list[str]) -> int:
    script = BENCHMARK_DIR / SCRIPTS[name]
    if not script.is_file():
        raise FileNotFoundError(
            f"benchmark script {script} not found: 'gwrep bench {name}' needs gwrep's source checkout "
            "installed in editable mode (pip install -e .)")
    saved = sys.argv
    sys.argv = [str(script), *options]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as stop:  # the scripts end with sys.exit(main())
        return int(stop.code or 0)
    finally:
        sys.argv = saved
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "'gwrep bench TARGET --help' shows a target's options."
    parser.add_argument("target", choices=sorted({**BENCHMARKS, **SCRIPTS}), help="what to benchmark")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="options of the target")


def run(args: argparse.Namespace) -> int:
    if args.target in SCRIPTS:
        return _run_script(args.target, list(args.options))
    module_name, _, function = BENCHMARKS[args.target].partition(":")
    entry = getattr(importlib.import_module(module_name), function)
    return int(entry(list(args.options)) or 0)
