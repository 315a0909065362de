"""Time the Locatello et al. study's analyses and report on a paper-sized table (issue 22: "seconds").

Builds a synthetic tidy table the size of the paper's study (7 data sets x 6 models x 6 values x 50
seeds = 12,600 runs, every score column, 1% failed runs) with
:func:`gwrep.study.analysis.synthetic_table`, then times, each once: the conversion to the score cube,
every analysis a-h with its bootstrap (``--n-boot`` resamples), the summary tables, and the whole
:func:`gwrep.study.report.write_report` (analyses again, every figure, study.md, analysis.json). Wall
and process CPU seconds per step; the machine's load average at the start and end, since a shared
machine stretches wall time. Writes ``benchmarks/results/study_analysis.json`` (or ``--out``).

    python benchmarks/study_analysis.py                 # the paper's size, 200 resamples, with the report
    python benchmarks/study_analysis.py --no-report     # the analyses only
    python benchmarks/study_analysis.py --seeds 3 --datasets 2 --models 7 --values 3   # the small study's size
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

RESULTS = Path(__file__).resolve().parent / "results"


def _timed(name: str, fn: Callable[[], Any], rows: list[dict[str, Any]]) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    rows.append({"step": name, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu})
    print(f"{name:<28} {rows[-1]['wall_s']:8.2f} {rows[-1]['cpu_s']:8.2f}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    from gwrep.study import analysis as A
    from gwrep.study.report import write_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=7, help="data sets (default 7, the paper's)")
    parser.add_argument("--models", type=int, default=6,
                        help="models, in the paper's order (default 6; 7 adds GWAE-FNP)")
    parser.add_argument("--values", type=int, default=6, help="hyperparameter values per model (default 6)")
    parser.add_argument("--seeds", type=int, default=50, help="seeds per cell (default 50)")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples per verdict (default 200)")
    parser.add_argument("--no-report", action="store_true", help="time the analyses only, not the figures and files")
    parser.add_argument("--out", type=Path, default=RESULTS / "study_analysis.json", help="the JSON file to write")
    args = parser.parse_args(argv)

    datasets = [f"dataset{i}" for i in range(args.datasets)]
    models = A.model_order()[:args.models]
    load_before = os.getloadavg()
    table = A.synthetic_table(datasets, models, values=args.values, seeds=args.seeds, seed=0, failed=0.01)
    print(f"{len(table)} runs: {args.datasets} data sets x {args.models} models x {args.values} values x "
          f"{args.seeds} seeds; {args.n_boot} resamples per verdict\n")
    print(f"{'step':<28} {'wall s':>8} {'cpu s':>8}")
    rows: list[dict[str, Any]] = []
    study = _timed("table -> cube", lambda: A.study_data(table), rows)
    steps = {"a total correlation": A.tc_vs_regularisation, "b rank correlations": A.score_correlations,
             "c distributions": A.score_distributions, "d variance, seeds": A.variance_explained,
             "e unsupervised selection": A.unsupervised_selection, "f transfer": A.hyperparameter_transfer,
             "g downstream": A.downstream, "h trade-off": A.reconstruction_tradeoff}
    verdicts = []
    for name, fn in steps.items():
        verdicts += _timed(name, lambda fn=fn: fn(study, n_boot=args.n_boot), rows)["verdicts"]
    _timed("summary + timing tables", lambda: (A.summary_tables(study), A.runs_timing(study)), rows)
    analyses = sum(r["wall_s"] for r in rows)
    print(f"{'all analyses':<28} {analyses:8.2f} {sum(r['cpu_s'] for r in rows):8.2f}")
    report = None
    if not args.no_report:
        with tempfile.TemporaryDirectory() as tmp:
            _timed("write_report (all again)", lambda: write_report(
                table, tmp, title="benchmark", machine_note=platform.platform(), scale_note="synthetic",
                n_boot=args.n_boot), rows)
            report = {"wall_s": rows[-1]["wall_s"], "figures": len(list((Path(tmp) / "figures").iterdir())),
                      "study_md_bytes": (Path(tmp) / "study.md").stat().st_size,
                      "analysis_json_bytes": (Path(tmp) / "analysis.json").stat().st_size}
    load_after = os.getloadavg()
    print(f"\nload average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after, on {os.cpu_count()} CPUs")
    for v in verdicts:
        print(f"  {v['key']:<3} {v['verdict']:<26} {v['value']:+.3f} [{v['ci'][0]:+.3f}, {v['ci'][1]:+.3f}]")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "runs": len(table), "datasets": args.datasets, "models": args.models, "values": args.values,
        "seeds": args.seeds, "n_boot": args.n_boot, "machine": platform.platform(), "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": load_after, "steps": rows,
        "analyses_wall_s": analyses, "report": report}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
