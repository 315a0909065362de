"""Paper figures of the evaluation: ROC curves, the DCI importance heatmap, and a
per-metric comparison of runs (mean +- std over seeds).

Figures are drawn on :class:`matplotlib.figure.Figure` objects rendered by the Agg
canvas, without pyplot and without touching ``matplotlib.rcParams``, so they are safe in
scripts, tests and servers. Each function writes one PNG (150 dpi) and returns its path.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = ["plot_roc_curves", "plot_score_histograms", "plot_dci_importance", "plot_metric_comparison"]

_DPI = 150
_TITLE = 12
_LABEL = 10
_TICK = 9


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, format="png")
    return path


_LINE_STYLES = ("-", "--", ":", "-.")


def _group_styles(names: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """A colour per model and a line style per seed for names like ``"vae s0"`` (else one colour per name).

    >>> colors, styles = _group_styles(["vae s0", "vae s1", "dagmm s0"])
    >>> colors["vae s0"] == colors["vae s1"] != colors["dagmm s0"], styles["vae s1"]
    (True, '--')
    """
    from matplotlib import colormaps

    groups: dict[str, list[str]] = {}
    for name in names:
        head, sep, seed = name.rpartition(" s")
        groups.setdefault(head if sep and seed.isdigit() else name, []).append(name)
    palette = [f"C{k}" for k in range(10)] if len(groups) <= 10 else list(colormaps["tab20"].colors)
    colors, styles = {}, {}
    for k, members in enumerate(groups.values()):
        for j, name in enumerate(members):
            colors[name] = palette[k % len(palette)]
            styles[name] = _LINE_STYLES[j % len(_LINE_STYLES)]
    return colors, styles


def plot_roc_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float], float]],
                    path: str | os.PathLike, title: str = "OoD detection: ROC curves") -> Path:
    """One ROC curve per entry of ``curves`` (name -> (fpr, tpr, auroc)), chance diagonal, AUROC in the legend.

    ``fpr`` and ``tpr`` are the in-distribution and OoD flag rates of
    :func:`gwrep.eval.ood.ood_roc_curve` (OoD = positive class).
    """
    if not curves:
        raise ValueError("no ROC curves to plot")
    outside = len(curves) > 6  # a long legend goes beside the axes, not over the curves
    fig = _figure(7.8 if outside else 5.0, 4.6)
    ax = fig.add_subplot()
    colors, styles = _group_styles(list(curves))
    for name, (fpr, tpr, auroc) in curves.items():
        fpr, tpr = np.asarray(fpr, float), np.asarray(tpr, float)
        if fpr.shape != tpr.shape or fpr.ndim != 1:
            raise ValueError(f"curve {name!r}: fpr {fpr.shape} and tpr {tpr.shape} must be equal-length 1-D arrays")
        ax.plot(fpr, tpr, lw=1.8, color=colors[name], ls=styles[name], label=f"{name} (AUROC {auroc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", lw=1.0, color="0.5", label="chance (AUROC 0.5)")
    ax.set_xlim(-0.015, 1.015)  # curves along the edges (perfect detectors) stay visible
    ax.set_ylim(-0.015, 1.015)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate (in-distribution flagged)", fontsize=_LABEL)
    ax.set_ylabel("true positive rate (OoD flagged)", fontsize=_LABEL)
    ax.set_title(title, fontsize=_TITLE)
    ax.tick_params(labelsize=_TICK)
    ax.grid(alpha=0.3)
    if outside:
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=_TICK, framealpha=0.9)
    else:
        ax.legend(loc="lower right", fontsize=_TICK, framealpha=0.9)
    return _save(fig, path)


def plot_score_histograms(scores: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: str | os.PathLike,
                          title: str = "OoD scores: in-distribution vs OoD", in_name: str = "in-distribution",
                          out_name: str = "OoD") -> Path:
    """One panel per entry of ``scores`` (name -> (scores_in, scores_out)): both histograms on shared bins.

    The picture behind an AUROC: a model whose OoD scores sit *below* the in-distribution
    ones (AUROC < 0.5) ranks the OoD set as more typical, which a ROC curve alone hides
    among "bad detectors". Bins span the 0.5-99.5 percentiles of both sets (outliers
    clipped into the end bins); the panel title gives the AUROC.
    """
    from gwrep.eval.ood import ood_metrics

    if not scores:
        raise ValueError("no score sets to plot")
    cols = 2 if len(scores) == 4 else min(3, len(scores))  # four models: a 2 x 2 grid
    rows = math.ceil(len(scores) / cols)
    fig = _figure(4.2 * cols, 3.2 * rows)
    for k, (name, (s_in, s_out)) in enumerate(scores.items()):
        s_in, s_out = np.asarray(s_in, float).ravel(), np.asarray(s_out, float).ravel()
        both = np.concatenate([s_in, s_out])
        lo, hi = np.percentile(both, [0.5, 99.5])
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        bins = np.linspace(lo, hi, 41)
        ax = fig.add_subplot(rows, cols, k + 1)
        for values, label, color in ((s_in, in_name, "tab:blue"), (s_out, out_name, "tab:orange")):
            ax.hist(np.clip(values, lo, hi), bins=bins, alpha=0.55, color=color, label=f"{label} (n={len(values)})")
        ax.set_title(f"{name}: AUROC {ood_metrics(s_in, s_out)['auroc']:.3f}", fontsize=_LABEL)
        ax.set_xlabel("OoD score (higher = more anomalous)", fontsize=_TICK)
        ax.set_ylabel("images", fontsize=_TICK)
        ax.tick_params(labelsize=_TICK - 1)
        ax.legend(fontsize=_TICK - 1, framealpha=0.9)
    fig.suptitle(title, fontsize=_TITLE)
    return _save(fig, path)


#: Largest DCI heatmap (inches; 1500 x 1050 px at 150 dpi) and most tick labels per axis before thinning.
_DCI_MAX_SIZE = (10.0, 7.0)
_MAX_TICK_LABELS = (40, 20)  # factors (x), codes (y)


def _tick_step(count: int, max_labels: int) -> int:
    """Label every ``step``-th of ``count`` ticks so that at most ``max_labels`` are shown.

    >>> _tick_step(12, 40), _tick_step(64, 20), _tick_step(41, 40)
    (1, 4, 2)
    """
    return max(1, math.ceil(count / max_labels))


def plot_dci_importance(matrix: np.ndarray, factor_names: Sequence[str], path: str | os.PathLike,
                        title: str = "DCI importance (code dimension x factor)") -> Path:
    """Heatmap of a DCI importance matrix (num_codes, num_factors), rows = code dimensions.

    The figure grows with the matrix up to :data:`_DCI_MAX_SIZE` (10 x 7 in), then the cells
    shrink instead. Values are annotated when the matrix is small enough to read (<= 16 x 12);
    beyond 12 factors the factor names stand upright in a smaller font, and each axis labels
    every n-th tick when it has more than 40 factors or 20 codes (the n is in the axis label).
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"importance matrix must be 2-D (num_codes, num_factors), got shape {m.shape}")
    if len(factor_names) != m.shape[1]:
        raise ValueError(f"{len(factor_names)} factor names for {m.shape[1]} factor columns")
    codes, factors = m.shape
    fig = _figure(min(_DCI_MAX_SIZE[0], max(4.5, 1.6 + 0.75 * factors)),
                  min(_DCI_MAX_SIZE[1], max(3.0, 1.2 + 0.32 * codes)))
    ax = fig.add_subplot()
    image = ax.imshow(m, cmap="viridis", aspect="auto", vmin=0.0, vmax=max(float(m.max()), 1e-12),
                      interpolation="nearest")
    xstep, ystep = _tick_step(factors, _MAX_TICK_LABELS[0]), _tick_step(codes, _MAX_TICK_LABELS[1])
    few = factors <= 12
    ax.set_xticks(range(0, factors, xstep), labels=list(factor_names)[::xstep], rotation=30 if few else 90,
                  ha="right" if few else "center", fontsize=_TICK if few else _TICK - 1)
    ax.set_yticks(range(0, codes, ystep), labels=[f"z{i}" for i in range(0, codes, ystep)], fontsize=_TICK)
    ax.set_xlabel("ground-truth factor" + (f" (1 in {xstep} labelled)" if xstep > 1 else ""), fontsize=_LABEL)
    ax.set_ylabel("code dimension" + (f" (1 in {ystep} labelled)" if ystep > 1 else ""), fontsize=_LABEL)
    ax.set_title(title, fontsize=_TITLE)
    if codes <= 16 and factors <= 12:
        threshold = 0.6 * float(m.max())
        for i in range(codes):
            for j in range(factors):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=_TICK - 1,
                        color="black" if m[i, j] > threshold else "white")
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label("relative importance", fontsize=_LABEL)
    bar.ax.tick_params(labelsize=_TICK)
    return _save(fig, path)


def plot_metric_comparison(table: Mapping[str, Mapping[str, float | Sequence[float]]], path: str | os.PathLike,
                           title: str = "Metrics across runs (mean \u00b1 std over seeds)") -> Path:
    """One panel per metric; per run (model) a bar at the mean, a sample-std (ddof=1)
    error bar, and every seed as a dot.

    ``table`` maps run (or model) name -> metric name -> one value or a list of values
    over seeds. Metrics missing for a run are marked n/a in that panel.
    """
    if not table:
        raise ValueError("no runs to compare")
    runs = list(table)
    metrics: list[str] = []
    for row in table.values():
        metrics += [k for k in row if k not in metrics]
    if not metrics:
        raise ValueError("the runs have no metrics to compare")
    ncols = min(3, len(metrics))
    nrows = int(math.ceil(len(metrics) / ncols))
    width_per = max(2.8, 0.55 * len(runs) + 1.2)
    fig = _figure(width_per * ncols, 3.0 * nrows + 0.5)
    colors = [f"C{i % 10}" for i in range(len(runs))]
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        for i, run in enumerate(runs):
            raw = table[run].get(metric)
            if raw is None:
                raw = []
            values = np.atleast_1d(np.asarray(raw, dtype=float))
            values = values[np.isfinite(values)]
            if values.size == 0:
                ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize=_TICK, color="0.4")
                continue
            mean, std = float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0
            ax.bar(i, mean, width=0.6, color=colors[i], alpha=0.45, edgecolor=colors[i])
            if values.size > 1:
                ax.errorbar(i, mean, yerr=std, color="black", capsize=4, lw=1.2)
            ax.scatter(np.full(values.size, i) + np.linspace(-0.12, 0.12, values.size), values,
                       s=14, color=colors[i], edgecolor="black", linewidth=0.5, zorder=3)
        ax.set_xticks(range(len(runs)), labels=runs, rotation=35, ha="right", fontsize=_TICK)
        ax.set_xlim(-0.6, len(runs) - 0.4)
        ax.set_title(metric, fontsize=_LABEL + 1)
        ax.set_ylabel("value", fontsize=_LABEL)
        ax.tick_params(axis="y", labelsize=_TICK)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=_TITLE)
    return _save(fig, path)
