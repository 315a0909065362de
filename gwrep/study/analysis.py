"""The analyses of the Locatello et al. study: the tidy table -> numbers and verdicts (issue 22, item 5).

F. Locatello et al., "Challenging Common Assumptions in the Unsupervised Learning of Disentangled
Representations", ICML 2019 (arXiv 1811.12359 v4; sections cited below are that version's).
Every function here is pure (numpy/scipy only): :func:`study_data` converts the table once
(a list of row dicts, a dict of columns, or a pandas DataFrame, duck-typed) into a cube of
scores indexed [dataset, model, hparam_rank, seed slot], where the seed slot is a run's
position among the seeds of its (dataset, model, hyperparameter) cell; the analyses read
that cube. :func:`analyse` runs them all and returns plain dicts (NaN where a number cannot
be computed; :mod:`gwrep.study.report` writes them as JSON null).

Verdicts are coded, never hand-written. Each claim is a :class:`Claim`: one statistic, a
threshold and the side of it the paper's claim predicts. The statistic's 95% interval is a
bootstrap over seeds (every draw resamples the seed slots with replacement, each slot
bringing every cell's run at that position: the seeds are the study's replicates). The
verdict is "held" when the whole interval is on the claim's side of the threshold, "did not
hold" when it is wholly on the other side, and "cannot tell at this scale" when it straddles
the threshold, or when the table has fewer than :data:`MIN_SEEDS` seeds per cell (a bootstrap
over two seeds has three distinct draws) or too few values, models, data sets or scores for
the statistic; the verdict's reason names which.

A run whose score is NaN (a failed run, a score not computed) is left out of every analysis
that uses that score, and each analysis reports how many runs it left out, per score.
"""
from __future__ import annotations

import functools
import math
import warnings
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from gwrep.study.table import DOWNSTREAM_COLUMNS, METRIC_COLUMNS, UNSUPERVISED_COLUMNS

__all__ = [
    "HEADLINE_METRICS", "METRICS", "UNSUPERVISED", "UNSUPERVISED_SAMPLED", "DOWNSTREAM_ACCURACY",
    "DOWNSTREAM_EFFICIENCY", "SCORE_COLUMNS", "SELECTION_SCORES", "LABELS", "CLAIMS", "MIN_SEEDS",
    "HELD", "NOT_HELD", "CANNOT_TELL", "Claim", "StudyData", "table_rows", "study_data", "spearman",
    "spearman_matrix", "bootstrap", "decide", "synthetic_table", "paper_grids", "model_order",
    "tc_vs_regularisation", "score_correlations",
    "score_distributions", "variance_explained", "unsupervised_selection", "hyperparameter_transfer",
    "downstream", "reconstruction_tradeoff", "summary_tables", "runs_timing", "analyse",
]

#: The columns an analysis cannot do without (the table's identity columns, :mod:`gwrep.study.table`).
IDENTITY = ("dataset", "model", "hparam", "hparam_value", "hparam_rank", "seed")
#: The paper's six headline disentanglement metrics (mean representation), in its order, then the others.
HEADLINE_METRICS = ("beta_vae_score", "factor_vae_score", "mig", "dci_disentanglement", "modularity", "sap")
METRICS = HEADLINE_METRICS + tuple(c for c in METRIC_COLUMNS if c not in HEADLINE_METRICS)
#: disentanglement_lib's unsupervised scores on the mean representation, and on the sampled one.
UNSUPERVISED = tuple(c for c in UNSUPERVISED_COLUMNS if not c.endswith("_sampled"))
UNSUPERVISED_SAMPLED = tuple(c for c in UNSUPERVISED_COLUMNS if c.endswith("_sampled"))
DOWNSTREAM_EFFICIENCY = tuple(c for c in DOWNSTREAM_COLUMNS if c.endswith("_sample_efficiency"))
DOWNSTREAM_ACCURACY = tuple(c for c in DOWNSTREAM_COLUMNS if c not in DOWNSTREAM_EFFICIENCY)
#: The table's score columns, family by family (the order of the rank-correlation heatmap).
SCORE_COLUMNS = (METRICS + UNSUPERVISED + UNSUPERVISED_SAMPLED + ("udr",) + DOWNSTREAM_ACCURACY
                 + DOWNSTREAM_EFFICIENCY + ("reconstruction_error",))
TIMING_COLUMNS = ("steps", "train_minutes", "score_seconds")
#: Scores that select a model without labels, and which end is better (+1: higher, -1: lower). The four
#: Gaussian/MI scores measure how correlated the code's dimensions are (lower = more factorised).
SELECTION_SCORES = {"gaussian_total_correlation": -1, "gaussian_wasserstein_correlation": -1,
                    "gaussian_wasserstein_correlation_norm": -1, "mutual_info_score": -1, "udr": 1,
                    "reconstruction_error": -1}
#: Fig. 1 of the paper shows every model but AnnealedVAE; DIP-VAE-I, which penalises the covariance of
#: the mean representation, is the exception to the mean representation's rising total correlation.
TC_SAMPLED_MODELS = ("beta-vae", "factor-vae", "dip-vae-i", "dip-vae-ii", "beta-tcvae")
TC_MEAN_MODELS = ("beta-vae", "factor-vae", "dip-vae-ii", "beta-tcvae")
#: Kim & Mnih (2018): beta-VAE across beta against FactorVAE across gamma.
TRADEOFF_MODELS = ("beta-vae", "factor-vae")

MIN_SEEDS = 3
MIN_VALUES = 2
#: A selection "works" when its pick beats a random pick at least 3 times in 4 (for the paper's Fig. 8, a
#: secondary summary gives 80.7% when choosing on the same data set and metric with another seed, 59.3% on
#: another data set).
RELIABLE = 0.75
#: A rank correlation of 0.5 or more is a strong one.
STRONG = 0.5
LEVEL = 0.95

HELD, NOT_HELD, CANNOT_TELL = "held", "did not hold", "cannot tell at this scale"

LABELS = {
    "beta_vae_score": "BetaVAE", "factor_vae_score": "FactorVAE", "mig": "MIG", "dci_disentanglement": "DCI-D",
    "modularity": "Modularity", "sap": "SAP", "dci_completeness": "DCI-C", "dci_informativeness": "DCI-I",
    "explicitness": "Explicitness", "gaussian_total_correlation": "TC", "gaussian_wasserstein_correlation": "WC",
    "gaussian_wasserstein_correlation_norm": "WC-norm", "mutual_info_score": "MI", "udr": "UDR",
    "reconstruction_error": "Recon. error",
    **{f"{name}_sampled": f"{short} (sampled)" for name, short in
       (("gaussian_total_correlation", "TC"), ("gaussian_wasserstein_correlation", "WC"),
        ("gaussian_wasserstein_correlation_norm", "WC-norm"), ("mutual_info_score", "MI"))},
    **{f"downstream_{clf}_acc_{n}": f"{short} acc {n}" for clf, short in (("logreg", "LR"), ("gbt", "GBT"))
       for n in (10, 100, 1000, 10000)},
    "downstream_logreg_sample_efficiency": "LR efficiency", "downstream_gbt_sample_efficiency": "GBT efficiency",
}


@functools.lru_cache(maxsize=None)
def paper_grids() -> dict[str, tuple[str, tuple[float, ...]]]:
    """The ``locatello2019`` study's models in its order (the paper's six, then GWAE-FNP): label ->
    (hyperparameter name, grid from the weakest to the strongest regularisation), read from the study file."""
    from gwrep.study.spec import load_study

    return {name: (m.hparam, tuple(m.values)) for name, m in load_study("locatello2019").models.items()}


def model_order() -> tuple[str, ...]:
    """The models in the paper's order (GWAE-FNP last); a table's other models follow in table order."""
    return tuple(paper_grids())


def label(column: str) -> str:
    """The short name of a score column in figures and tables (the column name if it has none)."""
    return LABELS.get(column, column)


@dataclass(frozen=True)
class Claim:
    """A claim of the paper and the coded rule that tests it: ``statistic`` ``direction`` ``threshold``."""

    key: str
    section: str       # which analysis of the report (a-h)
    source: str        # where the paper says it
    claim: str         # the claim, in our words
    quote: str         # the paper's words, verbatim ('' when we only paraphrase)
    statistic: str     # what is measured
    direction: str     # "<" or ">": the side of the threshold the claim predicts
    threshold: float
    reported: str = ""  # the paper's own numbers for it, where we have them, and from where


_LOC = "Locatello et al. 2019"
_SUMMARY = "as a secondary summary of the paper reports it; not checked against the PDF"
_TRANSFER_QUOTE = "good hyperparameters neither transfer across data sets nor across disentanglement metrics"
CLAIMS = {c.key: c for c in (
    Claim("a1", "a", f"{_LOC}, Sec. 5.1, Fig. 1",
          "The total correlation of the sampled representation falls as the regularisation grows.",
          "", "mean over (data set, model) of Spearman rho(hparam_rank, TC of the sampled representation); models: "
          + ", ".join(TC_SAMPLED_MODELS) + " (Fig. 1's: all but AnnealedVAE)", "<", 0.0),
    Claim("a2", "a", f"{_LOC}, Sec. 5.1, Fig. 1",
          "The total correlation of the mean representation does not fall with it: it rises with the regularisation "
          "(DIP-VAE-I, which penalises the mean's covariance, is the exception).",
          "this does not seem to imply that the dimensions of the mean representation (usually used for "
          "representation) are uncorrelated.",
          "mean over (data set, model) of Spearman rho(hparam_rank, TC of the mean representation); models: "
          + ", ".join(TC_MEAN_MODELS), ">", 0.0),
    Claim("b1", "b", f"{_LOC}, Sec. 5.2, Fig. 2",
          "The disentanglement metrics other than Modularity are positively rank-correlated with each other, "
          "to a degree that changes with the data set.",
          "", "mean over data sets of the mean pairwise Spearman rho among BetaVAE, FactorVAE, MIG, DCI-D and SAP",
          ">", 0.0),
    Claim("b2", "b", f"{_LOC}, Sec. 5.2, Fig. 2",
          "Modularity agrees less with the other metrics than they agree among themselves.",
          "", "(mean rho among the other five) - (mean rho of Modularity with them), averaged over data sets",
          ">", 0.0),
    Claim("c", "c", f"{_LOC}, Sec. 5.3, Fig. 3",
          "No model is consistently better than the others: the score distributions overlap.",
          "", "share of the (data set, headline metric) cases won (highest median over all runs) by the model "
          "that wins most often", "<", 0.5),
    Claim("d1", "d", f"{_LOC}, Sec. 5.3",
          "The hyperparameter and the random seed matter more than the model (the objective function).",
          "the choice of hyperparameters and the random seed seems to be substantially more important than the "
          "choice of objective function.",
          "mean over (data set, headline metric) of the fraction of the metric's variance between models "
          "(eta squared of the model factor; the rest is the hyperparameter within the model and the seed)",
          "<", 0.5, f"the objective alone explains 37% of the variance, objective and regularisation strength 59% "
                    f"({_SUMMARY})"),
    Claim("d2", "d", f"{_LOC}, Sec. 5.3, Fig. 4",
          "A good run with a bad hyperparameter can beat a bad run with a good hyperparameter; we read 'can' as "
          "'in at least half of the (data set, model, metric) cases'.",
          "", "share of (data set, model, headline metric) cases where the worst hyperparameter's best seed beats "
          "the best hyperparameter's worst seed (best/worst by the mean over seeds); its interval resamples the "
          "(data set, model) pairs, since resampling seeds would shrink a best and a worst seed", ">", 0.5),
    Claim("e", "e", f"{_LOC}, Sec. 5.4, Fig. 6",
          "Unsupervised scores do not select well-disentangled models reliably.",
          "While we do observe some correlations, no clear pattern emerges which leads us to conclude that this "
          "approach is unlikely to be successful in practice.",
          f"the best over the unsupervised scores of P(the run it picks per model x data set beats another random "
          f"run of that model x data set), averaged over (data set, model, headline metric); reliable = {RELIABLE}",
          "<", RELIABLE),
    Claim("f1", "f", f"{_LOC}, abstract of arXiv v1; Sec. 5.4, Fig. 8",
          "Good hyperparameters do not transfer across data sets.", _TRANSFER_QUOTE,
          f"P(the model x hyperparameter chosen on data set A with metric M, trained with a new seed, beats a random "
          f"other setting's run on data set B != A with the same metric); reliable = {RELIABLE}", "<", RELIABLE,
          f"P(beats random selection) 80.7% on the same data set and metric (another seed), 59.3% on another data set "
          f"with the same metric, 54.9% on another data set and metric ({_SUMMARY})"),
    Claim("f2", "f", f"{_LOC}, abstract of arXiv v1; Sec. 5.4, Fig. 8",
          "Good hyperparameters do not transfer across disentanglement metrics.", _TRANSFER_QUOTE,
          f"the same probability for the same data set (a held-out seed) and another metric M' != M; "
          f"reliable = {RELIABLE}", "<", RELIABLE),
    Claim("g", "g", f"{_LOC}, Sec. 5.5, Fig. 10",
          "Higher disentanglement scores do not reliably give a higher sample efficiency downstream.",
          "We do not observe that higher disentanglement scores reliably lead to a higher sample efficiency.",
          f"mean over (data set, headline metric, classifier) of Spearman rho(metric, sample efficiency = "
          f"acc@100 / acc@10000); reliable = a strong rank correlation, >= {STRONG}", "<", STRONG),
    Claim("h", "h", "Kim & Mnih 2018, abstract and Sec. 4",
          "FactorVAE gives a better trade-off between disentanglement and reconstruction than beta-VAE.",
          "We show that it improves upon beta-VAE by providing a better trade-off between disentanglement and "
          "reconstruction quality.",
          "mean over data sets of the area dominated (hypervolume) by FactorVAE's seed-averaged (reconstruction "
          "error, FactorVAE score) points minus beta-VAE's, both axes scaled to [0, 1] per data set", ">", 0.0),
)}


# ----------------------------------------------------------------------------------------------- the table


def table_rows(table: Any) -> list[dict[str, Any]]:
    """The study table as a list of row dicts, from a list of row mappings, a dict of equal-length
    columns, or a pandas DataFrame (recognised by its ``to_dict``/``columns``; pandas is not imported)."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        return [dict(row) for row in table.to_dict(orient="records")]
    if isinstance(table, Mapping):
        lengths = {}
        for name, column in table.items():
            if isinstance(column, (str, bytes)) or not hasattr(column, "__len__"):
                raise ValueError(f"a dict table maps column names to sequences; column {name!r} holds {column!r}")
            lengths[name] = len(column)
        if len(set(lengths.values())) > 1:
            raise ValueError(f"the table's columns differ in length: {lengths}")
        n = next(iter(lengths.values()), 0)
        return [{name: table[name][i] for name in table} for i in range(n)]
    if isinstance(table, (str, bytes)) or not hasattr(table, "__iter__"):
        raise ValueError(f"a study table is a list of rows, a dict of columns or a DataFrame, "
                         f"not {type(table).__name__}")
    rows = []
    for i, row in enumerate(table):
        if not isinstance(row, Mapping):
            raise ValueError(f"row {i} of the study table is a {type(row).__name__}, not a mapping of column -> value")
        rows.append(dict(row))
    return rows


def _number(value: Any, column: str, i: int) -> float:
    """A table cell as a float; None and '' are NaN (a missing score)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"row {i}: column {column!r} holds {value!r}, not a number") from None


@dataclass(frozen=True)
class StudyData:
    """The table as cubes: every score column as an array [dataset, model, rank, seed slot], NaN where
    there is no run or no value; a run's slot is its position among the seeds of its cell.

    ``ranks`` are the hparam_rank values present (weakest to strongest regularisation), ``values``
    [model, rank] the hyperparameter value at each (NaN where the model lacks that rank), ``present``
    marks the slots that hold a run and ``seeds`` their seed; ``rows`` keeps the table's rows.
    A resampled study (:meth:`resample`) indexes its slots through ``draw``, column by column when read.
    """

    datasets: tuple[str, ...]
    models: tuple[str, ...]
    ranks: np.ndarray
    hparams: dict[str, str]
    values: np.ndarray
    present: np.ndarray
    seeds: np.ndarray
    cube: dict[str, np.ndarray]
    rows: tuple[dict[str, Any], ...]
    draw: np.ndarray | None = None
    _read: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_slots(self) -> int:
        return int(self.present.shape[-1])

    def has(self, column: str) -> bool:
        """Whether the table has at least one finite value of ``column``."""
        return column in self.cube and bool(np.isfinite(self.cube[column]).any())

    def columns(self, candidates: Sequence[str]) -> list[str]:
        """The ``candidates`` the table has (in their order)."""
        return [c for c in candidates if self.has(c)]

    def get(self, column: str) -> np.ndarray:
        """The cube of ``column`` [dataset, model, rank, slot] (all NaN if the table lacks it)."""
        if column not in self._read:
            cube = self.cube.get(column)
            if cube is None:
                cube = np.full(self.present.shape, np.nan)
            elif self.draw is not None:
                cube = cube[..., self.draw]
            self._read[column] = cube
        return self._read[column]

    def weights(self) -> np.ndarray:
        """How many times each slot of the table is in this study: ones, or the counts of a resample's draw."""
        k = self.cube_slots
        return np.ones(k) if self.draw is None else np.bincount(self.draw, minlength=k).astype(float)

    @property
    def cube_slots(self) -> int:
        """The number of seed slots of the table (before any resampling)."""
        return int(next(iter(self.cube.values())).shape[-1]) if self.cube else self.n_slots

    def shared(self, key: str, build: Callable[[], Any]) -> Any:
        """A structure derived from the table (not from a resample), built once and shared by its resamples."""
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]

    def missing(self, column: str) -> int:
        """How many runs have no finite value of ``column``."""
        return int((self.present & ~np.isfinite(self.get(column))).sum())

    def seeds_per_cell(self) -> float:
        """The median number of runs per populated (dataset, model, hparam) cell."""
        counts = self.present.sum(axis=-1)
        counts = counts[counts > 0]
        return float(np.median(counts)) if counts.size else 0.0

    def values_per_model(self) -> int:
        """The largest number of hyperparameter values any (dataset, model) has."""
        return int(self.present.any(axis=-1).sum(axis=-1).max()) if self.present.size else 0

    def resample(self, draw: np.ndarray) -> "StudyData":
        """The study with its seed slots replaced by ``draw`` (indices into the slots, repeats allowed)."""
        draw = np.asarray(draw)
        return replace(self, present=self.present[..., draw], seeds=self.seeds[..., draw],
                       draw=draw if self.draw is None else self.draw[draw], _read={}, _shared=self._shared)


def study_data(table: Any) -> StudyData:
    """Convert the tidy table (see :func:`table_rows` for its forms) into a :class:`StudyData`; one clear
    ``ValueError`` for a missing identity column, a non-number in a numeric column, a hyperparameter whose
    value differs between data sets, or a duplicated run."""
    rows = table_rows(table)
    if not rows:
        raise ValueError("the study table has no rows")
    for i, row in enumerate(rows):
        absent = [c for c in IDENTITY if row.get(c) is None or (isinstance(row.get(c), float) and math.isnan(row[c]))]
        if absent:
            raise ValueError(f"row {i} of the study table has no {', '.join(absent)} (identity columns: {IDENTITY})")
    datasets = tuple(dict.fromkeys(str(r["dataset"]) for r in rows))
    seen = list(dict.fromkeys(str(r["model"]) for r in rows))
    models = tuple([m for m in model_order() if m in seen] + [m for m in seen if m not in model_order()])
    ranks_of = []
    for i, row in enumerate(rows):
        rank = _number(row["hparam_rank"], "hparam_rank", i)
        if not (rank >= 0 and rank == int(rank)):
            raise ValueError(f"row {i}: hparam_rank must be an integer >= 0, got {row['hparam_rank']!r}")
        ranks_of.append(int(rank))
    ranks = np.array(sorted(set(ranks_of)), dtype=int)
    d_index, m_index = {d: k for k, d in enumerate(datasets)}, {m: k for k, m in enumerate(models)}
    r_index = {int(r): k for k, r in enumerate(ranks)}
    cells: dict[tuple[int, int, int], list[int]] = {}
    for i, row in enumerate(rows):
        cells.setdefault((d_index[str(row["dataset"])], m_index[str(row["model"])], r_index[ranks_of[i]]), []).append(i)
    shape = (len(datasets), len(models), len(ranks), max(len(v) for v in cells.values()))
    present = np.zeros(shape, dtype=bool)
    seeds = np.full(shape, np.nan)
    values = np.full((len(models), len(ranks)), np.nan)
    hparams: dict[str, str] = {}
    numeric = [c for c in SCORE_COLUMNS + TIMING_COLUMNS if any(c in r for r in rows)]
    cube = {c: np.full(shape, np.nan) for c in numeric}
    for (d, m, r), members in cells.items():
        seed_of = {i: _number(rows[i]["seed"], "seed", i) for i in members}
        members.sort(key=lambda i: (seed_of[i], str(rows[i].get("run", ""))))
        twice = [s for s, n in Counter(seed_of.values()).items() if n > 1]
        if twice:
            raise ValueError(f"({datasets[d]}, {models[m]}, hparam_rank {ranks[r]}) has seed {twice[0]:g} more "
                             f"than once: one row per run")
        for k, i in enumerate(members):
            row = rows[i]
            present[d, m, r, k] = True
            seeds[d, m, r, k] = seed_of[i]
            value = _number(row["hparam_value"], "hparam_value", i)
            if np.isnan(values[m, r]):
                values[m, r] = value
            elif not math.isclose(values[m, r], value, rel_tol=1e-9, abs_tol=1e-12):
                raise ValueError(f"{models[m]} has hparam_value {values[m, r]:g} and {value:g} at hparam_rank "
                                 f"{ranks[r]} (row {i}): a rank is one position in the model's grid")
            name = str(row["hparam"])
            if hparams.setdefault(models[m], name) != name:
                raise ValueError(f"{models[m]} sweeps both {hparams[models[m]]!r} and {name!r} (row {i})")
            for c in numeric:
                cube[c][d, m, r, k] = _number(row.get(c), c, i)
    return StudyData(datasets=datasets, models=models, ranks=ranks, hparams=hparams, values=values, present=present,
                     seeds=seeds, cube=cube, rows=tuple(rows))


# ----------------------------------------------------------------------------------------------- statistics


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's empty-slice and invalid-value warnings: empty groups are NaN by design here."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based; ties share their mean rank, as :func:`scipy.stats.rankdata`) along the
    last axis of ``x``; NaN and +inf rank last, so the finite values get their ranks among themselves."""
    x = np.asarray(x, dtype=float)
    shape = x.shape
    x = np.where(np.isnan(x), np.inf, x).reshape(-1, shape[-1])
    order = np.argsort(x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, axis=1)
    start = np.ones(xs.shape, dtype=bool)
    start[:, 1:] = xs[:, 1:] != xs[:, :-1]
    group = np.cumsum(start.ravel()) - 1
    position = np.tile(np.arange(1, shape[-1] + 1, dtype=float), x.shape[0])
    mean_position = np.bincount(group, position) / np.bincount(group)
    ranks = np.empty_like(x)
    np.put_along_axis(ranks, order, mean_position[group].reshape(x.shape), axis=1)
    return ranks.reshape(shape)


def _tie_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort order of each row of ``x`` [rows, n] (NaN last) and a tie-group id per sorted element,
    numbered through all rows; the input of :func:`_weighted_below`."""
    x = np.where(np.isnan(x), np.inf, x)
    order = np.argsort(x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, axis=1)
    start = np.ones(xs.shape, dtype=bool)
    start[:, 1:] = xs[:, 1:] != xs[:, :-1]
    return order, np.cumsum(start.ravel()) - 1


def _weighted_below(order: np.ndarray, group: np.ndarray, w: np.ndarray) -> np.ndarray:
    """For each element of each row: the weight of the row's elements below it plus half the weight of its
    tie group, itself included (with unit weights: its rank - 0.5). ``order``/``group`` from :func:`_tie_groups`."""
    ws = np.take_along_axis(w, order, axis=1).ravel()
    size = np.bincount(group, ws, minlength=group[-1] + 1)
    before = np.cumsum(size) - size
    first = group.reshape(order.shape)[:, :1]
    below = (before[group].reshape(order.shape) - before[first]) + 0.5 * size[group].reshape(order.shape)
    out = np.empty_like(below)
    np.put_along_axis(out, order, below, axis=1)
    return out


def _masked_pearson(rx: np.ndarray, ry: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis over the positions ``ok``; NaN below 3 or for a constant side."""
    n = ok.sum(axis=-1)
    with _quiet():
        rx = np.where(ok, rx - (np.where(ok, rx, 0.0).sum(axis=-1) / n)[..., None], 0.0)
        ry = np.where(ok, ry - (np.where(ok, ry, 0.0).sum(axis=-1) / n)[..., None], 0.0)
        den = np.sqrt((rx * rx).sum(axis=-1) * (ry * ry).sum(axis=-1))
        rho = (rx * ry).sum(axis=-1) / den
    return np.where((n >= 3) & (den > 0), rho, np.nan)


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of each row pair of ``x`` and ``y`` (..., n) over the positions where both are finite."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    return _masked_pearson(_ranks(np.where(ok, x, np.nan)), _ranks(np.where(ok, y, np.nan)), ok)


def spearman(x: Any, y: Any) -> float:
    """Spearman's rank correlation of the pairs where both are finite (ties: average ranks, as
    :func:`scipy.stats.spearmanr`); NaN with fewer than 3 pairs or a constant side."""
    return float(_spearman_rows(np.ravel(x), np.ravel(y)))


def spearman_matrix(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete Spearman matrix of the columns of ``x`` (n, c), and the pair counts (c, c)."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x).astype(float)
    columns = range(x.shape[1])
    table = _RankTable.build(x.T[:, None, :], np.zeros(x.shape[0], dtype=int))
    return table.rho(columns, columns, np.ones(1))[0], ok.T @ ok


def bootstrap(study: StudyData, statistic: Callable[[StudyData], Any], *, n_boot: int,
              rng: np.random.Generator, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``statistic`` (scalar or 1-D) on the study and its ``level`` percentile interval over ``n_boot``
    resamplings of the seed slots with replacement (each slot brings every cell's run at that position).
    The interval is NaN where fewer than half of the resamples give a finite value, or with < 2 slots."""
    point = np.atleast_1d(np.asarray(statistic(study), dtype=float))
    lo, hi = np.full(point.shape, np.nan), np.full(point.shape, np.nan)
    if n_boot <= 0 or study.n_slots < 2 or not np.isfinite(point).any():
        return point, lo, hi
    draws = rng.integers(0, study.n_slots, size=(n_boot, study.n_slots))
    samples = np.array([np.atleast_1d(np.asarray(statistic(study.resample(d)), dtype=float)) for d in draws])
    for j in range(point.size):
        column = samples[:, j][np.isfinite(samples[:, j])]
        if np.isfinite(point[j]) and column.size >= n_boot / 2:
            lo[j], hi[j] = np.quantile(column, [(1 - level) / 2, 1 - (1 - level) / 2])
    return point, lo, hi


def _cluster_interval(clusters: Sequence[np.ndarray], *, n_boot: int, rng: np.random.Generator,
                      level: float = LEVEL) -> tuple[float, float, float]:
    """Mean of all values in ``clusters`` and its percentile interval over ``n_boot`` resamplings of the
    clusters with replacement (NaN interval with fewer than 2 clusters or no resampling)."""
    clusters = [np.asarray(c, dtype=float) for c in clusters if len(c)]
    if not clusters:
        return math.nan, math.nan, math.nan
    point = float(np.concatenate(clusters).mean())
    if n_boot <= 0 or len(clusters) < 2:
        return point, math.nan, math.nan
    sums, sizes = np.array([c.sum() for c in clusters]), np.array([c.size for c in clusters])
    draws = rng.integers(0, len(clusters), size=(n_boot, len(clusters)))
    means = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return point, float(lo), float(hi)


def decide(claim: Claim, value: float, lo: float, hi: float, lacking: str | None = None) -> dict[str, Any]:
    """The verdict on ``claim`` from its statistic and interval (module docstring: the rule), as a dict."""
    side = "below" if claim.direction == "<" else "above"
    rule = (f"held if the {LEVEL:.0%} bootstrap interval lies wholly {side} {claim.threshold:g}, did not hold if "
            f"wholly on the other side, else cannot tell")
    sign = -1.0 if claim.direction == "<" else 1.0
    if lacking:
        verdict, reason = CANNOT_TELL, lacking
    elif not (np.isfinite(value) and np.isfinite(lo) and np.isfinite(hi)):
        verdict, reason = CANNOT_TELL, "the statistic or its interval could not be computed from this table"
    elif min(sign * (lo - claim.threshold), sign * (hi - claim.threshold)) > 0:
        verdict, reason = HELD, f"interval [{lo:.3g}, {hi:.3g}] wholly {side} {claim.threshold:g}"
    elif max(sign * (lo - claim.threshold), sign * (hi - claim.threshold)) < 0:
        verdict, reason = NOT_HELD, f"interval [{lo:.3g}, {hi:.3g}] wholly on the other side of {claim.threshold:g}"
    else:
        verdict, reason = CANNOT_TELL, f"interval [{lo:.3g}, {hi:.3g}] reaches {claim.threshold:g}"
    return {"key": claim.key, "section": claim.section, "source": claim.source, "claim": claim.claim,
            "quote": claim.quote, "reported": claim.reported, "statistic": claim.statistic,
            "direction": claim.direction,
            "threshold": claim.threshold, "value": float(value), "ci": [float(lo), float(hi)],
            "verdict": verdict, "reason": reason, "rule": rule}


def _lacking(study: StudyData, *, values: bool = False, models: int = 1, datasets: int = 1) -> str | None:
    """Why the table is too small for a verdict (None if it is not)."""
    seeds = study.seeds_per_cell()
    if seeds < MIN_SEEDS:
        return f"{seeds:g} seeds per cell (median), fewer than {MIN_SEEDS}: too few for a bootstrap over seeds"
    if values and study.values_per_model() < MIN_VALUES:
        return f"{study.values_per_model()} hyperparameter value(s) per model, fewer than {MIN_VALUES}"
    if len(study.models) < models:
        return f"{len(study.models)} model(s), fewer than {models}"
    if len(study.datasets) < datasets:
        return f"{len(study.datasets)} data set(s), fewer than {datasets}"
    return None


def _verdicts(study: StudyData, statistic: Callable[[StudyData], Any], claims: Sequence[tuple[str, str | None]], *,
              n_boot: int, seed: int, lacking: str | None) -> list[dict[str, Any]]:
    """Decide the claims ``(key, own reason it cannot be told or None)`` from component k of one vector
    ``statistic``, bootstrapped once (not at all when the table is ``lacking``)."""
    rng = np.random.default_rng([seed, *map(ord, "".join(k for k, _ in claims))])
    point, lo, hi = bootstrap(study, statistic, n_boot=0 if lacking else n_boot, rng=rng)
    return [decide(CLAIMS[key], float(point[k]), float(lo[k]), float(hi[k]), lacking or own or None)
            for k, (key, own) in enumerate(claims)]


def _excluded(study: StudyData, columns: Sequence[str]) -> dict[str, int]:
    """Runs left out per column (no finite value), only the columns that lose any."""
    return {c: study.missing(c) for c in columns if study.missing(c)}


def _moments(values: np.ndarray) -> dict[str, float]:
    """Mean, sample std (ddof=1; NaN below 2 values) and count of the finite ``values``."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    return {"mean": float(v.mean()) if v.size else math.nan,
            "std": float(v.std(ddof=1)) if v.size > 1 else math.nan, "n": int(v.size)}


def _pairs(study: StudyData) -> Iterator[tuple[int, int]]:
    """(dataset, model) index pairs that hold at least one run."""
    for d in range(len(study.datasets)):
        for m in range(len(study.models)):
            if study.present[d, m].any():
                yield d, m


def _runs(study: StudyData, columns: Sequence[str], *, per: str = "dataset") -> np.ndarray:
    """The ``columns`` as [column, dataset, runs] (per="dataset") or [column, dataset, model, runs]
    (per="model"); a slot without a run is NaN in every score column, so it drops out of every statistic."""
    shape = study.present.shape
    tail = (shape[0], -1) if per == "dataset" else (shape[0], shape[1], -1)
    if not columns:
        return np.empty((0, *shape[:len(tail) - 1], shape[2] * shape[3] * (shape[1] if per == "dataset" else 1)))
    return np.stack([study.get(c).reshape(tail) for c in columns])


def _weighted_spearman(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spearman rho of each row pair of ``x`` and ``y`` [rows, n] when element k counts w[.., k] times
    (the rho of the sample with every element repeated that often), over the finite pairs."""
    w = w * (np.isfinite(x) & np.isfinite(y))
    rx, ry = _weighted_below(*_tie_groups(x), w), _weighted_below(*_tie_groups(y), w)
    total = w.sum(axis=-1, keepdims=True)
    with _quiet():
        rx, ry = rx - (w * rx).sum(axis=-1, keepdims=True) / total, ry - (w * ry).sum(axis=-1, keepdims=True) / total
        den = np.sqrt((w * rx * rx).sum(axis=-1) * (w * ry * ry).sum(axis=-1))
        rho = (w * rx * ry).sum(axis=-1) / den
    return np.where((total[..., 0] >= 3) & (den > 0), rho, np.nan)


@dataclass(frozen=True)
class _RankTable:
    """Score columns as [column, dataset, run] (runs = the table's slots, NaN where none) with each
    (column, dataset) sorted once, so that a resample's Spearman rho needs no sorting: with slot k drawn
    c[k] times, the resample's mid-ranks are the weighted mid-ranks of the table (cumulative weights
    along the sorted order) and its rho their weighted Pearson correlation."""

    x: np.ndarray
    finite: np.ndarray
    order: np.ndarray
    group: np.ndarray
    slot: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, slot: np.ndarray) -> "_RankTable":
        """From ``x`` [column, group, run] and each run's slot [run]."""
        order, group = _tie_groups(x.reshape(-1, x.shape[-1]))
        return cls(x=x, finite=np.isfinite(x), order=order, group=group, slot=slot)

    @classmethod
    def of_study(cls, study: StudyData, names: Sequence[str]) -> "_RankTable":
        """The table's (not a resample's) columns ``names``, runs per data set."""
        shape = next(iter(study.cube.values())).shape
        slot = np.broadcast_to(np.arange(shape[-1]), shape).reshape(shape[0], -1)[0]
        return cls.build(np.stack([study.cube[c].reshape(shape[0], -1) for c in names]), slot)

    def rho(self, rows: Sequence[int], columns: Sequence[int], c: np.ndarray) -> np.ndarray:
        """[dataset, len(rows), len(columns)] with slot k counted c[k] times."""
        w = c[self.slot]  # [run]
        wf = self.finite * w
        below = _weighted_below(self.order, self.group, wf.reshape(self.order.shape)).reshape(self.x.shape)
        total = wf.sum(axis=-1)  # [column, dataset]
        with _quiet():
            centred = np.where(self.finite, below - ((wf * below).sum(axis=-1) / total)[..., None], 0.0)
        r, k = list(rows), list(columns)
        gram = np.einsum("cgl,egl->gce", centred[r] * w, centred[k])
        shared = np.einsum("cgl,egl->gce", wf[r], self.finite[k].astype(float))
        norms = np.sqrt((wf * centred * centred).sum(axis=-1)).T  # [dataset, column]
        with _quiet():
            rho = gram / (norms[:, r][:, :, None] * norms[:, k][:, None, :])
        same = (self.finite[r][:, None] == self.finite[k][None]).all(axis=-1).transpose(2, 0, 1)
        rho = np.where(same & (shared >= 3) & np.isfinite(rho), rho, np.nan)
        g, i, j = np.nonzero(~same)
        if g.size:
            ri, kj = np.array(r)[i], np.array(k)[j]
            rho[g, i, j] = _weighted_spearman(self.x[ri, g], self.x[kj, g], np.broadcast_to(w, (g.size, w.size)))
        return rho


def _cross_rho(study: StudyData, rows: Sequence[str], columns: Sequence[str]) -> np.ndarray:
    """Spearman rho [dataset, len(rows), len(columns)] between score columns over each data set's runs."""
    if not rows or not columns:
        return np.full((len(study.datasets), len(rows), len(columns)), np.nan)
    names = tuple(dict.fromkeys(list(rows) + list(columns)))
    table = study.shared("ranks:" + ",".join(names), lambda: _RankTable.of_study(study, names))
    return table.rho([names.index(c) for c in rows], [names.index(c) for c in columns], study.weights())


# ----------------------------------------------------------------------------------------------- a


def _trends(study: StudyData, column: str) -> np.ndarray:
    """Spearman rho between hparam_rank and ``column`` over the runs of each (data set, model) [D, M]."""
    shape = study.present.shape
    grid = np.broadcast_to(study.ranks[:, None].astype(float), shape).reshape(shape[0], shape[1], -1)
    return _spearman_rows(grid, study.get(column).reshape(shape[0], shape[1], -1))


def _mean_trend(study: StudyData, column: str, models: Sequence[str]) -> float:
    keep = [k for k, m in enumerate(study.models) if m in models]
    trends = _trends(study, column)[:, keep]
    trends = trends[np.isfinite(trends)]
    return float(trends.mean()) if trends.size else math.nan


def tc_vs_regularisation(study: StudyData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """(a) Gaussian total correlation of the sampled and of the mean representation against the
    regularisation strength (hparam_rank), per data set and model: per-rank mean/std over seeds and the
    Spearman trend over runs (paper Sec. 5.1, Fig. 1)."""
    sampled, mean = "gaussian_total_correlation_sampled", "gaussian_total_correlation"
    curves: dict[str, dict[str, Any]] = {}
    trends = {"sampled": _trends(study, sampled), "mean": _trends(study, mean)}
    for d, m in _pairs(study):
        entry = {"hparam": study.hparams[study.models[m]], "ranks": [], "values": []}
        for rep, column in (("sampled", sampled), ("mean", mean)):
            entry[rep] = {"mean": [], "std": [], "n": [], "trend": float(trends[rep][d, m])}
        for r in np.flatnonzero(study.present[d, m].any(axis=-1)):
            entry["ranks"].append(int(study.ranks[r]))
            entry["values"].append(float(study.values[m, r]))
            for rep, column in (("sampled", sampled), ("mean", mean)):
                stats = _moments(study.get(column)[d, m, r])
                for k in ("mean", "std", "n"):
                    entry[rep][k].append(stats[k])
        curves.setdefault(study.datasets[d], {})[study.models[m]] = entry
    claims = []
    for key, column, models in (("a1", sampled, TC_SAMPLED_MODELS), ("a2", mean, TC_MEAN_MODELS)):
        own = None if study.has(column) else f"the table has no {column}"
        if not any(m in study.models for m in models):
            own = f"none of the models {', '.join(models)} is in the table"
        claims.append((key, own))
    verdicts = _verdicts(study, lambda s: [_mean_trend(s, sampled, TC_SAMPLED_MODELS),
                                           _mean_trend(s, mean, TC_MEAN_MODELS)],
                         claims, n_boot=n_boot, seed=seed, lacking=_lacking(study, values=True))
    return {"curves": curves, "excluded": _excluded(study, (sampled, mean)), "verdicts": verdicts}


# ----------------------------------------------------------------------------------------------- b


def _metric_agreement(study: StudyData) -> np.ndarray:
    """[mean rho among the headline metrics but Modularity, that minus Modularity's mean rho with them],
    each averaged over data sets."""
    others = [c for c in study.columns(HEADLINE_METRICS) if c != "modularity"]
    if len(others) < 2:
        return np.array([math.nan, math.nan])
    k = len(others)
    rho = _cross_rho(study, others + study.columns(["modularity"]), others)  # [dataset, k (+1), k]
    first, second = np.triu_indices(k, 1)
    with _quiet():
        inner = np.nanmean(rho[:, first, second], axis=1)  # [dataset]
        if rho.shape[1] == k:
            return np.array([np.nanmean(inner), math.nan])
        return np.array([np.nanmean(inner), np.nanmean(inner - np.nanmean(rho[:, k], axis=1))])


def score_correlations(study: StudyData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """(b) Spearman rank correlation between every score the table has, per data set (pairwise-complete
    over the data set's runs; paper Sec. 5.2, Fig. 2)."""
    columns = study.columns(SCORE_COLUMNS)
    rho = _cross_rho(study, columns, columns)
    matrices = {}
    for d, name in enumerate(study.datasets):
        ok = np.isfinite(_runs(study, columns)[:, d]).astype(float)
        matrices[name] = {"rho": rho[d].tolist(), "n": (ok @ ok.T).astype(int).tolist()}
    others = [c for c in study.columns(HEADLINE_METRICS) if c != "modularity"]
    claims = [("b1", "fewer than 2 headline metrics besides Modularity" if len(others) < 2 else None),
              ("b2", "Modularity or every other headline metric is missing"
               if not (study.has("modularity") and len(others) >= 2) else None)]
    return {"columns": columns, "matrices": matrices, "excluded": _excluded(study, columns),
            "verdicts": _verdicts(study, _metric_agreement, claims, n_boot=n_boot, seed=seed, lacking=_lacking(study))}


# ----------------------------------------------------------------------------------------------- c


def _winner_share(study: StudyData) -> float:
    """Share of (data set, headline metric) cases won by the most frequent winner (highest median)."""
    x = _runs(study, study.columns(HEADLINE_METRICS), per="model")  # [metric, dataset, model, runs]
    with _quiet():
        medians = np.nanmedian(x, axis=-1)
    decided = np.isfinite(medians).sum(axis=-1) >= 2
    if not decided.any():
        return math.nan
    winners = np.argmax(np.where(np.isfinite(medians), medians, -np.inf), axis=-1)[decided]
    return float(np.bincount(winners).max() / winners.size)


def _quantiles(values: np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    q = np.quantile(v, [0, 0.25, 0.5, 0.75, 1]) if v.size else [math.nan] * 5
    return {"min": float(q[0]), "q25": float(q[1]), "median": float(q[2]), "q75": float(q[3]), "max": float(q[4]),
            "n": int(v.size)}


def score_distributions(study: StudyData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """(c) Quantiles of each metric per (data set, model) and per (data set, model, hyperparameter value),
    the violins' numbers, and the model that wins each (data set, metric) (paper Sec. 5.3, Fig. 3)."""
    metrics = study.columns(METRICS)
    by_model: dict[str, Any] = {}
    by_value: dict[str, Any] = {}
    winners: dict[str, dict[str, str]] = {}
    for metric in metrics:
        cube = study.get(metric)
        for d, m in _pairs(study):
            dataset, model = study.datasets[d], study.models[m]
            by_model.setdefault(metric, {}).setdefault(dataset, {})[model] = _quantiles(cube[d, m])
            by_value.setdefault(metric, {}).setdefault(dataset, {})[model] = {
                f"{study.values[m, r]:g}": _quantiles(cube[d, m, r])
                for r in np.flatnonzero(study.present[d, m].any(axis=-1))}
        for dataset, per_model in by_model[metric].items():
            medians = {model: q["median"] for model, q in per_model.items() if np.isfinite(q["median"])}
            if len(medians) >= 2:
                winners.setdefault(metric, {})[dataset] = max(medians, key=medians.get)
    lacking = _lacking(study, models=2) or (None if study.columns(HEADLINE_METRICS) else "no headline metric")
    return {"by_model": by_model, "by_value": by_value, "winners": winners, "excluded": _excluded(study, metrics),
            "verdicts": _verdicts(study, _winner_share, [("c", None)], n_boot=n_boot, seed=seed, lacking=lacking)}


# ----------------------------------------------------------------------------------------------- d


def _shares(y: np.ndarray) -> np.ndarray:
    """Nested-ANOVA variance fractions (eta squared) of ``y`` [..., model, rank, slot]: between models,
    between hyperparameter values within a model, between seeds within a (model, value) cell; they sum
    to 1 ([..., 3]; NaN where fewer than 2 values or no variance)."""
    ok = np.isfinite(y)
    z = np.where(ok, y, 0.0)
    with _quiet():
        n = ok.sum(axis=(-3, -2, -1))
        grand = z.sum(axis=(-3, -2, -1)) / n
        g = grand[..., None, None, None]
        total = (np.where(ok, y - g, 0.0) ** 2).sum(axis=(-3, -2, -1))
        n_m, n_c = ok.sum(axis=(-2, -1)), ok.sum(axis=-1)
        mean_m = z.sum(axis=(-2, -1)) / n_m
        mean_c = z.sum(axis=-1) / n_c
        ss_model = np.nansum(n_m * (mean_m - grand[..., None]) ** 2, axis=-1)
        ss_cell = np.nansum(n_c * (mean_c - grand[..., None, None]) ** 2, axis=(-2, -1))
        out = np.stack([ss_model / total, (ss_cell - ss_model) / total, 1 - ss_cell / total], axis=-1)
    return np.where(((n >= 2) & (total > 0))[..., None], out, np.nan)


def _mean_model_share(study: StudyData) -> float:
    shares = _shares(_runs(study, study.columns(HEADLINE_METRICS), per="model").reshape(
        -1, *study.present.shape[1:]))[..., 0] if study.columns(HEADLINE_METRICS) else np.empty(0)
    shares = shares[np.isfinite(shares)]
    return float(shares.mean()) if shares.size else math.nan


def _seed_versus_hparam(y: np.ndarray) -> dict[str, Any] | None:
    """For ``y`` [rank, slot] of one (data set, model, metric): the best and worst hyperparameter by the
    mean over seeds (ranks with >= 2 seeds), whether the worst one's best seed beats the best one's worst
    seed, and P(a random seed of the worst beats a random seed of the best). None when < 2 such ranks
    or all their means are equal."""
    counts = np.isfinite(y).sum(axis=1)
    usable = np.flatnonzero(counts >= 2)
    if usable.size < 2:
        return None
    with _quiet():
        means = np.nanmean(y[usable], axis=1)
    if np.ptp(means) == 0:
        return None
    best, worst = usable[int(np.argmax(means))], usable[int(np.argmin(means))]
    good, bad = y[best][np.isfinite(y[best])], y[worst][np.isfinite(y[worst])]
    pair = ((bad[:, None] > good[None, :]) + 0.5 * (bad[:, None] == good[None, :])).mean()
    return {"best": int(best), "worst": int(worst), "best_worst_seed": float(good.min()),
            "worst_best_seed": float(bad.max()), "beats": bool(bad.max() > good.min()), "p_pair": float(pair)}


def variance_explained(study: StudyData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """(d) How much of each metric's variance the model, the hyperparameter and the seed explain, per data
    set: a nested one-way decomposition (eta squared) of the sum of squares over runs into between models,
    between hyperparameter values within a model, and within a (model, value) cell, which is the seed's
    share because the seed is the only thing that differs inside a cell. These are the fractions of
    variance the paper reports (the objective alone, then objective and regularisation strength). Also,
    per (data set, model, metric), whether the worst hyperparameter's best seed beats the best
    hyperparameter's worst seed (paper Sec. 5.3, Fig. 4)."""
    metrics = study.columns(METRICS)
    shares: dict[str, Any] = {}
    for metric in metrics:
        fractions = _shares(study.get(metric))
        counts = np.isfinite(study.get(metric)).sum(axis=(1, 2, 3))
        shares[metric] = {dataset: {"model": float(fractions[d, 0]), "hparam": float(fractions[d, 1]),
                                    "seed": float(fractions[d, 2]), "n": int(counts[d])}
                          for d, dataset in enumerate(study.datasets)}
    seed_cases: list[dict[str, Any]] = []
    for metric in metrics:
        for d, m in _pairs(study):
            result = _seed_versus_hparam(study.get(metric)[d, m])
            if result is not None:
                best, worst = result.pop("best"), result.pop("worst")
                seed_cases.append({"metric": metric, "dataset": study.datasets[d], "model": study.models[m],
                                   "best_value": float(study.values[m, best]),
                                   "worst_value": float(study.values[m, worst]), **result})
    headline = [c for c in seed_cases if c["metric"] in HEADLINE_METRICS]
    lacking = (_lacking(study, values=True, models=2)
               or (None if study.columns(HEADLINE_METRICS) else "no headline metric"))
    lacking_seed = _lacking(study, values=True) or (None if headline else "no (data set, model, metric) case with 2 "
                                                                          "hyperparameter values of >= 2 seeds")
    clusters: dict[tuple[str, str], list[float]] = {}
    for case in headline:
        clusters.setdefault((case["dataset"], case["model"]), []).append(float(case["beats"]))
    rate, lo, hi = _cluster_interval(list(clusters.values()), n_boot=0 if lacking_seed else n_boot,
                                     rng=np.random.default_rng([seed, *map(ord, "d2")]))
    return {"shares": shares, "seed_vs_hparam": seed_cases, "beat_rate": rate,
            "p_pair": float(np.mean([c["p_pair"] for c in headline])) if headline else math.nan,
            "cases": len(headline), "excluded": _excluded(study, metrics),
            "verdicts": _verdicts(study, _mean_model_share, [("d1", None)], n_boot=n_boot, seed=seed, lacking=lacking)
            + [decide(CLAIMS["d2"], rate, lo, hi, lacking_seed)]}


# ----------------------------------------------------------------------------------------------- e


def _selection(study: StudyData, score: str, metrics: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (metric, data set, model): pick the run with the best ``score`` among the runs where it and the
    metric are finite; return P(the pick beats a random *other* run of the group on the metric) (ties
    count half; a random pick scores 0.5 on average), whether the pick beats the group's mean (the
    expected metric of a random pick), and where a group has >= 2 such runs."""
    x = _runs(study, metrics, per="model")  # [metric, dataset, model, runs]
    y = study.get(score).reshape(x.shape[1:])[None]
    ok = np.isfinite(x) & np.isfinite(y)
    n = ok.sum(axis=-1)
    pick = np.argmin(np.where(ok, -SELECTION_SCORES[score] * y, np.inf), axis=-1)
    v = np.take_along_axis(x, pick[..., None], axis=-1)
    less = ((x < v) & ok).sum(axis=-1)
    equal = ((x == v) & ok).sum(axis=-1)
    with _quiet():
        percentile = (less + 0.5 * (equal - 1)) / (n - 1)
        beats = v[..., 0] > np.where(ok, x, 0.0).sum(axis=-1) / n
    return percentile, beats, n >= 2


def _best_selection(study: StudyData) -> float:
    """The best over selection scores of the mean P(pick beats a random run) over groups and metrics."""
    means = []
    for score in study.columns(tuple(SELECTION_SCORES)):
        percentile, _, valid = _selection(study, score, study.columns(HEADLINE_METRICS))
        if valid.any():
            means.append(float(percentile[valid].mean()))
    return max(means) if means else math.nan


def unsupervised_selection(study: StudyData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """(e) Unsupervised model selection: Spearman rho of each unsupervised score (the four Gaussian/MI
    scores, UDR, the reconstruction error) with each metric per data set, and selection by each score
    (the best run per model x data set) against a random pick (paper Sec. 5.4, Fig. 6)."""
    scores, metrics = study.columns(tuple(SELECTION_SCORES)), study.columns(METRICS)
    block = _cross_rho(study, scores, metrics)
    rho = {name: {s: dict(zip(metrics, map(float, block[d, i]))) for i, s in enumerate(scores)}
           for d, name in enumerate(study.datasets)}
    selection: dict[str, Any] = {}
    headline = [k for k, m in enumerate(metrics) if m in HEADLINE_METRICS]
    for s in scores:
        percentile, beats, valid = _selection(study, s, metrics)
        per_metric = {m: {"p_beat_random": float(percentile[k][valid[k]].mean()) if valid[k].any() else math.nan,
                          "beats_random": float(beats[k][valid[k]].mean()) if valid[k].any() else math.nan,
                          "cases": int(valid[k].sum())} for k, m in enumerate(metrics)}
        pct, beat = percentile[headline][valid[headline]], beats[headline][valid[headline]]
        selection[s] = {"direction": "higher" if SELECTION_SCORES[s] > 0 else "lower", "per_metric": per_metric,
                        "p_beat_random": float(pct.mean()) if pct.size else math.nan,
                        "beats_random": float(beat.mean()) if beat.size else math.nan, "cases": int(pct.size)}
    lacking = _lacking(study) or (None if scores and headline else "no unsupervised score or no headline metric")
    return {"scores": scores, "metrics": metrics, "rho": rho, "selection": selection,
            "excluded": _excluded(study, scores + metrics),
            "verdicts": _verdicts(study, _best_selection, [("e", None)], n_boot=n_boot, seed=seed, lacking=lacking)}


# ----------------------------------------------------------------------------------------------- f


@dataclass(frozen=True)
class _TransferTable:
    """The headline metrics as [dataset, metric, setting, slot] (a setting = a (model, hyperparameter)
    pair) and their sort orders over each (dataset, metric)'s runs and over each setting's seeds."""

    v: np.ndarray
    has: np.ndarray
    all_runs: tuple[np.ndarray, np.ndarray]
    own_runs: tuple[np.ndarray, np.ndarray]

    @classmethod
    def build(cls, study: StudyData, metrics: Sequence[str]) -> "_TransferTable":
        shape = next(iter(study.cube.values())).shape
        v = np.stack([study.cube[c].reshape(shape[0], shape[1] * shape[2], shape[3]) for c in metrics], axis=1)
        return cls(v=v, has=np.isfinite(v), all_runs=_tie_groups(v.reshape(-1, v.shape[2] * v.shape[3])),
                   own_runs=_tie_groups(v.reshape(-1, v.shape[3])))

    def beats_others(self, c: np.ndarray) -> np.ndarray:
        """Each run's P(beats a random run of *another* setting of its (dataset, metric)), ties half, when slot
        k counts c[k] times; NaN where the run is missing or no other setting has a run. A uniformly random
        setting's run scores 0.5 on average (settings with equal run counts)."""
        v, has = self.v, self.has
        w = has * c
        below_all = _weighted_below(*self.all_runs, w.reshape(self.all_runs[0].shape)).reshape(v.shape)
        below_own = _weighted_below(*self.own_runs, w.reshape(self.own_runs[0].shape)).reshape(v.shape)
        others = w.sum(axis=(-2, -1))[..., None, None] - w.sum(axis=-1, keepdims=True)
        with _quiet():
            p = (below_all - below_own) / others
        return np.where(has & (others > 0), p, np.nan)

    def transfer(self, c: np.ndarray) -> np.ndarray:
        """P(the chosen setting's run beats a random other setting's run), [A, M, B, M'], slot k counted c[k]
        times (see :func:`_transfer`)."""
        v, has = self.v, self.has
        n_d, n_m, k = v.shape[0], v.shape[1], v.shape[3]
        p = self.beats_others(c)
        w = has * c
        wv = np.where(has, v, 0.0) * c
        sums, counts = wv.sum(axis=-1), w.sum(axis=-1)
        with _quiet():
            p_setting = np.nansum(np.where(np.isfinite(p), p * c, 0.0), axis=-1) / (np.isfinite(p) * c).sum(axis=-1)
            choice = np.argmax(np.where(counts > 0, sums / counts, -np.inf), axis=-1)  # [A, M]
            loo_counts = counts[..., None] - w  # every copy of slot k left out
            loo = np.where(loo_counts > 0, (sums[..., None] - wv) / loo_counts, -np.inf)  # [A, M, S, K]
        loo_choice = np.argmax(loo, axis=2)  # [A, M, K]
        out = np.moveaxis(p_setting[:, :, choice], (2, 3), (0, 1)).copy()  # [A, M, B, M']
        a = np.arange(n_d)[:, None, None, None]
        judged = p[a, np.arange(n_m)[None, None, :, None], loo_choice[:, :, None, :], np.arange(k)]  # [A, M, M', K]
        usable = np.isfinite(judged) & (c > 0) & np.isfinite(loo).any(axis=2)[:, :, None, :]
        with _quiet():
            same = (np.where(usable, judged, 0.0) * c).sum(axis=-1) / (usable * c).sum(axis=-1)  # [A, M, M']
        out[np.arange(n_d), :, np.arange(n_d)] = same
        out[(counts == 0).all(axis=-1)] = np.nan
        return out


def _transfer(study: StudyData) -> np.ndarray:
    """P(chosen setting beats a random other setting's run) for every (source data set A, metric M) ->
    (target data set B, metric M'), as [A, M, B, M'] over the headline metrics the table has. Settings
    are (model, hyperparameter) pairs; the choice is the best mean over seeds on (A, M). On the same
    data set the choice leaves one seed out (every copy of it, in a resample) and is judged on that
    seed's run; on another data set every seed of the chosen setting is judged. A resample is computed
    as the table with each slot counted as often as it was drawn, so the sort orders are made once."""
    metrics = study.columns(HEADLINE_METRICS)
    if not metrics:
        return np.full((len(study.datasets), 0, len(study.datasets), 0), np.nan)
    table = study.shared("transfer", lambda: _TransferTable.build(study, metrics))
    return table.transfer(study.weights())


_CATEGORIES = ("same data set, same metric", "same data set, other metric", "other data set, same metric",
               "other data set, other metric")


def _category_values(p: np.ndarray) -> list[np.ndarray]:
    """The finite P of the (A, M, B, M') cases of each of :data:`_CATEGORIES`."""
    same_d = np.eye(p.shape[0], dtype=bool)[:, None, :, None]
    same_m = np.eye(p.shape[1], dtype=bool)[None, :, None, :]
    out = []
    for mask in (same_d & same_m, same_d & ~same_m, ~same_d & same_m, ~same_d & ~same_m):
        values = p[np.broadcast_to(mask, p.shape)]
        out.append(values[np.isfinite(values)])
    return out


def _category_means(study: StudyData) -> np.ndarray:
    return np.array([v.mean() if v.size else math.nan for v in _category_values(_transfer(study))])


def hyperparameter_transfer(study: StudyData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """(f) Hyperparameter transfer (paper Sec. 5.4, Fig. 8): choose the (model, hyperparameter) setting
    with the best mean over seeds on data set A with metric M, and give P(its run with a new seed on data
    set B, metric M' beats a random run of another setting); 0.5 is a random choice. Per category
    (same/other data set x same/other metric) the mean P and how often P > 0.5."""
    metrics = study.columns(HEADLINE_METRICS)
    p = _transfer(study)
    categories = {name: {"p_beat_random": float(v.mean()) if v.size else math.nan,
                         "beats_random": float((v > 0.5).mean()) if v.size else math.nan, "cases": int(v.size)}
                  for name, v in zip(_CATEGORIES, _category_values(p))}
    n_d = len(study.datasets)
    with _quiet():
        same_metric = np.nanmean(np.diagonal(p, axis1=1, axis2=3), axis=2) if metrics else np.full((n_d, n_d), np.nan)
    claims = [("f1", f"{n_d} data set(s): no other data set to transfer to" if n_d < 2 else None),
              ("f2", "fewer than 2 headline metrics" if len(metrics) < 2 else None)]
    verdicts = _verdicts(study, lambda s: _category_means(s)[[2, 1]], claims, n_boot=n_boot, seed=seed,
                         lacking=_lacking(study) or (None if metrics else "no headline metric"))
    return {"metrics": metrics, "categories": categories, "dataset_matrix": same_metric.tolist(), "cases": p.tolist(),
            "excluded": _excluded(study, metrics), "verdicts": verdicts}


# ----------------------------------------------------------------------------------------------- g


def _mean_efficiency_rho(study: StudyData) -> float:
    rho = _cross_rho(study, study.columns(HEADLINE_METRICS), study.columns(DOWNSTREAM_EFFICIENCY))
    rho = rho[np.isfinite(rho)]
    return float(rho.mean()) if rho.size else math.nan


def downstream(study: StudyData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """(g) Spearman rho of each metric with the downstream accuracy (every classifier and training size)
    and with the sample efficiency, per data set (paper Sec. 5.5, Figs. 9-10)."""
    metrics = study.columns(METRICS)
    targets = study.columns(DOWNSTREAM_ACCURACY + DOWNSTREAM_EFFICIENCY)
    block = _cross_rho(study, metrics, targets)
    rho = {name: {m: dict(zip(targets, map(float, block[d, i]))) for i, m in enumerate(metrics)}
           for d, name in enumerate(study.datasets)}
    lacking = _lacking(study) or (None if study.columns(DOWNSTREAM_EFFICIENCY) and study.columns(HEADLINE_METRICS)
                                  else "no sample efficiency or no headline metric in the table")
    return {"metrics": metrics, "targets": targets, "rho": rho, "excluded": _excluded(study, metrics + targets),
            "verdicts": _verdicts(study, _mean_efficiency_rho, [("g", None)], n_boot=n_boot, seed=seed,
                                  lacking=lacking)}


# ----------------------------------------------------------------------------------------------- h


def _hypervolume(points: np.ndarray) -> float:
    """Area dominated by ``points`` (n, 2), both coordinates higher-is-better, above the origin."""
    area, top = 0.0, 0.0
    for x, y in sorted(map(tuple, points), key=lambda p: -p[0]):
        if y > top:
            area += x * (y - top)
            top = y
    return area


def _tradeoff_means(study: StudyData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seed means and stds of the reconstruction error and the FactorVAE score over the runs that have both,
    and their counts: [dataset, model, rank] each."""
    recon, score = study.get("reconstruction_error"), study.get("factor_vae_score")
    both = np.isfinite(recon) & np.isfinite(score)
    n = both.sum(axis=-1)
    with _quiet():
        r, s = np.where(both, recon, np.nan), np.where(both, score, np.nan)
        return (np.nanmean(r, axis=-1), np.nanstd(r, axis=-1, ddof=1), np.nanmean(s, axis=-1),
                np.nanstd(s, axis=-1, ddof=1), n)


def _hypervolume_gap(study: StudyData) -> np.ndarray:
    """Per data set: hypervolume(FactorVAE) - hypervolume(beta-VAE) of the seed-averaged points, both
    axes scaled to [0, 1] over the two models' points (NaN where a model has none or an axis is flat)."""
    if not all(m in study.models for m in TRADEOFF_MODELS):
        return np.full(len(study.datasets), np.nan)
    index = [study.models.index(m) for m in TRADEOFF_MODELS]
    recon, _, score, _, _ = _tradeoff_means(study)
    gaps = np.full(len(study.datasets), np.nan)
    for d in range(len(study.datasets)):
        r, s = recon[d, index], score[d, index]  # [2, rank]
        ok = np.isfinite(r) & np.isfinite(s)
        if not ok.any(axis=1).all() or np.ptp(r[ok]) == 0 or np.ptp(s[ok]) == 0:
            continue
        x = (r[ok].max() - r) / np.ptp(r[ok])
        y = (s - s[ok].min()) / np.ptp(s[ok])
        hv = [_hypervolume(np.stack([x[j][ok[j]], y[j][ok[j]]], axis=1)) for j in range(2)]
        gaps[d] = hv[1] - hv[0]
    return gaps


def _mean_hypervolume_gap(study: StudyData) -> float:
    gaps = _hypervolume_gap(study)
    gaps = gaps[np.isfinite(gaps)]
    return float(gaps.mean()) if gaps.size else math.nan


def reconstruction_tradeoff(study: StudyData, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """(h) Kim & Mnih (2018)'s trade-off: seed-averaged reconstruction error against the FactorVAE score,
    beta-VAE across beta and FactorVAE across gamma, per data set, and the gap in the area each model's
    points dominate (both axes scaled to [0, 1])."""
    recon, recon_std, score, score_std, n = _tradeoff_means(study)
    points: dict[str, Any] = {}
    for d, m in _pairs(study):
        if study.models[m] in TRADEOFF_MODELS:
            keep = np.flatnonzero(n[d, m] > 0)
            points.setdefault(study.datasets[d], {})[study.models[m]] = {
                "values": study.values[m, keep].tolist(), "recon": recon[d, m, keep].tolist(),
                "recon_std": recon_std[d, m, keep].tolist(), "score": score[d, m, keep].tolist(),
                "score_std": score_std[d, m, keep].tolist(), "n": n[d, m, keep].tolist()}
    lacking = _lacking(study, values=True)
    absent = [m for m in TRADEOFF_MODELS if m not in study.models]
    absent += [c for c in ("reconstruction_error", "factor_vae_score") if not study.has(c)]
    if not lacking and absent:
        lacking = f"the table lacks {', '.join(absent)}"
    return {"points": points, "hypervolume_gap": dict(zip(study.datasets, _hypervolume_gap(study).tolist())),
            "excluded": _excluded(study, ("reconstruction_error", "factor_vae_score")),
            "verdicts": _verdicts(study, _mean_hypervolume_gap, [("h", None)], n_boot=n_boot, seed=seed,
                                  lacking=lacking)}


# ----------------------------------------------------------------------------------------------- tables


def summary_tables(study: StudyData) -> dict[str, Any]:
    """Mean, sample std and count of every metric, the reconstruction error and UDR per (data set, model)
    over all its runs, and per (data set, model, hyperparameter value) over seeds."""
    columns = study.columns(METRICS + ("reconstruction_error", "udr"))
    by_model, by_value = [], []
    for d, m in _pairs(study):
        head = {"dataset": study.datasets[d], "model": study.models[m]}
        by_model.append({**head, "runs": int(study.present[d, m].sum()),
                         **{c: _moments(study.get(c)[d, m]) for c in columns}})
        for r in np.flatnonzero(study.present[d, m].any(axis=-1)):
            by_value.append({**head, "hparam": study.hparams[study.models[m]], "value": float(study.values[m, r]),
                             "seeds": int(study.present[d, m, r].sum()),
                             **{c: _moments(study.get(c)[d, m, r]) for c in columns}})
    return {"columns": columns, "by_model": by_model, "by_value": by_value}


def runs_timing(study: StudyData) -> dict[str, Any]:
    """Per (data set, model): runs, their statuses, steps (range), training minutes (mean, total) and
    scoring seconds (mean, total); the same over the whole table; and every run's own row."""
    runs = []
    for i, row in enumerate(study.rows):
        runs.append({"dataset": str(row["dataset"]), "model": str(row["model"]), "hparam": str(row["hparam"]),
                     "value": _number(row["hparam_value"], "hparam_value", i), "seed": _number(row["seed"], "seed", i),
                     "run": str(row.get("run") or ""), "status": str(row.get("status") or "unknown"),
                     **{c: _number(row.get(c), c, i) for c in TIMING_COLUMNS}})
    order = {(d, m): (a, b) for a, d in enumerate(study.datasets) for b, m in enumerate(study.models)}
    runs.sort(key=lambda r: (order[(r["dataset"], r["model"])], r["value"], r["seed"]))

    def describe(members: list[dict[str, Any]]) -> dict[str, Any]:
        steps, minutes, seconds = (np.array([r[c] for r in members], dtype=float) for c in TIMING_COLUMNS)
        with _quiet():
            return {"runs": len(members), "status": dict(Counter(r["status"] for r in members)),
                    "steps_min": float(np.nanmin(steps)) if np.isfinite(steps).any() else math.nan,
                    "steps_max": float(np.nanmax(steps)) if np.isfinite(steps).any() else math.nan,
                    "train_minutes_mean": float(np.nanmean(minutes)), "train_minutes_total": float(np.nansum(minutes)),
                    "score_seconds_mean": float(np.nanmean(seconds)), "score_seconds_total": float(np.nansum(seconds))}

    groups = [(key, [r for r in runs if (r["dataset"], r["model"]) == key]) for key in sorted(
        {(r["dataset"], r["model"]) for r in runs}, key=order.get)]
    return {"groups": [{"dataset": d, "model": m, **describe(members)} for (d, m), members in groups],
            "total": describe(runs), "runs": runs}


def analyse(table: Any, *, n_boot: int = 200, seed: int = 0) -> dict[str, Any]:
    """Every analysis (a-h), the summary and timing tables, and the verdict list, as plain data."""
    study = table if isinstance(table, StudyData) else study_data(table)
    kw = {"n_boot": n_boot, "seed": seed}
    sections = {"a": tc_vs_regularisation(study, **kw), "b": score_correlations(study, **kw),
                "c": score_distributions(study, **kw), "d": variance_explained(study, **kw),
                "e": unsupervised_selection(study, **kw), "f": hyperparameter_transfer(study, **kw),
                "g": downstream(study, **kw), "h": reconstruction_tradeoff(study, **kw)}
    return {"runs": int(study.present.sum()), "datasets": list(study.datasets), "models": list(study.models),
            "hparams": study.hparams, "seeds_per_cell": study.seeds_per_cell(),
            "values_per_model": study.values_per_model(), "n_boot": n_boot, "bootstrap_seed": seed,
            "level": LEVEL, "min_seeds": MIN_SEEDS, "sections": sections,
            "verdicts": [v for s in sections.values() for v in s["verdicts"]],
            "summary": summary_tables(study), "timing": runs_timing(study)}


# ----------------------------------------------------------------------------------------------- synthetic tables

ScoreFn = Callable[[int, int, int, int, np.random.Generator], Mapping[str, float]]


def _default_scores(d: int, m: int, r: int, k: int, rng: np.random.Generator) -> dict[str, float]:
    """A plausible run: each metric = a model effect + a hyperparameter effect + seed noise; TC of the
    sampled code falls and of the mean code rises with the rank; unsupervised scores weakly informative."""
    quality = 0.5 + 0.1 * math.sin(3.0 * m + d) + 0.1 * math.cos(1.7 * r + m) + 0.1 * rng.standard_normal()
    out = {c: float(np.clip(quality + 0.1 * rng.standard_normal(), 0, 1)) for c in METRICS}
    out["modularity"] = float(np.clip(0.8 + 0.05 * rng.standard_normal(), 0, 1))
    for name in UNSUPERVISED:
        out[f"{name}_sampled"] = float(math.exp(-0.4 * r) * (1 + 0.2 * rng.random()))
        out[name] = float((1 + 0.3 * r) * (1 + 0.2 * rng.random()) - 0.3 * quality)
    out["udr"] = float(np.clip(quality + 0.2 * rng.standard_normal(), 0, 1))
    for clf in ("logreg", "gbt"):
        for n in (10, 100, 1000, 10000):
            out[f"downstream_{clf}_acc_{n}"] = float(np.clip(0.3 + 0.1 * math.log10(n) + 0.1 * quality
                                                             + 0.02 * rng.standard_normal(), 0, 1))
        acc = (out[f"downstream_{clf}_acc_100"], out[f"downstream_{clf}_acc_10000"])
        out[f"downstream_{clf}_sample_efficiency"] = acc[0] / acc[1]
    out["reconstruction_error"] = float(40 + 8 * r + 5 * rng.standard_normal())
    return out


def synthetic_table(datasets: Sequence[str] = ("shapes2d", "shapes3d"), models: Sequence[str] | None = None,
                    values: int = 3, seeds: int = 3, *, scores: ScoreFn | None = None, seed: int = 0,
                    failed: float = 0.0) -> list[dict[str, Any]]:
    """A study table in the schema of the tidy table, for tests and benchmarks: every (data set, model,
    first ``values`` grid values, seed) run (``models`` default: all of :func:`model_order`; grids as
    :func:`paper_grids`, 1..k for another model), its scores from ``scores(d, m, rank, seed, rng)``
    (default: a plausible structure, :func:`_default_scores`), and a ``failed`` fraction of runs marked
    failed with NaN scores."""
    rng = np.random.default_rng(seed)
    score_fn = scores or _default_scores
    rows = []
    for d, dataset in enumerate(datasets):
        for m, model in enumerate(model_order() if models is None else models):
            hparam, grid = paper_grids().get(model, ("h", tuple(range(1, values + 1))))
            for r in range(values):
                for k in range(seeds):
                    row: dict[str, Any] = {
                        "dataset": dataset, "model": model, "hparam": hparam, "hparam_value": float(grid[r]),
                        "hparam_rank": r, "seed": k, "run": f"{dataset}-{model}-{hparam}={grid[r]:g}-s{k}",
                        "status": "completed", "steps": 300, "train_minutes": float(1 + rng.random()),
                        "score_seconds": float(10 + rng.random())}
                    values_of_run = dict(score_fn(d, m, r, k, rng))
                    if failed and rng.random() < failed:
                        row["status"] = "failed"
                        values_of_run = {c: math.nan for c in values_of_run}
                    row.update(values_of_run)
                    rows.append(row)
    return rows
