"""``gwrep compare RUN_DIR|FOLDER ... [--out DIR]``: one table and one figure for several runs.

Reads the ``summary`` of each run's ``eval.json`` (``gwrep eval``) and ``ood.json``
(``gwrep ood``). A sweep or experiment folder stands for every run folder inside it.
Runs are grouped by model name and by every config key whose value differs between the
runs (latent size, steps, data set...; shown as columns), so only runs that differ in
their seed alone are pooled; a group with the same seed twice is warned about. Per group
it reports mean ± sample std (ddof=1) per metric: printed, as ``comparison.md`` and
``comparison.json``, and as ``comparison.png`` (one panel per metric, every seed shown).

A NaN or infinite metric is never dropped silently: the run stays in its group, the table
counts it (``0.512 ± 0.020 (n=2; 1 NaN)``), a warning names the run, metric and file, and
comparison.json holds it as the string ``"NaN"``/``"Infinity"`` (JSON has no number for it).
Every output is built and checked before the first is written. comparison.json records, per
run, the step of the weights each of its files scored (``weights_steps``); a run still
training, or whose eval.json and ood.json scored different weights, is warned about.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

HELP = "tabulate and plot metrics of several runs side by side"

#: Metrics where lower is better (marked with a down arrow in the table and figure).
LOWER_IS_BETTER = ("fid", "recon_fid", "ood_fpr_at_95_tpr")
#: Files whose ``summary`` is read, in column order.
SUMMARY_FILES = ("eval.json", "ood.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folders with eval.json and/or ood.json, or sweep/experiment folders holding them")
    parser.add_argument("--out", default="runs/comparison", help="output folder (default: runs/comparison)")
    parser.add_argument("--metrics", nargs="+", default=None, metavar="NAME",
                        help="only these summary metrics (default: every one found)")


def _number(value: Any, path: Path, key: str) -> float | None:
    """A summary value as a float (``"NaN"``/``"Infinity"`` strings included); None for null (missing)."""
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: summary value {key!r} is {value!r}, not a number") from None


def run_summary(run_dir: Path) -> dict[str, float]:
    """The merged ``summary`` dicts of a run's eval.json and ood.json (empty if neither exists).

    A null value is left out (missing); NaN and infinite values (numbers, or the strings gwrep writes
    for them) are kept as floats.
    """
    from gwrep.config import read_json_file

    summary: dict[str, float] = {}
    for name in SUMMARY_FILES:
        path = run_dir / name
        if path.is_file():
            document = read_json_file(path)
            if not isinstance(document, dict) or not isinstance(document.get("summary"), dict):
                raise ValueError(f"{path} has no 'summary' dict; re-run gwrep {name.split('.')[0]}")
            values = {k: _number(v, path, k) for k, v in document["summary"].items()}
            summary.update({k: v for k, v in values.items() if v is not None})
    return summary


def scored_steps(run_dir: Path) -> dict[str, int | None]:
    """File name -> the step of the weights that its scores were computed on (None: a file written before
    gwrep recorded it), for each of :data:`SUMMARY_FILES` the run has."""
    from gwrep.config import read_json_file

    steps: dict[str, int | None] = {}
    for name in SUMMARY_FILES:
        path = run_dir / name
        if path.is_file():
            weights = read_json_file(path).get("weights")
            steps[name] = weights.get("step") if isinstance(weights, dict) else None
    return steps


def _warn_about_scores(run: Any, summary: dict[str, float], steps: dict[str, int | None]) -> list[str]:
    """Warnings (printed, and returned for comparison.md) about what ``run``'s scores stand for."""
    from gwrep.commands._runs import training_holder

    lines = []
    for key, value in summary.items():
        if not math.isfinite(value):
            lines.append(f"{run.dir}: {key} is {value} (in {' or '.join(f for f in steps)}); shown as such and left "
                         "out of its group's mean")
    holder = training_holder(run.dir)
    if holder is not None:
        lines.append(f"{run.dir} is still training (pid {holder}); its scores are of the weights of step(s) "
                     f"{sorted({s for s in steps.values() if s is not None}) or 'unrecorded'}")
    known = {s for s in steps.values() if s is not None}
    if len(known) > 1:
        lines.append(f"{run.dir}: its files scored different weights ("
                     + ", ".join(f"{f} step {s}" for f, s in steps.items()) + "); re-run the older one")
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)
    return lines


#: Config keys that never split runs into groups: the seed is what a group pools over, and
#: the run folder always differs.
POOLED_KEYS = ("seed", "out")


def flat_config(config: Any) -> dict[str, Any]:
    """A TrainConfig as ``{"model_options.latent_dim": 8, "steps": 500, ...}`` (dotted keys, JSON text for lists).

    >>> from gwrep.train import TrainConfig
    >>> flat = flat_config(TrainConfig(model="vae", model_options={"latent_dim": 4}, steps=3))
    >>> flat["model_options.latent_dim"], flat["steps"]
    (4, 3)
    """
    import json

    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = json.dumps(value) if isinstance(value, (list, tuple, dict)) else value

    walk("", {k: v for k, v in config.to_dict().items() if k != "_class"})
    return out


def differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    """Keys (besides :data:`POOLED_KEYS` and ``model``) whose value is not the same in every config;
    a key missing from some configs differs.

    >>> differing_keys([{"model": "a", "seed": 0, "steps": 5, "lr": 1}, {"model": "b", "seed": 1, "steps": 9, "lr": 1}])
    ['steps']
    """
    keys = list(dict.fromkeys(k for c in configs for k in c))
    missing = object()
    return [k for k in keys if k not in (*POOLED_KEYS, "model")
            and len({repr(c.get(k, missing)) for c in configs}) > 1]


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def collect(run_dirs: list[str], metrics: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Group -> {"model", "keys" (differing config key -> value), "runs", "seeds", "duplicate_seeds",
    "weights_steps" (per run: file -> step of the weights scored), "warnings" (about every run's scores:
    non-finite values, runs still training; the same list in every group),
    "values": metric -> list over runs (None where missing, NaN/inf kept)}.

    ``run_dirs`` may name sweep or experiment folders (:func:`~gwrep.commands._runs.expand_run_dirs`).
    A group's label is the model name followed by its differing keys, ``"vae latent_dim=4 steps=500"``.
    """
    from gwrep.commands._runs import expand_run_dirs, open_runs, run_path

    runs = open_runs(expand_run_dirs(run_dirs))
    summaries, empty, steps, warnings = [], [], {}, []
    for r in runs:
        summary = run_summary(r.dir)
        if not summary:
            empty.append(str(r.dir))
        else:
            steps[id(r)] = scored_steps(r.dir)
            warnings += _warn_about_scores(r, summary, steps[id(r)])
        summaries.append(summary)
    if empty:
        print(f"note: no eval.json or ood.json in {', '.join(empty)} (run gwrep eval / gwrep ood first); left out")
    kept = [(r, s) for r, s in zip(runs, summaries) if s]
    if not kept:
        raise ValueError("none of the runs has eval.json or ood.json; run gwrep eval or gwrep ood first")
    flats = [flat_config(r.config) for r, _ in kept]
    keys = differing_keys(flats)
    groups: dict[str, dict[str, Any]] = {}
    for (r, summary), flat in zip(kept, flats):
        values = {k: flat.get(k) for k in keys}
        label = " ".join([r.config.model] + [f"{k.rsplit('.', 1)[-1]}={_cell(v)}" for k, v in values.items()])
        group = groups.setdefault(label, {"model": r.config.model, "keys": values, "runs": [], "seeds": [],
                                          "weights_steps": [], "summaries": [], "warnings": warnings})
        group["runs"].append(run_path(r))
        group["weights_steps"].append(steps[id(r)])
        group["seeds"].append(r.config.seed)
        group["summaries"].append(summary)
    for label, g in groups.items():
        g["duplicate_seeds"] = sorted({s for s in g["seeds"] if g["seeds"].count(s) > 1})
        if g["duplicate_seeds"]:
            print(f"warning: group {label!r} has seed(s) {g['duplicate_seeds']} more than once "
                  f"(runs {', '.join(g['runs'])}); they are not independent repeats")
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


def metric_stats(values: list[float | None]) -> dict[str, Any]:
    """``{"mean", "std" (sample, ddof=1), "n", "non_finite", "values"}``: mean and std over the finite values
    (None when there are none), ``non_finite`` the count of NaN/inf values (kept in ``values``)."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    n = len(vals)
    mean = sum(vals) / n if n else None
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else None
    non_finite = sum(1 for v in values if v is not None and not math.isfinite(v))
    return {"mean": mean, "std": std, "n": n, "non_finite": non_finite, "values": values}


def display_name(metric: str) -> str:
    return f"{metric} \u2193" if metric in LOWER_IS_BETTER else metric


def comparison_table(groups: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: model, one column per differing config key, seeds, mean ± std per metric."""
    from gwrep.commands._runs import mean_std

    first = next(iter(groups.values()))
    keys, names = list(first["keys"]), list(first["values"])
    header = ["model", *keys, "seeds"] + [display_name(m) for m in names]
    rows = [[g["model"], *(_cell(g["keys"][k]) for k in keys),
             ",".join(map(str, g["seeds"])) + (" (duplicates!)" if g["duplicate_seeds"] else "")]
            + [mean_std(g["values"][m]) for m in names] for g in groups.values()]
    return header, rows


def short_labels(groups: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Figure labels: the model name, plus the values of the keys that differ between that model's groups.

    >>> short_labels({"a": {"model": "vae", "keys": {"steps": 6, "p": "x"}}, "b": {"model": "vae", "keys": {"steps": 6, "p": "y"}},
    ...               "c": {"model": "dagmm", "keys": {"steps": 12, "p": "x"}}})
    {'a': 'vae (x)', 'b': 'vae (y)', 'c': 'dagmm'}
    """
    out = {}
    for label, g in groups.items():
        same_model = [h["keys"] for h in groups.values() if h["model"] == g["model"]]
        varying = [k for k in g["keys"] if len({repr(keys.get(k)) for keys in same_model}) > 1]
        out[label] = g["model"] + (f" ({', '.join(_cell(g['keys'][k]) for k in varying)})" if varying else "")
    return out


def run(args: argparse.Namespace) -> int:
    from gwrep.commands._runs import json_text, markdown_table, note_non_finite
    from gwrep.config import atomic_write_text
    from gwrep.eval.plots import plot_metric_comparison

    from gwrep.config import output_folder

    output_folder(args.out)  # an --out that is a file, read-only or too long fails before the runs are read
    groups = collect(args.runs, args.metrics)
    names = list(next(iter(groups.values()))["values"])
    text = markdown_table(*comparison_table(groups))
    print(text)
    out = Path(args.out)
    warnings = [f"{label}: seed(s) {g['duplicate_seeds']} appear more than once"
                for label, g in groups.items() if g["duplicate_seeds"]]
    warnings += next(iter(groups.values()))["warnings"]
    markdown = ("Mean ± sample std (ddof=1) over runs (seeds) of each model and setting; \u2193 = lower is better; "
                "NaN and infinite values are counted, not averaged.\n"
                + "".join(f"\nWarning: {w}.\n" for w in warnings) + "\n" + text + "\n")
    document, found = json_text({
        label: {"model": g["model"], "config": g["keys"], "runs": g["runs"], "seeds": g["seeds"],
                "duplicate_seeds": g["duplicate_seeds"], "weights_steps": g["weights_steps"],
                "metrics": {m: metric_stats(g["values"][m]) for m in names}}
        for label, g in groups.items()}, out / "comparison.json")
    short = short_labels(groups)
    table = {short[label]: {display_name(m): [v for v in g["values"][m] if v is not None and math.isfinite(v)]
                            for m in names} for label, g in groups.items()}
    # Everything is built; now the files (the figure first: the likeliest to fail, and it writes one file).
    out.mkdir(parents=True, exist_ok=True)
    plot_metric_comparison(table, out / "comparison.png")
    atomic_write_text(out / "comparison.md", markdown)
    atomic_write_text(out / "comparison.json", document)
    note_non_finite(out / "comparison.json", found)
    print(f"wrote {out / 'comparison.md'}, {out / 'comparison.json'} and {out / 'comparison.png'}")
    return 0
