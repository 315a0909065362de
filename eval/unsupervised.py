"""Unsupervised scores of a representation: no ground-truth factors needed.

Locatello et al. 2019 ("Challenging Common Assumptions in the Unsupervised Learning of
Disentangled Representations", Section 5 and Appendix C) report three scores computed from
the codes alone, as disentanglement_lib's ``evaluation/metrics/unsupervised_metrics.py``:

- Gaussian total correlation: KL between N(0, C) and N(0, diag C), C the empirical
  covariance of the codes (:func:`gaussian_total_correlation`);
- Gaussian Wasserstein correlation: the squared 2-Wasserstein distance between the same two
  Gaussians, and its normalised form, divided by tr C (:func:`gaussian_wasserstein_correlation`);
- mutual information score: the mean plug-in mutual information between pairs of distinct
  code dimensions, each discretised into equal-width bins (:func:`mutual_info_score`).

Three layers as :mod:`gwrep.eval.metrics`: :func:`compute_unsupervised` samples observations
and codes, :func:`unsupervised_scores` is the core on an (N, d) array, one helper per equation.
C is the unbiased sample covariance (``np.cov``, ddof 1), as dlib. Keys are dlib's names.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gwrep.data.base import FactorData

from .metrics.utils import (Representation, check_codes, check_positive_int, discrete_mutual_info,
                            histogram_discretize, sample_codes_factors, with_settings)

__all__ = ["compute_unsupervised", "unsupervised_scores", "gaussian_total_correlation",
           "gaussian_wasserstein_correlation", "mutual_info_score", "FAST", "SCORE_NAMES"]

#: Cheap settings for quick checks (dlib: num_train=10000, 20 bins).
FAST: dict[str, Any] = {"num_train": 2000}

#: The score keys :func:`unsupervised_scores` returns (dlib's names; the study table's columns).
SCORE_NAMES = ("gaussian_total_correlation", "gaussian_wasserstein_correlation",
               "gaussian_wasserstein_correlation_norm", "mutual_info_score")


def compute_unsupervised(represent: Representation, data: FactorData, num_train: int = 10000,
                         batch_size: int = 16, num_bins: int = 20, seed: int = 0) -> dict[str, Any]:
    """The unsupervised scores of ``represent`` on ``num_train`` observations sampled from ``data``.

    Returns:
        ``{"gaussian_total_correlation", "gaussian_wasserstein_correlation",
        "gaussian_wasserstein_correlation_norm", "mutual_info_score", "settings.<knob>": ...}``.
    """
    codes, _ = sample_codes_factors(represent, data, num_train, np.random.default_rng(seed), batch_size)
    out = unsupervised_scores(codes, num_bins=num_bins)
    out.update(with_settings({}, num_train=num_train, batch_size=batch_size, seed=seed))
    return out


def unsupervised_scores(codes: np.ndarray, num_bins: int = 20) -> dict[str, Any]:
    """The four unsupervised scores of ``codes`` (N, d) float (deterministic).

    A code dimension that is constant in the sample makes C singular on its diagonal, where
    total correlation is undefined (dlib returns NaN): ValueError names the dimensions.

    >>> rng = np.random.default_rng(0)
    >>> s = unsupervised_scores(rng.normal(size=(20000, 3)) * [1.0, 2.0, 3.0])
    >>> round(s["gaussian_total_correlation"], 2), round(s["gaussian_wasserstein_correlation_norm"], 3)
    (0.0, 0.0)
    """
    codes = check_codes(codes)
    num_bins = check_positive_int("num_bins", num_bins)
    if codes.shape[0] < 2:
        raise ValueError(f"the unsupervised scores need a covariance: give at least 2 points, got {codes.shape[0]}")
    if codes.shape[1] < 2:
        raise ValueError(f"the unsupervised scores compare code dimensions and need at least 2, got {codes.shape[1]}")
    cov = np.cov(codes, rowvar=False)
    constant = np.flatnonzero(np.diag(cov) <= 0)
    if constant.size:
        raise ValueError(f"code dimensions {constant.tolist()} are constant in the sample; the Gaussian total "
                         "correlation divides by their variance, which is 0")
    wasserstein = gaussian_wasserstein_correlation(cov)
    scores = {
        "gaussian_total_correlation": gaussian_total_correlation(cov),
        "gaussian_wasserstein_correlation": wasserstein,
        "gaussian_wasserstein_correlation_norm": wasserstein / float(np.trace(cov)),
        "mutual_info_score": mutual_info_score(codes, num_bins),
    }
    return with_settings(scores, num_bins=num_bins, num_points=codes.shape[0])


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """Total correlation of N(0, C): KL(N(0, C) || N(0, diag C)) in nats.

    With equal means the KL of two Gaussians reduces to
    0.5 (tr(D^-1 C) - d + log det D - log det C), and tr(D^-1 C) = d for D = diag C, so

    .. math:: \\mathrm{TC} = \\tfrac12 \\Big(\\sum_i \\log C_{ii} - \\log\\det C\\Big) \\ge 0.

    >>> print(round(gaussian_total_correlation(np.array([[1.0, 0.5], [0.5, 1.0]])), 6), round(-0.5 * np.log(0.75), 6))
    0.143841 0.143841
    """
    return float(0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1]))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """Squared 2-Wasserstein distance between N(0, C) and N(0, D), D = diag C.

    Between zero-mean Gaussians W2^2 = tr C + tr D - 2 tr (D^1/2 C D^1/2)^1/2 (Dowson &
    Landau 1982); tr D = tr C, so

    .. math:: \\mathrm{WC} = 2\\,\\mathrm{tr}\\,C - 2 \\sum_i \\sqrt{\\lambda_i(D^{1/2} C D^{1/2})}.

    dlib writes the last trace as tr sqrtm(D C), the same number (D C is similar to
    D^1/2 C D^1/2); the symmetric form here takes an eigendecomposition instead of a
    general matrix square root, and rounding negatives of a PSD matrix are clipped to 0.

    >>> round(gaussian_wasserstein_correlation(np.diag([1.0, 4.0])), 12)
    0.0
    """
    root = np.sqrt(np.diag(cov))
    eig = np.linalg.eigvalsh(cov * root[:, None] * root[None, :])
    return float(2.0 * np.trace(cov) - 2.0 * np.sum(np.sqrt(np.clip(eig, 0.0, None))))


def mutual_info_score(codes: np.ndarray, num_bins: int = 20) -> float:
    """Mean plug-in mutual information (nats) over ordered pairs of distinct code dimensions.

    Each column is discretised into ``num_bins`` equal-width bins (dlib's histogram
    discretiser), then

    .. math:: \\mathrm{MI} = \\frac{1}{d(d-1)} \\sum_{i \\ne j} I(\\bar c_i; \\bar c_j).

    >>> c = np.repeat(np.arange(4.0), 5)[:, None]
    >>> print(round(mutual_info_score(np.hstack([c, c])), 6), round(float(np.log(4)), 6))
    1.386294 1.386294
    """
    discrete = histogram_discretize(codes, num_bins)
    matrix = discrete_mutual_info(discrete, discrete)
    np.fill_diagonal(matrix, 0.0)
    d = codes.shape[1]
    return float(np.sum(matrix) / (d * d - d))
