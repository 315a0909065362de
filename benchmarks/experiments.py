"""Wall time of ``gwrep experiment`` (issue 11): each experiment at each scale run.

Either runs the experiments (``--run``: ``gwrep experiment NAME --scale S`` into
``--root/<name>-<scale>``, timed from outside, one thread) or reads the ``results.json``
of experiment folders that were run already (``--from DIR ...``). For each it records the
wall time of the invocation, the training and evaluation parts, the runs' own training
minutes and steps, how the runs ended, and the machine. Merges the rows into
``benchmarks/results/experiments.json`` (one row per experiment x scale x machine, the newest
kept) and prints a table.

    python benchmarks/experiments.py --run ood-mnist-omniglot --scale smoke --data-root ../shared/data
    python benchmarks/experiments.py --from runs/experiments/*-small
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
OUT_FILE = RESULTS / "experiments.json"


def row_from_results(folder: Path, measured_wall_s: float | None = None) -> dict:
    """One benchmark row from an experiment folder's results.json."""
    path = folder / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run gwrep experiment into {folder} first")
    r = json.loads(path.read_text())
    runs = r["runs"]
    minutes = [x["minutes"] for x in runs if x.get("minutes") is not None]
    machine = r.get("driver_machine", {})
    # The invocation that trained (the longest training phase), not a later call that only redrew the tables.
    invocations = r.get("invocations") or [{"wall_minutes": r["wall_minutes"],
                                            "train_phase_minutes": r.get("train_phase_minutes")}]
    trained = max(invocations, key=lambda i: i.get("train_phase_minutes") or 0.0)
    return {
        "experiment": r["experiment"], "scale": r["scale"], "folder": str(folder.resolve()),
        "runs": len(runs), "seeds": r["seeds"], "backend": r.get("backend"),
        "wall_minutes": round(measured_wall_s / 60, 3) if measured_wall_s is not None else trained["wall_minutes"],
        "invocation_wall_minutes": trained["wall_minutes"], "train_phase_minutes": trained.get("train_phase_minutes"),
        "invocations": invocations,
        "eval_minutes": round(sum(r.get("eval_seconds", {}).values()) / 60, 3),
        "run_train_minutes_total": round(sum(minutes), 3), "run_train_minutes_max": max(minutes, default=None),
        "steps": {x["name"]: x.get("step") for x in runs},
        "ended": dict(Counter(x.get("status") or "not run" for x in runs)),
        "machine": machine, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": ("a rerun of finished runs: the wall time is evaluation and tables only"
                 if (trained.get("train_phase_minutes") or 0) < 0.05 * max(sum(minutes), 1e-9) else ""),
    }


def run_experiment(name: str, scale: str, root: Path, data_root: str | None) -> dict:
    """``gwrep experiment`` in a child process (one thread), timed; its row."""
    folder = root / f"{name}-{scale}"
    command = [sys.executable, "-m", "gwrep.cli", "experiment", name, "--scale", scale, "--out", str(folder),
               "--no-progress"]
    if data_root:
        command += ["--data-root", data_root]
    start = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit status {done.returncode}")
    return row_from_results(folder, wall)


def merge_rows(rows: list[dict]) -> list[dict]:
    """Rows already in experiments.json, with the new ones replacing those of the same experiment, scale, host."""
    old = json.loads(OUT_FILE.read_text())["rows"] if OUT_FILE.is_file() else []
    key = lambda row: (row["experiment"], row["scale"], row["machine"].get("host"))  # noqa: E731
    new = {key(r): r for r in rows}
    return [r for r in old if key(r) not in new] + rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", nargs="+", default=[], metavar="NAME", help="experiments to run and time")
    parser.add_argument("--scale", nargs="+", default=["smoke"], help="scales to run (default smoke)")
    parser.add_argument("--root", default="runs/experiments", help="parent of the experiment folders (--run)")
    parser.add_argument("--data-root", default=os.environ.get("GWREP_DATA"), help="data folder (default $GWREP_DATA)")
    parser.add_argument("--from", dest="folders", nargs="+", default=[], metavar="DIR",
                        help="experiment folders already run: record their results.json")
    args = parser.parse_args(argv)
    if not args.run and not args.folders:
        parser.error("give --run NAME ... or --from DIR ...")
    rows = [run_experiment(n, s, Path(args.root), args.data_root) for n in args.run for s in args.scale]
    rows += [row_from_results(Path(f)) for f in args.folders]
    RESULTS.mkdir(parents=True, exist_ok=True)
    all_rows = merge_rows(rows)
    OUT_FILE.write_text(json.dumps({"rows": all_rows}, indent=2) + "\n")
    print(f"{'experiment':<26} {'scale':<6} {'runs':>4} {'wall min':>9} {'train min':>10} {'eval min':>9} "
          f"{'runs trained min':>17}  ended  machine")
    for r in all_rows:
        m = r["machine"]
        print(f"{r['experiment']:<26} {r['scale']:<6} {r['runs']:>4} {r['wall_minutes']:>9.2f} "
              f"{r['train_phase_minutes'] or 0:>10.2f} {r['eval_minutes']:>9.2f} {r['run_train_minutes_total']:>17.2f}  "
              f"{r['ended']}  {m.get('cpu')} x{m.get('cpu_count')} {m.get('gpu') or m.get('device')}")
    print(f"wrote {OUT_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
