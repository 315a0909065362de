"""The study's report: every analysis as a figure, a table, the paper's claim and a coded verdict.

:func:`write_report` analyses the tidy table (:func:`gwrep.study.analysis.analyse`), draws the
figures (:mod:`gwrep.study.figures`) into ``out_dir/figures/`` and writes ``out_dir/study.md``
(the claims, verdicts and the numbers behind them) and ``out_dir/analysis.json`` (every number,
NaN as null). Nothing in the report is written by hand: the verdicts and their reasons come from
:func:`gwrep.study.analysis.decide`.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from gwrep.runs import markdown_table, write_json
from gwrep.config import atomic_write_text
from gwrep.study import figures as fig
from gwrep.study.analysis import (CLAIMS, DOWNSTREAM_EFFICIENCY, HEADLINE_METRICS, MIN_SEEDS, RELIABLE, StudyData,
                                  analyse, label, study_data)

__all__ = ["write_report", "json_safe"]

_ACCURACY_SHOWN = ("downstream_logreg_acc_10000", "downstream_gbt_acc_10000")


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python ones and NaN/inf as None (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    return value


def _f(x: Any, digits: int = 3) -> str:
    """A number for a table cell; '-' when missing."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _ms(m: Mapping[str, float], digits: int = 3) -> str:
    """``"mean ± std (n=k)"`` from a :func:`gwrep.study.analysis._moments` dict; '-' with no value."""
    if not m["n"]:
        return "-"
    if m["n"] == 1:
        return f"{m['mean']:.{digits}f} (n=1)"
    return f"{m['mean']:.{digits}f} ± {m['std']:.{digits}f} (n={m['n']})"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _excluded_line(excluded: Mapping[str, int]) -> str:
    if not excluded:
        return "Runs left out: none (every run has every score this analysis uses)."
    parts = ", ".join(f"{label(c)} {n}" for c, n in excluded.items())
    return f"Runs left out for a missing (NaN) score, per score: {parts}."


def _verdict_block(verdicts: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = []
    for v in verdicts:
        quote = f' In the paper\'s words: "{v["quote"]}"' if v["quote"] else ""
        lines += [f"**Claim {v['key']}** ({v['source']}): {v['claim']}{quote}", "",
                  f"- Statistic: {v['statistic']}."]
        if v["reported"]:
            lines.append(f"- The paper's numbers: {v['reported']}.")
        lines += [f"- Measured: **{_f(v['value'])}**, 95% interval [{_f(v['ci'][0])}, {_f(v['ci'][1])}]; the claim "
                  f"predicts {v['direction']} {v['threshold']:g}.",
                  f"- Verdict: **{v['verdict']}** ({v['reason']}). Rule: {v['rule']}.", ""]
    return lines


def _figure_line(path: Path | None, out_dir: Path, caption: str) -> list[str]:
    if path is None:
        return [f"(No figure: {caption}.)", ""]
    return [f"![{caption}]({path.relative_to(out_dir).as_posix()})", ""]


def _section_a(study: StudyData, a: Mapping[str, Any], out: Path, figs: Path) -> list[str]:
    lines = ["## a. Total correlation of the sampled and the mean representation", ""]
    has = study.has("gaussian_total_correlation") or study.has("gaussian_total_correlation_sampled")
    path = fig.plot_tc_vs_regularisation(a["curves"], figs / "a_total_correlation.png") if has else None
    lines += _figure_line(path, out, "Gaussian total correlation against regularisation strength" if has
                          else "the table has no Gaussian total correlation")
    rows = []
    for dataset, per_model in a["curves"].items():
        for model, e in per_model.items():
            rows.append([dataset, model, e["hparam"], " / ".join(f"{v:g}" for v in e["values"]),
                         " / ".join(_f(x) for x in e["sampled"]["mean"]), _f(e["sampled"]["trend"], 2),
                         " / ".join(_f(x) for x in e["mean"]["mean"]), _f(e["mean"]["trend"], 2)])
    lines += ["Mean over seeds per hyperparameter value (weakest to strongest regularisation), and the Spearman "
              "rho between hparam_rank and the total correlation over the runs.", "",
              markdown_table(["data set", "model", "hparam", "values", "TC sampled", "rho sampled", "TC mean",
                              "rho mean"], rows), "", _excluded_line(a["excluded"]), ""]
    return lines + _verdict_block(a["verdicts"])


def _section_b(study: StudyData, b: Mapping[str, Any], out: Path, figs: Path) -> list[str]:
    lines = ["## b. Rank correlation between all scores", ""]
    columns = b["columns"]
    for dataset, m in b["matrices"].items():
        path = (fig.plot_score_correlations(m["rho"], columns, figs / f"b_rank_correlation_{_slug(dataset)}.png",
                                            f"{dataset}: Spearman rank correlation between scores")
                if columns else None)
        lines += _figure_line(path, out, f"{dataset}: rank correlation between scores" if columns
                              else "the table has no scores")
    headline = [c for c in HEADLINE_METRICS if c in columns]
    for dataset, m in b["matrices"].items():
        rho = np.array(m["rho"], float)
        idx = [columns.index(c) for c in headline]
        rows = [[label(c)] + [_f(rho[i, j], 2) for j in idx] for c, i in zip(headline, idx)]
        lines += [f"{dataset}: the six metrics (every score's matrix is in analysis.json)", "",
                  markdown_table(["", *map(label, headline)], rows), ""]
    lines += [_excluded_line(b["excluded"]), ""]
    return lines + _verdict_block(b["verdicts"])


def _section_c(study: StudyData, c: Mapping[str, Any], out: Path, figs: Path) -> list[str]:
    lines = ["## c. Distribution of each metric per model and per hyperparameter value", ""]
    metrics = [m for m in HEADLINE_METRICS if study.has(m)]
    for metric in metrics:
        values = {d: {mo: study.get(metric)[di, mi][np.isfinite(study.get(metric)[di, mi])]
                      for mi, mo in enumerate(study.models) if study.present[di, mi].any()}
                  for di, d in enumerate(study.datasets)}
        lines += _figure_line(fig.plot_violins_by_model(values, metric, figs / f"c_violins_{metric}.png"), out,
                              f"{label(metric)} per model")
    for di, dataset in enumerate(study.datasets):
        values = {}
        for metric in metrics:
            cube = study.get(metric)
            for mi, model in enumerate(study.models):
                ranks = np.flatnonzero(study.present[di, mi].any(axis=-1))
                if ranks.size:
                    values.setdefault(metric, {})[model] = {
                        f"{study.values[mi, r]:g}": cube[di, mi, r][np.isfinite(cube[di, mi, r])] for r in ranks}
        path = (fig.plot_violins_by_value(values, study.hparams, figs / f"c_violins_values_{_slug(dataset)}.png",
                                          f"{dataset}: each metric per hyperparameter value (violins over seeds)")
                if values else None)
        lines += _figure_line(path, out, f"{dataset}: metrics per hyperparameter value" if values
                              else "the table has no headline metric")
    models = list(study.models)
    rows = []
    for metric in metrics:
        for dataset, per_model in c["by_model"][metric].items():
            winner = c["winners"].get(metric, {}).get(dataset, "-")
            rows.append([dataset, label(metric)] + [
                f"{_f(per_model[m]['median'])} [{_f(per_model[m]['q25'], 2)}, {_f(per_model[m]['q75'], 2)}]"
                if m in per_model else "-" for m in models] + [winner])
    lines += ["Median [25%, 75%] over all runs of each model (every value and seed); the winner has the highest "
              "median.", "", markdown_table(["data set", "metric", *models, "best median"], rows), "",
              _excluded_line(c["excluded"]), ""]
    return lines + _verdict_block(c["verdicts"])


def _section_d(study: StudyData, d: Mapping[str, Any], out: Path, figs: Path) -> list[str]:
    lines = ["## d. Model, hyperparameter and seed", "",
             "Method: a nested decomposition of each metric's sum of squares over a data set's runs (eta squared): "
             "between models; between hyperparameter values within a model; within a (model, value) cell, which "
             "is the seed's share since only the seed differs inside a cell. The three fractions sum to 1. This is "
             "the quantity the paper's Sec. 5.3 reports (the share of variance the objective, and objective plus "
             "regularisation strength, explain); with few seeds per cell the between-group shares are biased "
             "upwards (by about (groups - 1) / (runs - 1) when nothing but the seed matters).", ""]
    shares = d["shares"]
    path = fig.plot_variance_shares(shares, figs / "d_variance_shares.png") if shares else None
    lines += _figure_line(path, out, "variance shares" if shares else "the table has no metric")
    rows = [[dataset, label(metric), _f(s["model"]), _f(s["hparam"]), _f(s["seed"]), s["n"]]
            for metric, per in shares.items() for dataset, s in per.items()]
    lines += [markdown_table(["data set", "metric", "model", "hyperparameter", "seed", "runs"], rows), ""]
    cases = [c for c in d["seed_vs_hparam"] if c["metric"] in HEADLINE_METRICS]
    lines += ["Bad hyperparameter with a good seed against good hyperparameter with a bad seed: per (data set, "
              "model, metric), the best and worst hyperparameter value by the mean over seeds; 'beats' when the "
              "worst value's best seed scores above the best value's worst seed; P(pair) = P(a random seed of the "
              "worst value beats a random seed of the best).", "",
              f"Over {d['cases']} (data set, model, headline metric) cases: beats in {_f(d['beat_rate'])} of them; "
              f"mean P(pair) {_f(d['p_pair'])}.", ""]
    per_pair: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for case in cases:
        per_pair.setdefault((case["dataset"], case["model"]), []).append(case)
    rows = [[ds, mo, f"{sum(c['beats'] for c in cs)} of {len(cs)}", _f(float(np.mean([c["p_pair"] for c in cs]))),
             "; ".join(f"{label(c['metric'])} {c['worst_value']:g}:{_f(c['worst_best_seed'], 2)} vs "
                       f"{c['best_value']:g}:{_f(c['best_worst_seed'], 2)}" for c in cs)]
            for (ds, mo), cs in per_pair.items()]
    lines += [markdown_table(["data set", "model", "metrics where it beats", "mean P(pair)",
                              "worst value: its best seed vs best value: its worst seed"], rows), "",
              _excluded_line(d["excluded"]), ""]
    return lines + _verdict_block(d["verdicts"])


def _section_e(study: StudyData, e: Mapping[str, Any], out: Path, figs: Path) -> list[str]:
    lines = ["## e. Unsupervised model selection", "",
             "Selection: per (data set, model), the run with the best unsupervised score (lower is better for the "
             "Gaussian/MI scores and the reconstruction error, higher for UDR) among the runs that also have the "
             "metric; P(beats random) = P(that run's metric beats another random run of the same model x data "
             "set), ties half (0.5 = a random pick); 'beats mean' = how often its metric beats the expected metric "
             "of a random pick.", ""]
    headline = [m for m in HEADLINE_METRICS if m in e["metrics"]]
    path = (fig.plot_unsupervised_selection(e["rho"], e["selection"], headline, figs / "e_unsupervised.png",
                                            reliable=RELIABLE) if e["scores"] and headline else None)
    lines += _figure_line(path, out, "unsupervised scores against the metrics" if path
                          else "the table has no unsupervised score or no metric")
    rows = [[label(s), sel["direction"]] + [_f(sel["per_metric"][m]["p_beat_random"], 2) for m in headline]
            + [_f(sel["p_beat_random"]), _f(sel["beats_random"]), sel["cases"]]
            for s, sel in e["selection"].items()]
    lines += [markdown_table(["score", "better", *map(label, headline), "P(beats random)", "beats mean", "cases"],
                             rows), ""]
    for dataset, per_score in e["rho"].items():
        rows = [[label(s)] + [_f(per_score[s].get(m), 2) for m in headline] for s in per_score]
        lines += [f"{dataset}: Spearman rho between each unsupervised score and each metric", "",
                  markdown_table(["score", *map(label, headline)], rows), ""]
    lines += [_excluded_line(e["excluded"]), ""]
    return lines + _verdict_block(e["verdicts"])


def _section_f(study: StudyData, f: Mapping[str, Any], out: Path, figs: Path) -> list[str]:
    lines = ["## f. Hyperparameter transfer across data sets and metrics", "",
             "For each source (data set A, metric M), the (model, hyperparameter value) setting with the best mean "
             "over seeds is chosen; on each target (data set B, metric M') the number is P(that setting's run beats "
             "a run of a random other setting), ties half, 0.5 = a random choice. On the same data set the choice "
             "is made without one seed and judged on that seed's run (the paper's 'on a different random seed'). "
             "'P > 0.5' = how often the choice beats a random one.", ""]
    path = (fig.plot_transfer(f["categories"], f["dataset_matrix"], study.datasets, figs / "f_transfer.png",
                              reliable=RELIABLE) if f["metrics"] else None)
    lines += _figure_line(path, out, "hyperparameter transfer" if path else "the table has no headline metric")
    rows = [[name, _f(c["p_beat_random"]), _f(c["beats_random"]), c["cases"]] for name, c in f["categories"].items()]
    lines += [markdown_table(["source -> target", "mean P(beats random)", "P > 0.5", "cases"], rows), ""]
    matrix = np.array(f["dataset_matrix"], float)
    rows = [[a] + [_f(matrix[i, j], 2) for j in range(len(study.datasets))] for i, a in enumerate(study.datasets)]
    lines += ["Same metric, source data set (rows) -> target (columns), mean over the metrics:", "",
              markdown_table(["A \\ B", *study.datasets], rows), "", _excluded_line(f["excluded"]), ""]
    return lines + _verdict_block(f["verdicts"])


def _section_g(study: StudyData, g: Mapping[str, Any], out: Path, figs: Path) -> list[str]:
    lines = ["## g. Downstream accuracy and sample efficiency", "",
             "Sample efficiency = accuracy with 100 training samples / accuracy with 10,000 (logistic regression, "
             "LR, and gradient-boosted trees, GBT, on the mean representation).", ""]
    path = (fig.plot_downstream(g["rho"], g["metrics"], g["targets"], figs / "g_downstream.png")
            if g["metrics"] and g["targets"] else None)
    lines += _figure_line(path, out, "metrics against the downstream task" if path
                          else "the table has no downstream score or no metric")
    shown = [t for t in _ACCURACY_SHOWN + DOWNSTREAM_EFFICIENCY if t in g["targets"]]
    for dataset, per_metric in g["rho"].items():
        rows = [[label(m)] + [_f(per_metric[m][t], 2) for t in shown] for m in per_metric]
        lines += [f"{dataset}: Spearman rho of each metric with the downstream task (every training size is in "
                  f"analysis.json)", "", markdown_table(["metric", *map(label, shown)], rows), ""]
    lines += [_excluded_line(g["excluded"]), ""]
    return lines + _verdict_block(g["verdicts"])


def _section_h(study: StudyData, h: Mapping[str, Any], out: Path, figs: Path) -> list[str]:
    lines = ["## h. Reconstruction against disentanglement (Kim & Mnih 2018)", "",
             "The number: the area each model's seed-averaged points dominate in the (reconstruction error, "
             "FactorVAE score) plane, both scaled to [0, 1] over the two models' points per data set (the "
             "hypervolume of a Pareto front); FactorVAE's minus beta-VAE's, > 0 = FactorVAE's trade-off is better.",
             ""]
    path = fig.plot_tradeoff(h["points"], study.hparams, figs / "h_tradeoff.png") if h["points"] else None
    lines += _figure_line(path, out, "reconstruction against FactorVAE score" if path
                          else "the table lacks beta-VAE or FactorVAE runs")
    rows = []
    for dataset, per_model in h["points"].items():
        for model, p in per_model.items():
            for k, value in enumerate(p["values"]):
                rows.append([dataset, model, f"{study.hparams.get(model, '')} = {value:g}",
                             f"{_f(p['recon'][k], 2)} ± {_f(p['recon_std'][k], 2)}",
                             f"{_f(p['score'][k])} ± {_f(p['score_std'][k])}", p["n"][k]])
    lines += [markdown_table(["data set", "model", "hyperparameter", "reconstruction error", "FactorVAE score",
                              "seeds"], rows), "",
              "Hypervolume gap (FactorVAE - beta-VAE) per data set: "
              + ", ".join(f"{d} {_f(v)}" for d, v in h["hypervolume_gap"].items()) + ".", "",
              _excluded_line(h["excluded"]), ""]
    return lines + _verdict_block(h["verdicts"])


def _summary(result: Mapping[str, Any], max_value_rows: int) -> list[str]:
    summary = result["summary"]
    columns = [c for c in HEADLINE_METRICS + ("reconstruction_error", "udr") if c in summary["columns"]]
    rows = [[r["dataset"], r["model"], r["runs"]] + [_ms(r[c]) for c in columns] for r in summary["by_model"]]
    lines = ["## Summary per data set and model", "",
             "Mean ± sample std over all runs of the model (every hyperparameter value and seed).", "",
             markdown_table(["data set", "model", "runs", *map(label, columns)], rows), ""]
    by_value = summary["by_value"]
    lines += ["## Summary per hyperparameter value", "", "Mean ± sample std over seeds.", ""]
    if len(by_value) > max_value_rows:
        lines += [f"({len(by_value)} rows: in analysis.json, summary.by_value.)", ""]
    else:
        rows = [[r["dataset"], r["model"], f"{r['hparam']} = {r['value']:g}", r["seeds"]]
                + [_ms(r[c]) for c in columns] for r in by_value]
        lines += [markdown_table(["data set", "model", "hyperparameter", "seeds", *map(label, columns)], rows), ""]
    return lines


def _timing(result: Mapping[str, Any], machine_note: str, max_run_rows: int) -> list[str]:
    timing = result["timing"]

    def status(counts: Mapping[str, int]) -> str:
        return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))

    def steps(g: Mapping[str, Any]) -> str:
        lo, hi = g["steps_min"], g["steps_max"]
        return "-" if lo is None or not math.isfinite(lo) else (f"{lo:.0f}" if lo == hi else f"{lo:.0f}-{hi:.0f}")

    rows = [[g["dataset"], g["model"], g["runs"], status(g["status"]), steps(g), _f(g["train_minutes_mean"], 2),
             _f(g["train_minutes_total"], 1), _f(g["score_seconds_mean"], 1)] for g in timing["groups"]]
    t = timing["total"]
    rows.append(["all", "", t["runs"], status(t["status"]), steps(t), _f(t["train_minutes_mean"], 2),
                 _f(t["train_minutes_total"], 1), _f(t["score_seconds_mean"], 1)])
    lines = ["## Runs and timing", "", f"Machine: {machine_note}", "",
             markdown_table(["data set", "model", "runs", "status", "steps", "train min (mean)", "train min (total)",
                             "score s (mean)"], rows), ""]
    if len(timing["runs"]) <= max_run_rows:
        rows = [[r["run"] or "-", r["status"], _f(r["steps"], 0), _f(r["train_minutes"], 2), _f(r["score_seconds"], 1)]
                for r in timing["runs"]]
        lines += ["Every run:", "", markdown_table(["run", "status", "steps", "train min", "score s"], rows), ""]
    else:
        lines += [f"({len(timing['runs'])} runs: each run's row is in analysis.json, timing.runs.)", ""]
    return lines


_SECTIONS = {"a": _section_a, "b": _section_b, "c": _section_c, "d": _section_d, "e": _section_e, "f": _section_f,
             "g": _section_g, "h": _section_h}


def write_report(rows: Any, out_dir: str | os.PathLike, *, title: str, machine_note: str, scale_note: str,
                 n_boot: int = 200, seed: int = 0, max_run_rows: int = 300, max_value_rows: int = 400) -> Path:
    """Analyse the study table ``rows`` (list of row dicts, dict of columns or DataFrame) and write
    ``out_dir/study.md``, ``out_dir/analysis.json`` and ``out_dir/figures/*.png``; return the study.md path.

    ``machine_note`` says what trained the runs, ``scale_note`` how the study departs from the paper's;
    ``n_boot`` resamples give each verdict's interval (``seed`` fixes them). Every run is listed when there
    are at most ``max_run_rows`` (else only in the JSON), and likewise the per-value summary.
    """
    out = Path(out_dir)
    figs = out / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    study = rows if isinstance(rows, StudyData) else study_data(rows)
    result = analyse(study, n_boot=n_boot, seed=seed)
    failed = sum(n for s, n in result["timing"]["total"]["status"].items() if s == "failed")
    lines = [f"# {title}", "", f"Scale: {scale_note}", "", f"Machine: {machine_note}", "",
             f"{result['runs']} runs ({failed} failed): data sets {', '.join(result['datasets'])}; models "
             f"{', '.join(result['models'])}; {result['seeds_per_cell']:g} seeds per (data set, model, value) cell "
             f"(median), up to {result['values_per_model']} hyperparameter values per model.", "",
             f"Paper: F. Locatello et al., Challenging Common Assumptions in the Unsupervised Learning of Disentangled "
             f"Representations, ICML 2019 (sections of arXiv 1811.12359 v4). Each claim below is tested by a coded "
             f"rule: a statistic, a threshold and the side of it the claim predicts; the verdict is 'held' when "
             f"the statistic's 95% bootstrap interval ({n_boot} resamplings of the seeds, seed {seed}) lies wholly "
             f"on that side, 'did not hold' when wholly on the other, and 'cannot tell at this scale' when it "
             f"reaches the threshold or the table is too small (fewer than {MIN_SEEDS} seeds per cell, or too few "
             f"values, models, data sets or scores for the statistic).", "",
             "## Verdicts", ""]
    verdict_rows = [[v["key"], v["claim"], v["source"], f"{_f(v['value'])} [{_f(v['ci'][0])}, {_f(v['ci'][1])}]",
                     f"{v['direction']} {v['threshold']:g}", v["verdict"]] for v in result["verdicts"]]
    lines += [markdown_table(["claim", "the paper says", "where", "measured [95% interval]", "predicts", "verdict"],
                             verdict_rows), "", "Each section below gives the statistic behind its verdicts.", ""]
    lines += _summary(result, max_value_rows)
    for key, section in _SECTIONS.items():
        lines += section(study, result["sections"][key], out, figs)
    lines += _timing(result, machine_note, max_run_rows)
    path = out / "study.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    write_json(out / "analysis.json", json_safe({**result, "claims": {k: vars(c) for k, c in CLAIMS.items()},
                                                 "title": title, "machine_note": machine_note,
                                                 "scale_note": scale_note}))
    return path
