"""``gwrep experiment NAME [--scale smoke|small|paper] [--seeds ...] [--backend sequential|ray] [--out DIR]``.

Runs one of the GWAE paper's experiments (:mod:`gwrep.experiments`; ``gwrep experiment
list`` names them) end to end: trains every model x variant x seed with
:func:`gwrep.train.sweep.run_sweep` into ``DIR/runs/<run>`` (finished runs, and runs that
spent their stated time budget, are skipped; an interrupted one resumes), evaluates each
run with ``gwrep eval`` or ``gwrep ood`` (skipped when its result is up to date), and
writes ``DIR/results.md``, ``DIR/results.json``, ``DIR/comparison/`` (``gwrep compare``)
and ``DIR/figures/``: a traversal figure and a DCI importance heatmap per model
(disentanglement), one ROC figure with every model per protocol (OoD), a samples and a
reconstructions figure per model (generation).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from gwrep.runs import check_existing_runs  # noqa: F401 (lives in the library: the study runner uses it too)

HELP = "run one of the paper's experiments: train every model x seed, evaluate, write tables and figures"

#: Run statuses that count as trained: early stop, all steps, or the stated time budget spent.
DONE = ("completed", "early_stopped", "time_budget")
#: Per-run fingerprints of the last evaluation (skip it when nothing changed).
EVALUATED_FILE = "evaluated.json"
#: Figures copied from each model's first run into DIR/figures, per task: run figure -> prefix.
RUN_FIGURES = {"disentanglement": {"figures/traversals.png": "traversals", "figures/dci_importance.png": "dci"},
               "generation": {"figures/samples.png": "samples", "figures/reconstructions.png": "reconstructions"},
               "ood": {"figures/reconstructions.png": "reconstructions"}}
#: Training-log keys of the reconstruction error, in order of preference (VAE family and DAGMM; GWAE's L_W).
RECONSTRUCTION_KEYS = ("reconstruction", "w", "loss")
#: Table header of a summary metric (the ones gwrep eval / gwrep ood write).
LABELS = {"ood_auroc": "AUROC", "ood_aupr_in": "AUPR-in", "ood_aupr_out": "AUPR-out",
          "ood_fpr_at_95_tpr": "FPR@95 \u2193", "dci_disentanglement": "DCI-D", "dci_completeness": "DCI-C",
          "dci_informativeness": "DCI-I", "mig": "MIG", "sap": "SAP", "factor_vae_score": "FactorVAE",
          "psnr": "PSNR (dB)", "fid": "FID \u2193", "recon_fid": "recon FID \u2193"}
#: Summary metrics of each evaluation metric name given in an experiment file.
SUMMARY_NAMES = {"dci": ["dci_disentanglement", "dci_completeness", "dci_informativeness"]}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME",
                        help="experiment name ('gwrep experiment list' shows them) or path of an experiment .yaml")
    parser.add_argument("--scale", default="smoke", choices=["smoke", "small", "paper"],
                        help="smoke (minutes; checks the machinery), small (hours on a CPU), paper (the authors' "
                             "sizes, for a GPU); default smoke")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (default: the scale's)")
    parser.add_argument("--backend", choices=["sequential", "ray"], default="sequential",
                        help="train one run after the other here, or as Ray tasks (gwrep[ray]; RAY_ADDRESS joins "
                             "a cluster, whose workers must see --out and the data on shared storage)")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else local)")
    parser.add_argument("--out", default=None, help="experiment folder (default runs/experiments/<name>-<scale>)")
    parser.add_argument("--data-root", default=None, metavar="DIR",
                        help="data folder (default: $GWREP_DATA): DIR/<set> when it exists, as ../shared/data")
    parser.add_argument("--data", default=None, help="train on this data set instead (e.g. shapes3d-h5 with "
                                                     "--data-root /path/to/3dshapes.h5)")
    parser.add_argument("--device", default=None, help="device of every run and evaluation (default auto)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one option of every run, e.g. steps=50 or model_options.latent_dim=8")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and exit")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: on a terminal)")


# ---------------------------------------------------------------------------------------------- planning


def list_experiments() -> str:
    """The shipped experiments as a markdown table: name, task, models, runs per scale, title."""
    from gwrep.commands._runs import markdown_table
    from gwrep.experiments import experiment_names, load_experiment

    rows = []
    for name in experiment_names():
        e = load_experiment(name)
        runs = ", ".join(f"{s} {len(e.points(s))}" for s in e.scales)
        rows.append([name, e.task, len(e.models), runs, e.title])
    return markdown_table(["experiment", "task", "models", "runs per scale", "title"], rows)


def data_root_for(experiment: Any, data: str, given: str | None) -> str | None:
    """The ``data_root`` of the runs: None for a procedural set, else from ``--data-root`` or ``$GWREP_DATA``
    (the experiment's ``data_folder`` below it when that exists, else ``DIR/<data>`` or ``DIR``)."""
    from gwrep.data import DATASETS, dataset_root

    if data in DATASETS and not DATASETS[data].needs_root:
        return None
    folder = given or os.environ.get("GWREP_DATA") or experiment.base.get("data_root")
    if not folder:
        raise ValueError(f"experiment {experiment.name!r} trains on {data!r}, which is read from files: give "
                         f"--data-root DIR (or set GWREP_DATA)")
    if experiment.data_folder and data == experiment.base.get("data") and (Path(folder) / experiment.data_folder).is_dir():
        return str((Path(folder) / experiment.data_folder).resolve())
    return str(Path(dataset_root(folder, data)).resolve())


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """Options set for every run by ``--set``, ``--data`` and ``--device``."""
    from gwrep.commands.train import parse_assignments
    from gwrep.train.sweep import set_dotted

    overrides: dict[str, Any] = {}
    for key, value in parse_assignments(args.set, "--set").items():
        set_dotted(overrides, key, value)
    if args.data:
        overrides["data"] = args.data
    if args.device:
        overrides["device"] = args.device
    return overrides


# ---------------------------------------------------------------------------------------------- evaluation


def _parse(module: Any, argv: list[str]) -> argparse.Namespace:
    """``argv`` through the command ``module``'s own parser (its defaults and checks)."""
    parser = argparse.ArgumentParser(prog=f"gwrep {module.__name__.rsplit('.', 1)[-1]}")
    module.add_arguments(parser)
    return parser.parse_args(argv)


def eval_argv(task: str, settings: dict[str, Any], device: str) -> list[str]:
    """The ``gwrep eval`` flags of an experiment's evaluation settings (the run folder comes first).

    Generation asks for no metric by name, so a missing FID extractor skips FID with the reason
    (recorded in eval.json) instead of failing the experiment.

    >>> eval_argv("disentanglement", {"metrics": ["dci", "mig"], "fast": True, "options": {"dci.num_train": 20}}, "cpu")
    ['--device', 'cpu', '--metrics', 'dci', 'mig', '--fast', '--option', 'dci.num_train=20']
    """
    argv = ["--device", device]
    if task != "generation" and settings.get("metrics"):
        argv += ["--metrics", *settings["metrics"]]
    if settings.get("fast"):
        argv.append("--fast")
    for key, value in (settings.get("options") or {}).items():
        argv += ["--option", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    for key in ("fid_num", "psnr_num", "batch_size"):
        if settings.get(key) is not None:
            argv += [f"--{key.replace('_', '-')}", str(settings[key])]
    return argv


def ood_argv(run: Any, settings: dict[str, Any], data_root: str, device: str) -> list[str]:
    """The ``gwrep ood`` arguments scoring one run against the experiment's OoD set under the run's own protocol."""
    argv = [str(run.dir), "--ood-data", settings.get("ood_data", "omniglot"), "--data-root", data_root,
            "--device", device, "--seed", "0"]
    protocol = run.config.data_options.get("protocol")
    if protocol:
        argv += ["--protocol", protocol]
    if settings.get("num_in") is not None:
        argv += ["--num-in", str(settings["num_in"])]
    return argv


def _fingerprint(run_dir: Path, task: str, argv: list[str]) -> str:
    from gwrep.config import read_json_file

    summary = read_json_file(run_dir / "run.json")
    return json.dumps({"task": task, "argv": argv, "step": summary.get("step"), "status": summary.get("status")})


def evaluate(experiment: Any, scale: str, out: Path, records: list[dict[str, Any]], data_root: str | None,
             device: str) -> dict[str, float]:
    """Evaluate every trained run whose last evaluation is out of date; returns seconds per run evaluated."""
    from gwrep.commands import eval as eval_command
    from gwrep.commands import ood as ood_command
    from gwrep.commands._runs import open_runs, write_json
    from gwrep.config import read_json_file

    settings = experiment.evaluation_settings(scale)
    done_path = out / EVALUATED_FILE
    done = read_json_file(done_path) if done_path.is_file() else {}
    timing: dict[str, float] = {}
    for record in records:
        if record.get("status") not in DONE:
            continue
        run_dir = Path(record["dir"])
        if experiment.task == "ood":
            if data_root is None:
                raise ValueError("the OoD evaluation reads the OoD set from files: give --data-root (or GWREP_DATA)")
            (run,) = open_runs([run_dir])
            argv = ood_argv(run, settings, data_root, device)
        else:
            argv = [str(run_dir), *eval_argv(experiment.task, settings, device)]
        key = _fingerprint(run_dir, experiment.task, argv[1:])
        if done.get(record["name"]) == key and any((run_dir / f).is_file() for f in ("eval.json", "ood.json")):
            continue
        print(f"evaluating {record['name']}")
        start = time.perf_counter()
        if experiment.task == "ood":
            ood_command.evaluate_run(run, _parse(ood_command, argv))
        else:
            eval_command.evaluate_run(run_dir, _parse(eval_command, argv))
        timing[record["name"]] = round(time.perf_counter() - start, 2)
        done[record["name"]] = key
        write_json(done_path, done)
    return timing


# ---------------------------------------------------------------------------------------------- results


def metric_names(experiment: Any, scale: str) -> list[str]:
    """The summary metrics of the tables, in the experiment's order."""
    settings = experiment.evaluation_settings(scale)
    names: list[str] = []
    for metric in settings.get("metrics") or []:
        names += SUMMARY_NAMES.get(metric, [metric])
    return names


def focus_share(run_dir: Path, factor: str) -> tuple[float, int] | None:
    """(share of ``factor``'s DCI importance on its most important code, that code), from eval.json; None if absent.

    A value near 1 means the factor is read from one latent axis ("hue on a single axis").
    """
    import numpy as np

    from gwrep.config import read_json_file
    from gwrep.data import load
    from gwrep.train import load_run

    path = run_dir / "eval.json"
    matrix = read_json_file(path).get("metrics", {}).get("dci", {}).get("importance_matrix") if path.is_file() else None
    if matrix is None:
        return None
    cfg = load_run(run_dir).config
    names = list(load(cfg.data, root=cfg.data_root, split="test", **cfg.data_options).factor_data.factor_names)
    if factor not in names:
        raise ValueError(f"focus_factor {factor!r} is not a factor of {cfg.data} (factors: {names})")
    column = np.asarray(matrix, float)[:, names.index(factor)]
    total = column.sum()
    if not total > 0:
        return None
    return float(column.max() / total), int(column.argmax())


def reconstruction_trend(run_dir: Path) -> tuple[str, float] | None:
    """(log key, relative change of its mean over the last quarter of the logged training steps against the
    quarter before); None with fewer than 8 training log lines. Near 0: the reconstruction error has flattened.

    The key is the first of :data:`RECONSTRUCTION_KEYS` the run logs.
    """
    import numpy as np

    from gwrep.train.run import read_metrics

    path = run_dir / "metrics.jsonl"
    records = read_metrics(path, "train") if path.is_file() else []
    key = next((k for k in RECONSTRUCTION_KEYS if records and k in records[0]), None)
    if key is None or len(records) < 8:
        return None
    values = np.array([r[key] for r in records if key in r], float)
    quarter = len(values) // 4
    last, before = values[-quarter:].mean(), values[-2 * quarter:-quarter].mean()
    return key, float((last - before) / abs(before)) if before else float("nan")


def _machine(run_dir: Path) -> str:
    from gwrep.config import read_json_file

    path = run_dir / "machine.json"
    if not path.is_file():
        return "-"
    seen = []
    for m in read_json_file(path).get("invocations", []):
        text = f"{m.get('host')}: {m.get('cpu')}, {m.get('cpu_count')} cores, {m.get('torch_threads')} threads, " \
               f"{m.get('gpu') or m.get('device')}"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen) or "-"


def collect_runs(experiment: Any, scale: str, records: list[dict[str, Any]], points: list[Any]) -> list[dict[str, Any]]:
    """One row per run: label, variant, seed, status, steps, minutes, machine, metrics, the step of the weights
    each of eval.json / ood.json scored, skipped metrics."""
    from gwrep.commands.compare import run_summary, scored_steps
    from gwrep.config import read_json_file

    names = metric_names(experiment, scale)
    focus = experiment.evaluation_settings(scale).get("focus_factor")
    rows = []
    for record, point in zip(records, points):
        run_dir = Path(record["dir"])
        summary = run_summary(run_dir) if run_dir.is_dir() else {}
        metrics = {m: summary.get(m) for m in names}
        skipped = {}
        if (run_dir / "eval.json").is_file():
            skipped = read_json_file(run_dir / "eval.json").get("skipped", {})
        row = {"name": record["name"], "dir": record["dir"], **point.overrides, "status": record.get("status"),
               "step": record.get("step"), "minutes": record.get("minutes"), "message": record.get("message"),
               "machine": _machine(run_dir), "metrics": metrics,
               "scored_steps": scored_steps(run_dir) if run_dir.is_dir() else {},
               "skipped": {m: skipped[m] for m in names if m in skipped}}
        trend = reconstruction_trend(run_dir) if run_dir.is_dir() else None
        row["recon_trend"] = None if trend is None else {"key": trend[0], "relative_change": trend[1]}
        if focus:
            share = focus_share(run_dir, focus) if run_dir.is_dir() else None
            row["metrics"][f"{focus}_top_code_share"] = None if share is None else share[0]
            row["focus_code"] = None if share is None else share[1]
        rows.append(row)
    return rows


def _status_cell(statuses: list[str | None]) -> str:
    counts = Counter(s or "not run" for s in statuses)
    words = {"time_budget": "stopped on budget", "early_stopped": "early stop", "completed": "all steps"}
    return ", ".join(f"{words.get(s, s)} {n}/{len(statuses)}" for s, n in counts.items())


def _number(values: list[Any], digits: int = 1) -> str:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return "-"
    low, high = min(vals), max(vals)
    return f"{low:.{digits}f}" if low == high else f"{low:.{digits}f}-{high:.{digits}f}"


def group_tables(rows: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """variant (or "") -> label -> {"seeds", "status", "steps", "minutes", "metrics": name -> stats}."""
    from gwrep.commands.compare import metric_stats

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        group = out.setdefault(row["variant"] or "", {}).setdefault(row["label"], {"rows": []})
        group["rows"].append(row)
    for groups in out.values():
        for label, group in groups.items():
            members = group.pop("rows")
            group.update({"model": members[0]["model"], "seeds": [r["seed"] for r in members],
                          "status": [r["status"] for r in members], "steps": [r["step"] for r in members],
                          "minutes": [r["minutes"] for r in members],
                          "metrics": {m: metric_stats([r["metrics"].get(m) for r in members]) for m in names}})
    return out


def previous_invocations(out: Path) -> list[dict[str, Any]]:
    """The ``invocations`` of an earlier results.json in ``out`` (each call's wall time and runs trained), or []."""
    from gwrep.config import read_json_file

    path = out / "results.json"
    if not path.is_file():
        return []
    try:
        old = read_json_file(path)
    except (OSError, ValueError) as err:  # the new results.json replaces it; the runs themselves are untouched
        print(f"warning: the wall times of earlier invocations are lost: {err}", file=sys.stderr)
        return []
    if "invocations" in old:
        return list(old["invocations"])
    if "wall_minutes" in old:  # a results.json written before invocations were kept
        return [{"wall_minutes": old["wall_minutes"], "train_phase_minutes": old.get("train_phase_minutes")}]
    return []


def _wall_line(invocations: list[dict[str, Any]]) -> str:
    """"Wall time: 70.7 min (trained 12 of 12 runs), then 0.2 min (tables only)"."""
    parts = []
    for inv in invocations:
        trained = inv.get("runs_trained")
        what = ("" if trained is None else
                " (tables only)" if trained == 0 else f" (trained {trained} of {inv.get('runs')} runs)")
        parts.append(f"{inv['wall_minutes']:.1f} min{what}")
    return ("Wall time of this invocation: " + parts[-1] if len(parts) == 1 else
            "Wall time of each invocation into this folder, oldest first: " + ", ".join(parts))


def results_markdown(experiment: Any, scale: str, rows: list[dict[str, Any]], tables: dict, names: list[str],
                     command: str, figures: list[str], invocations: list[dict[str, Any]]) -> str:
    """The text of results.md: the claim, one table per variant (mean ± std), every run, notes, figures."""
    from gwrep.commands._runs import markdown_table, mean_std

    settings = experiment.scale(scale)
    lines = [f"# {experiment.title}", "",
             f"Paper's claim: {experiment.claim}", "",
             f"Scale `{scale}`: {settings.get('note', '')}. Seeds {sorted({r['seed'] for r in rows})}. "
             f"Reproduce: `{command}`", "",
             f"{_wall_line(invocations)}. Machines: "
             + "; ".join(sorted({r['machine'] for r in rows if r['machine'] != '-'}) or ["-"]), ""]
    header_names = [LABELS.get(m, m.replace("_", " ")) for m in names]
    for variant, groups in tables.items():
        lines += [f"## {'Protocol ' + variant if variant else 'Results'}", "",
                  "Mean ± sample std over seeds (n = runs with a finite value); training steps and minutes per run "
                  "(range over seeds).", ""]
        table_rows = [[label, ",".join(map(str, g["seeds"])), _status_cell(g["status"]), _number(g["steps"], 0),
                       _number(g["minutes"], 2)] + [mean_std(g["metrics"][m]["values"]) for m in names]
                      for label, g in groups.items()]
        lines += [markdown_table(["model", "seeds", "training ended", "steps", "train min", *header_names], table_rows),
                  ""]
    lines += ["## Runs", "",
              "recon. trend: relative change of the mean training reconstruction error (its log key) over the last "
              "quarter of the logged steps against the quarter before; near 0 = flattened, '-' = too few log lines.",
              ""]
    run_rows = [[r["name"], r["status"] or "not run", r["step"] if r["step"] is not None else "-",
                 "-" if r["minutes"] is None else f"{r['minutes']:.2f}",
                 "-" if not r.get("recon_trend") else f"{r['recon_trend']['relative_change']:+.1%} "
                                                      f"({r['recon_trend']['key']})"]
                + ["-" if r["metrics"].get(m) is None or not math.isfinite(r["metrics"][m]) else f"{r['metrics'][m]:.3f}"
                   for m in names] for r in rows]
    lines += [markdown_table(["run", "status", "steps", "minutes", "recon. trend", *header_names], run_rows), ""]
    notes = []
    budget = [r["name"] for r in rows if r["status"] == "time_budget"]
    if budget:
        notes.append(f"Stopped on their time budget (the scale's max_minutes), not converged: {', '.join(budget)}.")
    for r in rows:
        if r["status"] not in DONE:
            notes.append(f"{r['name']}: {r['status'] or 'not run'}{': ' + r['message'] if r.get('message') else ''} "
                         f"(not evaluated).")
    reasons: dict[str, set[str]] = {}
    for r in rows:
        for metric, reason in r["skipped"].items():
            reasons.setdefault(metric, set()).add(reason)
    by_reason: dict[str, list[str]] = {}
    for metric, why in reasons.items():
        by_reason.setdefault("; ".join(sorted(why)), []).append(LABELS.get(metric, metric))
    for why, metrics in by_reason.items():
        notes.append(f"{' and '.join(metrics)} not computed: {why}")
    machines = sorted({r["machine"] for r in rows})
    notes.append("Trained on: " + " | ".join(machines) + ".")
    lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    if figures:
        lines += ["## Figures", ""] + [f"- [{Path(f).name}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def make_figures(experiment: Any, out: Path, rows: list[dict[str, Any]]) -> list[str]:
    """Copy each model's run figures into DIR/figures; for OoD also draw the combined ROC figure and the score
    distributions (one seed per model) of each protocol. Returns the paths relative to ``out``."""
    import numpy as np

    from gwrep.eval.ood import ood_metrics, ood_roc_curve
    from gwrep.eval.plots import plot_roc_curves, plot_score_histograms

    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    made: list[str] = []
    first: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in rows:
        if r["status"] in DONE:
            first.setdefault((r["label"], r["variant"]), r)
    for (label, variant), r in first.items():
        for source, prefix in RUN_FIGURES[experiment.task].items():
            path = Path(r["dir"]) / source
            if path.is_file():
                target = figures_dir / f"{prefix}-{label}{'-' + variant if variant else ''}.png"
                shutil.copyfile(path, target)
                made.append(str(target.relative_to(out)))
    if experiment.task == "ood":
        for variant in dict.fromkeys(r["variant"] for r in rows):
            curves, first_seed = {}, {}
            for r in rows:
                scores = Path(r["dir"]) / "ood_scores.npz"
                if r["variant"] == variant and r["status"] in DONE and scores.is_file():
                    with np.load(scores) as data:
                        s_in, s_out = data["scores_in"], data["scores_out"]
                    fpr, tpr = ood_roc_curve(s_in, s_out)
                    curves[f"{r['label']} s{r['seed']}"] = (fpr, tpr, ood_metrics(s_in, s_out)["auroc"])
                    first_seed.setdefault(r["label"], (s_in, s_out, r["seed"]))
            suffix = f"-{variant}" if variant else ""
            protocol = f", {variant} protocol" if variant else ""
            if curves:
                target = figures_dir / f"roc{suffix}.png"
                plot_roc_curves(curves, target, title=experiment.name + protocol)
                made.append(str(target.relative_to(out)))
                # The score distributions behind each AUROC (one seed per model): is OoD scored lower, higher, or alike?
                target = figures_dir / f"scores{suffix}.png"
                plot_score_histograms({f"{label} s{seed}": (s_in, s_out) for label, (s_in, s_out, seed)
                                       in first_seed.items()}, target,
                                      title=f"OoD scores{protocol}", in_name="in", out_name="OoD")
                made.append(str(target.relative_to(out)))
    return made


def _command(args: argparse.Namespace, scale: str, out: Path) -> str:
    parts = ["gwrep", "experiment", args.name, "--scale", scale, "--out", str(out)]
    if args.seeds:
        parts += ["--seeds", *map(str, args.seeds)]
    if args.backend != "sequential":
        parts += ["--backend", args.backend]
    for flag in ("data_root", "data", "device"):
        if getattr(args, flag):
            parts += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
    for item in args.set:
        parts += ["--set", item]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    from gwrep.commands import compare as compare_command
    from gwrep.commands._runs import write_json
    from gwrep.experiments import load_experiment
    from gwrep.train.sweep import FINISHED, machine_info, run_sweep

    if args.name == "list":
        print(list_experiments())
        return 0
    started = time.monotonic()
    experiment = load_experiment(args.name)
    scale = args.scale
    overrides = overrides_from(args)
    data = overrides.get("data") or experiment.base.get("data")
    data_root = data_root_for(experiment, data, args.data_root)
    if data_root is not None:
        overrides["data_root"] = data_root
    points = experiment.points(scale, args.seeds, overrides)
    out = Path(args.out or f"runs/experiments/{experiment.name}-{scale}")
    print(f"experiment {experiment.name} ({experiment.task}), scale {scale}: {len(points)} runs into {out / 'runs'}")
    if args.dry_run:
        for p in points:
            o = p.options
            print(f"  {p.name:<28} steps {o.get('steps')}  batch {o.get('batch_size')}  "
                  f"budget {o.get('max_minutes') or '-'} min")
        return 0
    from gwrep.integrity import refuse_links_out

    refuse_links_out(out, "experiment folder")  # nothing it writes may lead out of it (a linked runs/<run>)
    check_existing_runs(points, out / "runs")
    records = run_sweep(points, out / "runs", backend=args.backend, progress=args.progress,
                        finished=(*FINISHED, "time_budget"), ray_address=args.ray_address)
    if any(r.get("status") == "interrupted" for r in records):
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    train_done = time.monotonic()
    device = args.device or "auto"
    ood_root = args.data_root or os.environ.get("GWREP_DATA") or data_root
    eval_seconds = evaluate(experiment, scale, out, records, ood_root, device)
    rows = collect_runs(experiment, scale, records, points)
    names = metric_names(experiment, scale)
    focus = experiment.evaluation_settings(scale).get("focus_factor")
    if focus:
        names.append(f"{focus}_top_code_share")
        LABELS.setdefault(f"{focus}_top_code_share", f"{focus} top-code share")
    figures = make_figures(experiment, out, rows)
    if any((Path(r["dir"]) / f).is_file() for r in rows for f in ("eval.json", "ood.json")):
        compare_command.run(argparse.Namespace(runs=[str(out / "runs")], out=str(out / "comparison"), metrics=None))
        figures.append("comparison/comparison.png")
    tables = group_tables(rows, names)
    wall = (time.monotonic() - started) / 60
    train_phase = round((train_done - started) / 60, 3)
    command = _command(args, scale, out)
    invocations = previous_invocations(out) + [{
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "wall_minutes": round(wall, 3),
        "train_phase_minutes": train_phase, "backend": args.backend,
        "runs_trained": sum(not r.get("skipped") for r in records), "runs": len(records)}]
    (out / "results.md").write_text(results_markdown(experiment, scale, rows, tables, names, command, figures,
                                                     invocations))
    write_json(out / "results.json", {
        "experiment": experiment.name, "title": experiment.title, "claim": experiment.claim, "task": experiment.task,
        "file": str(experiment.path), "scale": scale, "scale_note": experiment.scale(scale).get("note"),
        "seeds": sorted({r["seed"] for r in rows}), "command": command, "backend": args.backend,
        "driver_machine": machine_info(device), "metrics": names,
        "wall_minutes": round(wall, 3), "train_phase_minutes": train_phase,
        "eval_seconds": eval_seconds, "invocations": invocations,
        "tables": tables, "runs": rows, "figures": figures})
    print((out / "results.md").read_text())
    print(f"wrote {out / 'results.md'}, {out / 'results.json'} and {len(figures)} figures in {out}")
    failed = [r["name"] for r in rows if r["status"] not in DONE]
    return 1 if failed else 0
