"""Separated Attribute Predictability (SAP).

Kumar et al. 2018, "Variational Inference of Disentangled Latent Concepts from Unlabeled
Observations", Section 3; disentanglement_lib's ``evaluation/metrics/sap_score.py``.
A score matrix S (d, K) rates how well each single code predicts each factor; SAP is
the mean over factors of the gap between the best and second-best code:

.. math::
    \\mathrm{SAP} = \\frac{1}{K} \\sum_k \\big(S_{(1)k} - S_{(2)k}\\big).

Discrete factors: S_jk is the test accuracy of a linear SVM (C = 0.01, balanced class
weights) trained on code j alone. Continuous factors: S_jk is the squared Pearson
correlation on the training points (0 for a constant code).

The discrete mode (the default, as dlib) does not pass the identity sanity check that the
continuous mode passes (>= 0.9). Measured here (``tests/test_metrics_sap.py``, 600/300
points, seed 0): identity codes on factors of sizes (4, 5, 6) score 0.21, a permuted and
rescaled identity 0.34, identity codes of binary factors 0.50, and noise 0.01 to 0.02.
Two reasons, both dlib's behaviour, not bugs of this port:

1. A factor read perfectly from its own code still has a second-best code, independent of
   it, that a balanced classifier reads at about chance 1/s_k, so even a perfect reader
   gives SAP <= mean_k (1 - 1/s_k): 0.5 for binary factors, 0.79 for sizes (4, 5, 6).
2. One-vs-rest linear SVMs on a single code separate the extreme values of a factor, not
   the middle ones, and C = 0.01 regularizes them hard on codes of small range: on codes
   in [0, 1] the own-code accuracies are 0.48, 0.39, 0.39 (C = 1 gives 1.0, 1.0, 0.69).
   SAP in this mode therefore depends on the scale of the codes.

dlib's own sanity test (``sap_score_test.py``) uses ``continuous_factors=True``. Compare
discrete-mode SAP only with discrete-mode SAP (``settings.continuous_factors`` records
the mode; ``gwrep eval`` prints and stores it).

Differences from dlib: the SVM solves the primal problem (``dual=False``), which is
exact and deterministic; dlib's scikit-learn default of its time (``dual=True``, 1000
iterations) often stopped before converging. The seed is passed to the SVM anyway.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gwrep.data.base import FactorData

from .utils import Representation, check_train_test, sample_train_test, top_two_gap, with_settings

__all__ = ["sap", "compute_sap", "sap_score_matrix", "FAST"]

#: Cheap settings for in-training evaluation (dlib: num_train=10000, num_test=5000).
FAST: dict[str, Any] = {"num_train": 2000, "num_test": 1000}


def compute_sap(represent: Representation, data: FactorData, num_train: int = 10000, num_test: int = 5000,
                batch_size: int = 16, continuous_factors: bool = False, seed: int = 0) -> dict[str, Any]:
    """SAP of ``represent`` on train/test points sampled from ``data`` with ``seed``."""
    splits = sample_train_test(represent, data, num_train, num_test, batch_size, seed)
    out = sap(*splits, continuous_factors=continuous_factors, seed=seed)
    out.update(with_settings({}, num_train=num_train, num_test=num_test, batch_size=batch_size))
    return out


def sap(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray,
        continuous_factors: bool = False, svm_c: float = 0.01, seed: int = 0) -> dict[str, Any]:
    """SAP from codes (N, d) float and factors (N, K) int, train and test splits.

    >>> rng = np.random.default_rng(0)
    >>> f = rng.integers(0, 4, size=(200, 2))  # codes = factors: squared correlations 1 and ~0
    >>> round(sap(f.astype(float), f, f.astype(float), f, continuous_factors=True)["SAP_score"], 3)
    0.999
    """
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test)
    if not isinstance(continuous_factors, (bool, np.bool_)):
        raise ValueError(f"continuous_factors must be a bool, got {continuous_factors!r}")
    if not svm_c > 0:
        raise ValueError(f"svm_c must be positive, got {svm_c!r}")
    scores = sap_score_matrix(codes_train, factors_train, codes_test, factors_test,
                              bool(continuous_factors), svm_c, seed)
    return with_settings({"SAP_score": top_two_gap(scores)}, continuous_factors=bool(continuous_factors),
                         svm_c=svm_c, seed=seed)


def sap_score_matrix(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                     factors_test: np.ndarray, continuous_factors: bool, svm_c: float = 0.01,
                     seed: int = 0) -> np.ndarray:
    """Predictability S (d, K) of each factor from each single code (Section 3)."""
    d, k = codes_train.shape[1], factors_train.shape[1]
    scores = np.zeros((d, k))
    for i in range(d):
        for j in range(k):
            if continuous_factors:
                scores[i, j] = _squared_correlation(codes_train[:, i], factors_train[:, j])
            else:
                scores[i, j] = _svm_accuracy(codes_train[:, i], factors_train[:, j], codes_test[:, i],
                                             factors_test[:, j], svm_c, seed)
    return scores


def _squared_correlation(code: np.ndarray, factor: np.ndarray) -> float:
    """cov(c, v)^2 / (var c var v), 0 when the code (or factor) is constant."""
    cov = np.cov(code, factor, ddof=1)
    if cov[0, 0] <= 1e-12 or cov[1, 1] <= 0:
        return 0.0
    return float(cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1]))


def _svm_accuracy(code_train: np.ndarray, factor_train: np.ndarray, code_test: np.ndarray,
                  factor_test: np.ndarray, svm_c: float, seed: int) -> float:
    """Test accuracy of a balanced LinearSVC on one code (a constant factor is predicted exactly)."""
    if np.unique(factor_train).size < 2:
        return float(np.mean(factor_test == factor_train[0]))
    from sklearn.svm import LinearSVC  # lazy: cheap package import

    svm = LinearSVC(C=svm_c, class_weight="balanced", dual=False, random_state=seed)
    svm.fit(code_train[:, None], factor_train)
    return float(np.mean(svm.predict(code_test[:, None]) == factor_test))
