"""Mutual Information Gap (MIG).

Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs", Section 4.1; the
estimator of disentanglement_lib (``evaluation/metrics/mig.py``): codes are discretized
by equal-width histograms (20 bins), and for each factor v_k

.. math::
    \\mathrm{MIG} = \\frac{1}{K} \\sum_k \\frac{I(c_{j^{(k)}}; v_k) - \\max_{j \\ne j^{(k)}} I(c_j; v_k)}{H(v_k)},
    \\qquad j^{(k)} = \\arg\\max_j I(c_j; v_k).

Differences from dlib: the bin count is an argument (dlib reads it from gin) and a
factor that is constant in the sample raises ValueError (dlib divides by H = 0).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gwrep.data.base import FactorData

from .utils import (Representation, check_codes_factors, check_positive_int, discrete_entropy,
                    discrete_mutual_info, histogram_discretize, sample_codes_factors, top_two_gap,
                    with_settings)

__all__ = ["mig", "compute_mig", "FAST"]

#: Cheap settings for in-training evaluation (dlib: num_train=10000).
FAST: dict[str, Any] = {"num_train": 2000}


def compute_mig(represent: Representation, data: FactorData, num_train: int = 10000,
                batch_size: int = 16, num_bins: int = 20, seed: int = 0) -> dict[str, Any]:
    """MIG of ``represent`` on ``num_train`` points sampled from ``data`` with ``seed``.

    Returns:
        ``{"discrete_mig": float, "settings.<knob>": ...}``.
    """
    codes, factors = sample_codes_factors(represent, data, num_train, np.random.default_rng(seed), batch_size)
    out = mig(codes, factors, num_bins=num_bins)
    out.update(with_settings({}, num_train=num_train, batch_size=batch_size, seed=seed))
    return out


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict[str, Any]:
    """MIG of ``codes`` (N, d) float against ``factors`` (N, K) int (deterministic).

    >>> f = np.repeat(np.arange(4), 5)[:, None]
    >>> round(mig(np.hstack([f, np.zeros_like(f)]).astype(float), f)["discrete_mig"], 6)
    1.0
    """
    codes, factors = check_codes_factors(codes, factors)
    num_bins = check_positive_int("num_bins", num_bins)
    entropy = discrete_entropy(factors)
    if np.any(entropy == 0):
        raise ValueError(f"factors {np.flatnonzero(entropy == 0).tolist()} are constant in the sample; "
                         "MIG normalizes by their entropy, which is 0")
    info = discrete_mutual_info(histogram_discretize(codes, num_bins), factors)
    return with_settings({"discrete_mig": top_two_gap(info / entropy)}, num_bins=num_bins)
