"""Figures of the Locatello et al. study's analyses (:mod:`gwrep.study.analysis`), one function per figure.

Each function takes plain numbers (the dicts :func:`gwrep.study.analysis.analyse` returns, or the
runs' values), draws on a :class:`matplotlib.figure.Figure` rendered by the Agg canvas (no pyplot,
no global state; the helpers of :mod:`gwrep.eval.plots`), writes one PNG and returns its path.
Layouts are sized for up to 7 models and 2-7 data sets: one panel per data set, a model's colour
the same in every figure, axes labelled with what they measure and where the better end is.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from gwrep.eval.plots import _LABEL, _TICK, _TITLE, _figure, _save
from gwrep.study.analysis import (DOWNSTREAM_ACCURACY, DOWNSTREAM_EFFICIENCY, METRICS, UNSUPERVISED,
                                  UNSUPERVISED_SAMPLED, label, model_order)

__all__ = ["plot_tc_vs_regularisation", "plot_score_correlations", "plot_violins_by_model", "plot_violins_by_value",
           "plot_variance_shares", "plot_unsupervised_selection", "plot_transfer", "plot_downstream", "plot_tradeoff",
           "model_colors"]

#: Violins show their values as dots up to this many per group (a few seeds); beyond, the violin says it.
_DOTS = 15
_REPRESENTATIONS = (("sampled", "sampled representation"), ("mean", "mean representation"))
#: Score families, separated by lines in the rank-correlation heatmap.
_FAMILIES = (METRICS, UNSUPERVISED, UNSUPERVISED_SAMPLED, ("udr",), DOWNSTREAM_ACCURACY + DOWNSTREAM_EFFICIENCY,
             ("reconstruction_error",))
_SHARE_COLORS = {"model": "#4C72B0", "hparam": "#DD8452", "seed": "#8C8C8C"}


def model_colors(models: Sequence[str]) -> dict[str, str]:
    """One colour per model, fixed by the paper's model order (so a model keeps its colour in every figure)."""
    order = model_order()
    known = [m for m in order if m in models] + [m for m in models if m not in order]
    slot = {m: order.index(m) if m in order else len(order) + known.index(m) for m in known}
    return {m: f"C{slot[m] % 10}" for m in models}


def _grid(count: int, max_cols: int) -> tuple[int, int]:
    cols = max(1, min(max_cols, count))
    return int(math.ceil(count / cols)), cols


def _check(name: str, data: Mapping[str, Any]) -> None:
    if not data:
        raise ValueError(f"{name}: nothing to plot")


def _legend(fig: Any, colors: Mapping[str, str], title: str = "model") -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, marker="o", lw=2, label=m) for m, c in colors.items()]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 7), fontsize=_TICK,
               title=title, title_fontsize=_TICK)


def plot_tc_vs_regularisation(curves: Mapping[str, Mapping[str, Mapping[str, Any]]], path: str | os.PathLike,
                              title: str = "Total correlation against regularisation strength") -> Path:
    """(a) Gaussian total correlation (mean +- std over seeds) against hparam_rank, one row per data set,
    the sampled representation left, the mean one right, a line per model (``curves``: the ``curves`` of
    :func:`gwrep.study.analysis.tc_vs_regularisation`). A log y axis when every value is positive and
    they span more than a factor of 30."""
    _check("total correlation", curves)
    datasets = list(curves)
    models = list(dict.fromkeys(m for d in datasets for m in curves[d]))
    colors = model_colors(models)
    fig = _figure(11.0, 2.7 * len(datasets) + 1.3)
    for i, dataset in enumerate(datasets):
        for j, (rep, name) in enumerate(_REPRESENTATIONS):
            ax = fig.add_subplot(len(datasets), 2, 2 * i + j + 1)
            values = []
            for model, entry in curves[dataset].items():
                mean, std = np.array(entry[rep]["mean"], float), np.array(entry[rep]["std"], float)
                if not np.isfinite(mean).any():
                    continue
                ax.errorbar(entry["ranks"], mean, yerr=np.nan_to_num(std), color=colors[model], marker="o", ms=4,
                            lw=1.5, capsize=3, elinewidth=0.8)
                values.extend(mean[np.isfinite(mean)])
            if values and min(values) > 0 and max(values) / min(values) > 30:
                ax.set_yscale("log")
            ax.set_title(f"{dataset}: {name}", fontsize=_LABEL + 1)
            ax.set_xlabel("regularisation strength (hparam_rank, weakest -> strongest)", fontsize=_TICK)
            ax.set_ylabel("Gaussian total correlation", fontsize=_TICK)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.tick_params(labelsize=_TICK)
            ax.grid(alpha=0.3)
    fig.suptitle(title + " (mean +- std over seeds)", fontsize=_TITLE)
    _legend(fig, colors)
    return _save(fig, path)


def plot_score_correlations(rho: Sequence[Sequence[float]], columns: Sequence[str], path: str | os.PathLike,
                            title: str) -> Path:
    """(b) Heatmap of a Spearman rank-correlation matrix between scores (one data set); values written in
    the cells when there are at most 16 scores."""
    m = np.asarray(rho, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(columns) or not len(columns):
        raise ValueError(f"rank correlations must be a square matrix over {len(columns)} scores, got {m.shape}")
    n = len(columns)
    size = min(13.0, max(5.0, 1.5 + 0.42 * n))
    fig = _figure(size + 1.2, size)
    ax = fig.add_subplot()
    image = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    names = [label(c) for c in columns]
    ax.set_xticks(range(n), labels=names, rotation=90, fontsize=_TICK - (1 if n > 16 else 0))
    ax.set_yticks(range(n), labels=names, fontsize=_TICK - (1 if n > 16 else 0))
    if n <= 16:
        for i in range(n):
            for j in range(n):
                if np.isfinite(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=_TICK - 2,
                            color="white" if abs(m[i, j]) > 0.6 else "black")
    family = [next((k for k, f in enumerate(_FAMILIES) if c in f), len(_FAMILIES)) for c in columns]
    for k in range(1, n):
        if family[k] != family[k - 1]:
            ax.axhline(k - 0.5, color="black", lw=0.8)
            ax.axvline(k - 0.5, color="black", lw=0.8)
    ax.set_title(title, fontsize=_TITLE)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("Spearman rank correlation (blank: too few runs)", fontsize=_LABEL)
    bar.ax.tick_params(labelsize=_TICK)
    return _save(fig, path)


def _violins(ax: Any, groups: Sequence[np.ndarray], colors: Sequence[str],
             positions: Sequence[float] | None = None) -> None:
    """Violins of ``groups`` at ``positions`` (default 0, 1, ...), a bar at each median, and each value as a
    dot when a group has at most :data:`_DOTS` of them (a group of one value is only its dot and bar)."""
    positions = list(range(len(groups)) if positions is None else positions)
    finite = [np.asarray(v, dtype=float)[np.isfinite(np.asarray(v, dtype=float))] for v in groups]
    spread = [k for k, v in enumerate(finite) if v.size >= 2 and np.ptp(v) > 0]
    if spread:
        parts = ax.violinplot([finite[k] for k in spread], positions=[positions[k] for k in spread], widths=0.8,
                              showextrema=False)
        for k, body in zip(spread, parts["bodies"]):
            body.set_facecolor(colors[k])
            body.set_edgecolor("black")
            body.set_alpha(0.45)
    filled = [k for k, v in enumerate(finite) if v.size]
    ax.hlines([np.median(finite[k]) for k in filled], [positions[k] - 0.3 for k in filled],
              [positions[k] + 0.3 for k in filled], color="black", lw=1.5)
    dots = [k for k in filled if finite[k].size <= _DOTS]
    if dots:
        xs = np.concatenate([positions[k] + np.linspace(-0.12, 0.12, finite[k].size) for k in dots])
        ax.scatter(xs, np.concatenate([finite[k] for k in dots]), s=8, linewidth=0.3, edgecolor="black", zorder=3,
                   color=np.concatenate([[colors[k]] * finite[k].size for k in dots]))
    for k, v in enumerate(finite):
        if not v.size:
            ax.text(positions[k], 0.5, "n/a", ha="center", va="center", fontsize=_TICK - 1, color="0.4",
                    transform=ax.get_xaxis_transform())


def plot_violins_by_model(values: Mapping[str, Mapping[str, Sequence[float]]], metric: str, path: str | os.PathLike,
                          title: str | None = None) -> Path:
    """(c) Violins of one metric over all runs (every hyperparameter value and seed), a panel per data set,
    a violin per model (``values``: data set -> model -> run values); the bar is the median."""
    _check(f"violins of {metric}", values)
    datasets = list(values)
    models = list(dict.fromkeys(m for d in datasets for m in values[d]))
    colors = model_colors(models)
    rows, cols = _grid(len(datasets), 4)
    fig = _figure(max(4.0, 0.62 * len(models) + 1.4) * cols, 3.4 * rows + 0.6)
    for i, dataset in enumerate(datasets):
        ax = fig.add_subplot(rows, cols, i + 1)
        _violins(ax, [values[dataset].get(m, []) for m in models], [colors[m] for m in models])
        ax.set_xticks(range(len(models)), labels=models, rotation=40, ha="right", fontsize=_TICK)
        ax.set_xlim(-0.6, len(models) - 0.4)
        ax.set_title(dataset, fontsize=_LABEL + 1)
        ax.set_ylabel(f"{label(metric)} (higher = better)", fontsize=_TICK)
        ax.tick_params(axis="y", labelsize=_TICK)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title or f"{label(metric)} per model (all hyperparameter values and seeds; bar = median)",
                 fontsize=_TITLE)
    return _save(fig, path)


def plot_violins_by_value(values: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]], hparams: Mapping[str, str],
                          path: str | os.PathLike, title: str) -> Path:
    """(c) Violins over seeds per hyperparameter value for one data set: a panel per metric, in it a group
    of violins per model (its grid values, weakest to strongest regularisation, left to right) in the
    model's colour (``values``: metric -> model -> value label -> seed values; ``hparams``: model -> the
    name of its hyperparameter, written over its group)."""
    _check("violins per hyperparameter value", values)
    metrics = list(values)
    models = list(dict.fromkeys(m for metric in metrics for m in values[metric]))
    colors = model_colors(models)
    labels = {m: list(dict.fromkeys(v for metric in metrics for v in values[metric].get(m, {}))) for m in models}
    starts, x = {}, 0
    for m in models:
        starts[m] = x
        x += len(labels[m]) + 1
    fig = _figure(min(22.0, max(8.0, 0.32 * x + 2.0, 1.3 * len(models) + 1.0)), 2.3 * len(metrics) + 1.2)
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(len(metrics), 1, i + 1)
        ticks, tick_labels = [], []
        for m in models:
            per_value = values[metric].get(m, {})
            xs = [starts[m] + k for k in range(len(labels[m]))]
            groups = [per_value.get(v, []) for v in labels[m]]
            _violins(ax, groups, [colors[m]] * len(groups), positions=xs)
            ticks += xs
            tick_labels += labels[m]
            if i == 0:
                ax.text(starts[m] + (len(labels[m]) - 1) / 2, 1.02, f"{m}\n({hparams.get(m, 'value')})",
                        transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=_TICK,
                        color=colors[m])
            if starts[m] > 0:
                ax.axvline(starts[m] - 1, color="0.85", lw=1)
        ax.set_xticks(ticks, labels=tick_labels, fontsize=_TICK - 1, rotation=90 if len(ticks) > 24 else 0)
        ax.set_xlim(-0.7, x - 1.3)
        ax.set_ylabel(label(metric), fontsize=_LABEL)
        ax.tick_params(axis="y", labelsize=_TICK)
        ax.grid(axis="y", alpha=0.3)
    fig.axes[-1].set_xlabel("hyperparameter value (per model, weakest -> strongest regularisation)", fontsize=_TICK)
    fig.suptitle(title, fontsize=_TITLE)
    return _save(fig, path)


def plot_variance_shares(shares: Mapping[str, Mapping[str, Mapping[str, float]]], path: str | os.PathLike,
                         title: str = "Share of each metric's variance: model, hyperparameter, seed") -> Path:
    """(d) Stacked horizontal bars per metric of the variance fractions between models, between
    hyperparameter values within a model and between seeds (``shares``: metric -> data set -> fractions),
    a panel per data set and one for their mean."""
    _check("variance shares", shares)
    metrics = list(shares)
    datasets = list(dict.fromkeys(d for m in metrics for d in shares[m]))
    panels = datasets + (["mean over data sets"] if len(datasets) > 1 else [])
    rows, cols = _grid(len(panels), 4)
    fig = _figure(3.6 * cols + 0.6, 0.32 * len(metrics) * rows + 1.1 * rows + 0.9)
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1)
        left = np.zeros(len(metrics))
        for part, color in _SHARE_COLORS.items():
            if panel in datasets:
                width = np.array([shares[m].get(panel, {}).get(part, math.nan) for m in metrics], float)
            else:
                width = np.array([np.nanmean([shares[m][d][part] for d in datasets if d in shares[m]]
                                             or [math.nan]) for m in metrics], float)
            width = np.nan_to_num(width)
            ax.barh(range(len(metrics)), width, left=left, color=color, label=part)
            left += width
        ax.set_yticks(range(len(metrics)), labels=[label(m) for m in metrics], fontsize=_TICK)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of variance", fontsize=_TICK)
        ax.set_title(panel, fontsize=_LABEL + 1)
        ax.tick_params(axis="x", labelsize=_TICK)
        ax.grid(axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=c, label={"hparam": "hyperparameter (within model)",
                                             "seed": "seed (within model x value)"}.get(p, p))
                        for p, c in _SHARE_COLORS.items()],
               loc="outside lower center", ncols=3, fontsize=_TICK)
    fig.suptitle(title, fontsize=_TITLE)
    return _save(fig, path)


def _heatmap(ax: Any, m: np.ndarray, rows: Sequence[str], cols: Sequence[str], *, vmin: float = -1,
             vmax: float = 1, cmap: str = "RdBu_r", digits: int = 2) -> Any:
    image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(cols)), labels=cols, rotation=40, ha="right", fontsize=_TICK - 1)
    ax.set_yticks(range(len(rows)), labels=rows, fontsize=_TICK - 1)
    if m.size <= 150:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if np.isfinite(m[i, j]):
                    mid = (vmin + vmax) / 2
                    ax.text(j, i, f"{m[i, j]:.{digits}f}", ha="center", va="center", fontsize=_TICK - 2,
                            color="white" if abs(m[i, j] - mid) > 0.6 * (vmax - mid) else "black")
    return image


def plot_unsupervised_selection(rho: Mapping[str, Mapping[str, Mapping[str, float]]],
                                selection: Mapping[str, Mapping[str, Any]], metrics: Sequence[str],
                                path: str | os.PathLike, *, reliable: float,
                                title: str = "Unsupervised scores against the disentanglement metrics") -> Path:
    """(e) Per data set a heatmap of Spearman rho between each unsupervised score and each metric, and a
    bar chart of P(the run each score picks per model x data set beats a random run), per metric; 0.5 is
    a random pick, ``reliable`` the bar a useful selection must clear."""
    _check("unsupervised selection", rho)
    datasets = list(rho)
    scores = list(selection)
    panels = len(datasets) + 1
    rows, cols = _grid(panels, 3)
    fig = _figure(4.6 * cols + 0.8, 0.4 * max(len(scores), 4) * rows + 2.0 * rows + 0.6)
    heat_axes, image = [], None
    for k, dataset in enumerate(datasets):
        ax = fig.add_subplot(rows, cols, k + 1)
        m = np.array([[rho[dataset].get(s, {}).get(c, math.nan) for c in metrics] for s in scores], float)
        image = _heatmap(ax, m, [label(s) for s in scores], [label(c) for c in metrics])
        ax.set_title(f"{dataset}: Spearman rho", fontsize=_LABEL + 1)
        heat_axes.append(ax)
    bar = fig.colorbar(image, ax=heat_axes, shrink=0.7)
    bar.set_label("Spearman rank correlation", fontsize=_TICK)
    ax = fig.add_subplot(rows, cols, panels)
    width = 0.8 / max(len(metrics), 1)
    for j, metric in enumerate(metrics):
        heights = [selection[s]["per_metric"].get(metric, {}).get("p_beat_random", math.nan) for s in scores]
        ax.bar(np.arange(len(scores)) + (j - (len(metrics) - 1) / 2) * width, np.nan_to_num(heights, nan=0.0),
               width=width, label=label(metric))
    ax.axhline(0.5, color="black", lw=1, ls="--", label="random pick")
    ax.axhline(reliable, color="red", lw=1, ls=":", label=f"reliable ({reliable:g})")
    ax.set_xticks(range(len(scores)), labels=[f"{label(s)} ({selection[s]['direction']})" for s in scores],
                  rotation=40, ha="right", fontsize=_TICK - 1)
    ax.set_ylim(0, 1.3)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("P(selected run beats a random run)", fontsize=_TICK)
    ax.set_title("selection by each score (per model x data set)", fontsize=_LABEL + 1)
    ax.legend(fontsize=_TICK - 2, ncols=3, loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=_TITLE)
    return _save(fig, path)


def plot_transfer(categories: Mapping[str, Mapping[str, float]], matrix: Sequence[Sequence[float]],
                  datasets: Sequence[str], path: str | os.PathLike, *, reliable: float,
                  title: str = "Hyperparameter transfer: chosen setting vs a random one") -> Path:
    """(f) Left: P(the setting chosen on (A, M) beats a random other setting's run on (B, M')) per
    category of (A, M) -> (B, M'); right: data set A -> B with the same metric (the diagonal: another
    seed on the same data set)."""
    _check("transfer", categories)
    fig = _figure(11.0, 4.8)
    ax = fig.add_subplot(1, 2, 1)
    names = list(categories)
    heights = [categories[n]["p_beat_random"] for n in names]
    ax.bar(range(len(names)), np.nan_to_num(heights), color=["#4C72B0", "#55A868", "#DD8452", "#C44E52"][:len(names)])
    for x, h in enumerate(heights):
        if np.isfinite(h):
            ax.text(x, h + 0.02, f"{h:.2f}", ha="center", fontsize=_TICK)
    ax.axhline(0.5, color="black", lw=1, ls="--", label="random choice")
    ax.axhline(reliable, color="red", lw=1, ls=":", label=f"reliable ({reliable:g})")
    ax.set_xticks(range(len(names)), labels=[n.replace(", ", ",\n") for n in names], fontsize=_TICK)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("P(chosen setting's run beats a random one)", fontsize=_TICK)
    ax.set_title("by category (source -> target)", fontsize=_LABEL + 1)
    ax.legend(fontsize=_TICK - 1)
    ax.grid(axis="y", alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    image = _heatmap(ax, np.asarray(matrix, float), list(datasets), list(datasets), vmin=0, vmax=1, cmap="viridis")
    ax.set_xlabel("target data set B", fontsize=_TICK)
    ax.set_ylabel("source data set A", fontsize=_TICK)
    ax.set_title("same metric, mean over metrics", fontsize=_LABEL + 1)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("P(beats a random choice)", fontsize=_TICK)
    fig.suptitle(title, fontsize=_TITLE)
    return _save(fig, path)


def plot_downstream(rho: Mapping[str, Mapping[str, Mapping[str, float]]], metrics: Sequence[str],
                    targets: Sequence[str], path: str | os.PathLike,
                    title: str = "Disentanglement metrics against the downstream task") -> Path:
    """(g) Per data set a heatmap of Spearman rho between each metric and each downstream accuracy /
    sample efficiency (``rho``: data set -> metric -> target -> rho)."""
    _check("downstream", rho)
    datasets = list(rho)
    rows, cols = _grid(len(datasets), 2)
    fig = _figure(0.55 * len(targets) * cols + 2.6 * cols, 0.42 * len(metrics) * rows + 2.2 * rows)
    image = None
    for k, dataset in enumerate(datasets):
        ax = fig.add_subplot(rows, cols, k + 1)
        m = np.array([[rho[dataset].get(a, {}).get(t, math.nan) for t in targets] for a in metrics], float)
        image = _heatmap(ax, m, [label(a) for a in metrics], [label(t) for t in targets])
        ax.set_title(dataset, fontsize=_LABEL + 1)
    bar = fig.colorbar(image, ax=fig.axes, shrink=0.7)
    bar.set_label("Spearman rank correlation", fontsize=_TICK)
    fig.suptitle(title, fontsize=_TITLE)
    return _save(fig, path)


def plot_tradeoff(points: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]], hparams: Mapping[str, str],
                  path: str | os.PathLike,
                  title: str = "Reconstruction vs FactorVAE score (Kim & Mnih 2018), seeds averaged") -> Path:
    """(h) Per data set: the seed-averaged reconstruction error (x) against the FactorVAE score (y), a line
    per model through its hyperparameter values in grid order, each point labelled with its value, error
    bars one std over seeds (``points``: data set -> model -> values/recon/score/...)."""
    _check("trade-off", points)
    datasets = list(points)
    models = list(dict.fromkeys(m for d in datasets for m in points[d]))
    colors = model_colors(models)
    rows, cols = _grid(len(datasets), 3)
    fig = _figure(4.6 * cols, 3.9 * rows + 0.7)
    for k, dataset in enumerate(datasets):
        ax = fig.add_subplot(rows, cols, k + 1)
        for model, p in points[dataset].items():
            x, y = np.array(p["recon"], float), np.array(p["score"], float)
            ax.errorbar(x, y, xerr=np.nan_to_num(p["recon_std"]), yerr=np.nan_to_num(p["score_std"]), marker="o",
                        ms=5, lw=1.8, capsize=2, elinewidth=0.7, alpha=0.9, color=colors[model],
                        label=f"{model} ({hparams.get(model, '')})")
            for xi, yi, v in zip(x, y, p["values"]):
                ax.annotate(f"{v:g}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=_TICK - 1,
                            color=colors[model])
        ax.set_xlabel("reconstruction error (lower = better)", fontsize=_TICK)
        ax.set_ylabel("FactorVAE score (higher = better)", fontsize=_TICK)
        ax.set_title(dataset, fontsize=_LABEL + 1)
        ax.tick_params(labelsize=_TICK)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=_TICK - 1)
    fig.suptitle(title, fontsize=_TITLE)
    return _save(fig, path)
