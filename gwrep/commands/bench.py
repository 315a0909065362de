"""``gwrep bench TARGET [options]``: run a benchmark that times part of gwrep and writes JSON.

Targets are looked up in :data:`BENCHMARKS`, ``name -> "module:function"``; the function takes
the remaining command-line arguments as a list (argparse style) and returns an exit status.
"""
from __future__ import annotations

import argparse
import importlib

__all__ = ["HELP", "BENCHMARKS", "add_arguments", "run"]

HELP = "time the engine and models (gw, ...) and write JSON to benchmarks/results/"

#: benchmark name -> "module:function" entry point taking a list of arguments.
BENCHMARKS: dict[str, str] = {
    "gw": "gwrep.ot.benchmark:main",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "'gwrep bench TARGET --help' shows a target's options."
    parser.add_argument("target", choices=sorted(BENCHMARKS), help="what to benchmark")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="options of the target")


def run(args: argparse.Namespace) -> int:
    module_name, _, function = BENCHMARKS[args.target].partition(":")
    entry = getattr(importlib.import_module(module_name), function)
    return int(entry(list(args.options)) or 0)
