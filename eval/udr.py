"""Unsupervised Disentanglement Ranking (UDR).

Duan et al., "Unsupervised Model Selection for Variational Disentangled Representation
Learning", ICLR 2020, Section 3 and Eq. 2, as disentanglement_lib's
``evaluation/udr/metrics/udr.py``: models trained with the same method and hyperparameters
but different seeds should agree, up to permutation and sign, on their informative latents
when they disentangle, and disagree when they entangle. For each ordered pair (i, j) of
models, encode the same N inputs, and:

1. keep each model's informative latents: mean KL(q(z_a|x) || N(0, 1)) over the inputs above
   ``kl_threshold`` (dlib: 0.01);
2. build the similarity matrix R (d_i x d_j) between them: absolute Spearman correlation
   (``"spearman"``), or the absolute weights of a Lasso regression (alpha 0.1) from model i's
   standardised codes to model j's (``"lasso"``, dlib's default);
3. score the pair with the relative strength of R's best entry in each column and each row:

.. math::
    \\mathrm{UDR}_{ij} = \\frac12 \\Big( \\frac{1}{d_j} \\sum_b \\frac{\\max_a R_{ab}^2}{\\sum_a R_{ab}}
        + \\frac{1}{d_i} \\sum_a \\frac{\\max_b R_{ab}^2}{\\sum_b R_{ab}} \\Big)

(a row or column of zeros counts 0, as dlib's ``nan_to_num``). A model's UDR is the median of
UDR_ji over the other models j. The paper's Eq. 2 weights the two sums by the latent counts,
(sum_b + sum_a) / (d_i + d_j); it equals dlib's form when d_i = d_j and is offered as
``aggregate="paper"``. A pair in which either model has no informative latent scores 0 (nothing
to match; dlib returns NaN). A model given without log-variances (a deterministic encoder) has
no KL: every latent whose code varies over the inputs counts as informative.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .metrics.utils import check_codes

__all__ = ["udr_scores", "udr_pair", "pairwise_udr", "similarity_matrix", "relative_strength",
           "informative_latents", "mean_kl", "METHODS", "AGGREGATES", "KL_THRESHOLD"]

METHODS = ("spearman", "lasso")
AGGREGATES = ("dlib", "paper")
#: dlib's ``kl_filter_threshold``: latents with mean KL at most this are uninformative.
KL_THRESHOLD = 0.01
#: dlib's Lasso penalty for the ``"lasso"`` similarity.
LASSO_ALPHA = 0.1


def udr_scores(means: Sequence[np.ndarray], logvars: Sequence[np.ndarray | None] | None = None,
               method: str = "spearman", kl_threshold: float = KL_THRESHOLD, aggregate: str = "dlib",
               seed: int = 0) -> list[float]:
    """UDR of each of M >= 2 models from their codes of the same N inputs.

    Args:
        means: M arrays (N, d_m) of encoder means, row n of each for the same input.
        logvars: M arrays (N, d_m) of encoder log-variances or None per model (no KL: see the
            module docstring); None = None for every model.
        method: similarity matrix, ``"spearman"`` or ``"lasso"``.
        kl_threshold: latents with mean KL <= this are dropped (dlib 0.01).
        aggregate: ``"dlib"`` (mean of the two relative-strength means) or ``"paper"`` (Eq. 2).
        seed: random state of the Lasso fits.

    Returns:
        M floats in [0, 1]: model m's median pairwise UDR with the others.
    """
    return [float(np.median(np.delete(column, m))) for m, column in
            enumerate(pairwise_udr(means, logvars, method, kl_threshold, aggregate, seed).T)]


def pairwise_udr(means: Sequence[np.ndarray], logvars: Sequence[np.ndarray | None] | None = None,
                 method: str = "spearman", kl_threshold: float = KL_THRESHOLD, aggregate: str = "dlib",
                 seed: int = 0) -> np.ndarray:
    """(M, M) matrix of UDR_ij (diagonal NaN); arguments as :func:`udr_scores`.

    The Spearman similarity is symmetric (R_ji = R_ij^T), so each unordered pair is scored once.
    """
    _check_choice("method", method, METHODS)
    _check_choice("aggregate", aggregate, AGGREGATES)
    means = [check_codes(m, f"means[{i}]") for i, m in enumerate(means)]
    if len(means) < 2:
        raise ValueError(f"UDR compares models: give at least 2, got {len(means)}")
    logvars = [None] * len(means) if logvars is None else list(logvars)
    if len(logvars) != len(means):
        raise ValueError(f"got {len(means)} means but {len(logvars)} logvars")
    n = means[0].shape[0]
    for i, m in enumerate(means):
        if m.shape[0] != n:
            raise ValueError(f"means[{i}] has {m.shape[0]} rows but means[0] {n}: codes of the same inputs needed")
    keep = [informative_latents(m, lv, kl_threshold, f"logvars[{i}]") for i, (m, lv) in enumerate(zip(means, logvars))]
    codes = [m[:, k] for m, k in zip(means, keep)]
    out = np.full((len(means), len(means)), np.nan)
    for i in range(len(means)):
        for j in range(len(means)):
            if i == j or (method == "spearman" and j < i):
                continue
            out[i, j] = udr_pair(codes[i], codes[j], method, aggregate, seed)
            if method == "spearman":
                out[j, i] = out[i, j]
    return out


def udr_pair(codes_a: np.ndarray, codes_b: np.ndarray, method: str = "spearman", aggregate: str = "dlib",
             seed: int = 0) -> float:
    """UDR of one pair from the informative codes (N, d_a) and (N, d_b) of the same inputs."""
    if codes_a.shape[1] == 0 or codes_b.shape[1] == 0:
        return 0.0
    return relative_strength(similarity_matrix(codes_a, codes_b, method, seed), aggregate)


def similarity_matrix(codes_a: np.ndarray, codes_b: np.ndarray, method: str = "spearman",
                      seed: int = 0) -> np.ndarray:
    """R (d_a, d_b) >= 0: ``|Spearman rho|`` of each pair of columns, or ``|Lasso weight|`` of a -> b.

    Spearman's rho is Pearson's correlation of the ranks (ties get their mean rank); a constant
    column correlates 0 with everything. Lasso (alpha :data:`LASSO_ALPHA`, as dlib) regresses
    b's standardised codes on a's; ``R_ab = |weight of a in the fit of b|``.
    """
    if method == "spearman":
        from scipy.stats import rankdata

        ranks_a = _standardized(rankdata(codes_a, axis=0))
        ranks_b = _standardized(rankdata(codes_b, axis=0))
        return np.abs(ranks_a.T @ ranks_b) / codes_a.shape[0]
    if method == "lasso":
        from sklearn.linear_model import Lasso

        model = Lasso(alpha=LASSO_ALPHA, random_state=seed).fit(_standardized(codes_a), _standardized(codes_b))
        return np.abs(np.asarray(model.coef_).reshape(codes_b.shape[1], codes_a.shape[1])).T
    raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")


def relative_strength(matrix: np.ndarray, aggregate: str = "dlib") -> float:
    """The pair score of a non-negative similarity matrix R (d_a, d_b) (module docstring's formula).

    >>> relative_strength(np.eye(3)), relative_strength(np.ones((2, 2)))
    (1.0, 0.5)
    """
    def per_line(axis: int) -> np.ndarray:  # max^2 / sum along ``axis``; an all-zero line counts 0
        total = matrix.sum(axis=axis)
        peak = matrix.max(axis=axis)
        return np.divide(peak ** 2, total, out=np.zeros_like(total), where=total > 0)

    columns, rows = per_line(0), per_line(1)
    if aggregate == "dlib":
        return float((columns.mean() + rows.mean()) / 2)
    if aggregate == "paper":
        return float((columns.sum() + rows.sum()) / (columns.size + rows.size))
    raise ValueError(f"unknown aggregate {aggregate!r}; choose from {list(AGGREGATES)}")


def mean_kl(means: np.ndarray, logvars: np.ndarray) -> np.ndarray:
    """Mean over inputs of KL(N(mu, e^logvar) || N(0, 1)) per latent, (d,): 0.5 (mu^2 + e^lv - lv - 1)."""
    return np.mean(0.5 * (means ** 2 + np.exp(logvars) - logvars - 1.0), axis=0)


def informative_latents(means: np.ndarray, logvars: np.ndarray | None, kl_threshold: float = KL_THRESHOLD,
                        name: str = "logvars") -> np.ndarray:
    """Indices of the informative latents: mean KL > ``kl_threshold``, or (no logvars) a varying code."""
    if logvars is None:
        return np.flatnonzero(np.ptp(means, axis=0) > 0)
    logvars = check_codes(logvars, name)
    if logvars.shape != means.shape:
        raise ValueError(f"{name} has shape {logvars.shape} but its means {means.shape}")
    return np.flatnonzero(mean_kl(means, logvars) > kl_threshold)


def _standardized(x: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit (population) std; a constant column becomes 0."""
    x = x - x.mean(axis=0)
    std = x.std(axis=0)
    return x / np.where(std > 0, std, 1.0)


def _check_choice(name: str, value: Any, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose from {list(allowed)}")
