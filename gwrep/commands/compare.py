"""``gwrep compare RUN_DIR ... [--out DIR]``: one table and one figure for several runs.

Reads the ``summary`` of each run's ``eval.json`` (``gwrep eval``) and ``ood.json``
(``gwrep ood``), groups runs by model name (and data set, when the runs span several),
treating runs of one group as seeds, and reports mean ± sample std (ddof=1) per metric:
printed, as ``comparison.md`` and ``comparison.json``, and as ``comparison.png`` (one
panel per metric, every seed shown).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

HELP = "tabulate and plot metrics of several runs side by side"

#: Metrics where lower is better (marked with a down arrow in the table and figure).
LOWER_IS_BETTER = ("fid", "recon_fid", "ood_fpr_at_95_tpr")
#: Files whose ``summary`` is read, in column order.
SUMMARY_FILES = ("eval.json", "ood.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders with eval.json and/or ood.json")
    parser.add_argument("--out", default="runs/comparison", help="output folder (default: runs/comparison)")
    parser.add_argument("--metrics", nargs="+", default=None, metavar="NAME",
                        help="only these summary metrics (default: every one found)")


def run_summary(run_dir: Path) -> dict[str, float]:
    """The merged ``summary`` dicts of a run's eval.json and ood.json (empty if neither exists)."""
    from gwrep.config import read_json_file

    summary: dict[str, float] = {}
    for name in SUMMARY_FILES:
        path = run_dir / name
        if path.is_file():
            document = read_json_file(path)
            if not isinstance(document.get("summary"), dict):
                raise ValueError(f"{path} has no 'summary' dict; re-run gwrep {name.split('.')[0]}")
            summary.update({k: float(v) for k, v in document["summary"].items()})
    return summary


def collect(run_dirs: list[str], metrics: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Group -> {"runs", "seeds", "values": metric -> list over runs (None where missing)}."""
    from gwrep.commands._runs import open_runs, run_path

    runs = open_runs(run_dirs)
    several_data = len({r.config.data for r in runs}) > 1
    groups: dict[str, dict[str, Any]] = {}
    empty = []
    for r in runs:
        summary = run_summary(r.dir)
        if not summary:
            empty.append(str(r.dir))
            continue
        label = f"{r.config.model} ({r.config.data})" if several_data else r.config.model
        group = groups.setdefault(label, {"runs": [], "seeds": [], "summaries": []})
        group["runs"].append(run_path(r))
        group["seeds"].append(r.config.seed)
        group["summaries"].append(summary)
    if empty:
        print(f"note: no eval.json or ood.json in {', '.join(empty)} (run gwrep eval / gwrep ood first); left out")
    if not groups:
        raise ValueError("none of the runs has eval.json or ood.json; run gwrep eval or gwrep ood first")
    names: list[str] = []
    for g in groups.values():
        for s in g["summaries"]:
            names += [k for k in s if k not in names]
    if metrics is not None:
        missing = sorted(set(metrics) - set(names))
        if missing:
            raise ValueError(f"metrics {missing} are in no run's summary; found: {names}")
        names = list(metrics)
    for g in groups.values():
        summaries = g.pop("summaries")
        g["values"] = {m: [s.get(m) for s in summaries] for m in names}
    return groups


def _stats(values: list[float | None]) -> dict[str, Any]:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    n = len(vals)
    mean = sum(vals) / n if n else None
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else None
    return {"mean": mean, "std": std, "n": n, "values": values}


def display_name(metric: str) -> str:
    return f"{metric} \u2193" if metric in LOWER_IS_BETTER else metric


def run(args: argparse.Namespace) -> int:
    from gwrep.commands._runs import markdown_table, mean_std, write_json
    from gwrep.eval.plots import plot_metric_comparison

    groups = collect(args.runs, args.metrics)
    names = list(next(iter(groups.values()))["values"])
    header = ["model", "seeds"] + [display_name(m) for m in names]
    rows = [[label, ",".join(map(str, g["seeds"]))] + [mean_std(g["values"][m]) for m in names]
            for label, g in groups.items()]
    text = markdown_table(header, rows)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.md").write_text(
        "Mean ± sample std (ddof=1) over runs (seeds) of each model; \u2193 = lower is better.\n\n" + text + "\n")
    write_json(out / "comparison.json", {
        label: {"runs": g["runs"], "seeds": g["seeds"], "metrics": {m: _stats(g["values"][m]) for m in names}}
        for label, g in groups.items()})
    table = {label: {display_name(m): [v for v in g["values"][m] if v is not None] for m in names}
             for label, g in groups.items()}
    plot_metric_comparison(table, out / "comparison.png")
    print(f"wrote {out / 'comparison.md'}, {out / 'comparison.json'} and {out / 'comparison.png'}")
    return 0
