"""Disentanglement, Completeness and Informativeness (DCI).

Eastwood & Williams 2018, "A Framework for the Quantitative Evaluation of Disentangled
Representations", Section 2; disentanglement_lib's ``evaluation/metrics/dci.py``. One
classifier per factor v_k predicts it from all codes; its feature importances fill
column k of the importance matrix R (d, K). With P_jk = R_jk / sum_k R_jk,

.. math::
    D = \\sum_j \\rho_j \\big(1 - H_K(P_{j\\cdot})\\big), \\quad
    \\rho_j = \\frac{\\sum_k R_{jk}}{\\sum_{jk} R_{jk}},

C is the same on R transposed (base-d entropies over codes, weighted per factor), and
informativeness is the mean classification accuracy over factors, on train and test.

Importance estimators (``importance``):

- ``"gbt"`` (default, dlib): scikit-learn ``GradientBoostingClassifier()`` with default
  settings per factor. Exact dlib, but slow with many classes (it grows one tree per
  class per boosting round): minutes at 10000 points on factors with 32-40 values.
- ``"random_forest"``: ``RandomForestClassifier`` with ``forest_trees`` trees of depth
  :data:`FOREST_MAX_DEPTH` = 6 on all features (leaves of at least ``forest_min_leaf``
  points), impurity importances. Agreement with ``"gbt"`` (``benchmarks/metrics.py
  --agreement``: 2000/1000 points, 5 factors of 3-10 values, 7 representations from
  identity through mixtures and rotations to noise): ``|D_rf - D_gbt| <= 0.08`` (mean 0.02),
  ``|C| <= 0.07`` (mean 0.02), ``|informativeness| <= 0.08`` (mean 0.02), 14x faster (7 s
  against 101 s for those 35 fits).
  Fully grown trees (sklearn's default) disagree by up to 0.35: they split on noise and
  spread importance over every code.

Differences from dlib: dlib names the accuracies "loss"; the classifier seed is an
argument (dlib leaves GradientBoostingClassifier unseeded, so its numbers vary by run).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gwrep.data.base import FactorData

from .utils import Representation, check_positive_int, check_train_test, sample_train_test, with_settings

__all__ = ["dci", "compute_dci", "dci_importance", "compute_dci_importance", "importance_matrix",
           "disentanglement", "completeness",
           "IMPORTANCE_METHODS", "FAST"]

IMPORTANCE_METHODS = ("gbt", "random_forest")
#: Depth of the random-forest trees: part of the method's definition, like the boosted trees' depth 3
#: (the depth that agrees best with "gbt": 4 and 5 overrate, 8 and unlimited underrate disentanglement).
FOREST_MAX_DEPTH = 6

#: Cheap settings for in-training evaluation (dlib: num_train=10000, num_test=5000, gbt).
FAST: dict[str, Any] = {"num_train": 2000, "num_test": 1000, "importance": "random_forest"}


def compute_dci(represent: Representation, data: FactorData, num_train: int = 10000, num_test: int = 5000,
                batch_size: int = 16, importance: str = "gbt", forest_trees: int = 30,
                forest_min_leaf: int = 1, seed: int = 0) -> dict[str, Any]:
    """DCI of ``represent`` on train/test points sampled from ``data`` with ``seed``."""
    return compute_dci_importance(represent, data, num_train, num_test, batch_size, importance, forest_trees,
                                  forest_min_leaf, seed)[0]


def compute_dci_importance(represent: Representation, data: FactorData, num_train: int = 10000,
                           num_test: int = 5000, batch_size: int = 16, importance: str = "gbt",
                           forest_trees: int = 30, forest_min_leaf: int = 1,
                           seed: int = 0) -> tuple[dict[str, Any], np.ndarray]:
    """:func:`compute_dci` and the importance matrix R (d, K) behind it (for a heatmap)."""
    splits = sample_train_test(represent, data, num_train, num_test, batch_size, seed)
    out, matrix = dci_importance(*splits, importance=importance, forest_trees=forest_trees,
                                 forest_min_leaf=forest_min_leaf, seed=seed)
    out.update(with_settings({}, num_train=num_train, num_test=num_test, batch_size=batch_size))
    return out, matrix


def dci(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray, factors_test: np.ndarray,
        importance: str = "gbt", forest_trees: int = 30, forest_min_leaf: int = 1,
        seed: int = 0) -> dict[str, Any]:
    """DCI scores from codes (N, d) float and factors (N, K) int, train and test splits.

    Returns:
        ``disentanglement``, ``completeness``, ``informativeness_train``,
        ``informativeness_test`` (accuracies) and the settings.
    """
    return dci_importance(codes_train, factors_train, codes_test, factors_test, importance, forest_trees,
                          forest_min_leaf, seed)[0]


def dci_importance(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                   factors_test: np.ndarray, importance: str = "gbt", forest_trees: int = 30,
                   forest_min_leaf: int = 1, seed: int = 0) -> tuple[dict[str, Any], np.ndarray]:
    """:func:`dci` and the importance matrix R (d, K) behind it."""
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test)
    if importance not in IMPORTANCE_METHODS:
        raise ValueError(f"importance must be one of {IMPORTANCE_METHODS}, got {importance!r}")
    forest_trees = check_positive_int("forest_trees", forest_trees)
    forest_min_leaf = check_positive_int("forest_min_leaf", forest_min_leaf)
    matrix, acc_train, acc_test = importance_matrix(codes_train, factors_train, codes_test, factors_test,
                                                    importance, forest_trees, forest_min_leaf, seed)
    scores = {"disentanglement": disentanglement(matrix), "completeness": completeness(matrix),
              "informativeness_train": acc_train, "informativeness_test": acc_test}
    return with_settings(scores, importance=importance, forest_trees=forest_trees, forest_min_leaf=forest_min_leaf,
                         seed=seed), matrix


def importance_matrix(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                      factors_test: np.ndarray, importance: str = "gbt", forest_trees: int = 30,
                      forest_min_leaf: int = 1, seed: int = 0) -> tuple[np.ndarray, float, float]:
    """Importance R (d, K) and the mean train and test accuracies of the per-factor classifiers."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier  # lazy: cheap package import

    d, k = codes_train.shape[1], factors_train.shape[1]
    matrix = np.zeros((d, k))
    acc_train, acc_test = [], []
    for j in range(k):
        if importance == "gbt":
            model = GradientBoostingClassifier(random_state=seed)
        else:
            model = RandomForestClassifier(n_estimators=forest_trees, max_depth=FOREST_MAX_DEPTH,
                                           min_samples_leaf=forest_min_leaf, max_features=None, random_state=seed)
        model.fit(codes_train, factors_train[:, j])
        matrix[:, j] = np.abs(model.feature_importances_)
        acc_train.append(np.mean(model.predict(codes_train) == factors_train[:, j]))
        acc_test.append(np.mean(model.predict(codes_test) == factors_test[:, j]))
    return matrix, float(np.mean(acc_train)), float(np.mean(acc_test))


def _weighted_specificity(matrix: np.ndarray) -> float:
    """sum_j rho_j (1 - H_K(P_j.)) over the rows j of a nonnegative (d, K) matrix (Eq. 2-3).

    Entropies use base K with dlib's 1e-11 smoothing (K = 1: every row is fully specific);
    an all-zero matrix weighs rows equally.
    """
    if matrix.shape[1] == 1:
        per_row = np.ones(matrix.shape[0])
    else:
        p = matrix + 1e-11
        p = p / p.sum(axis=1, keepdims=True)
        per_row = 1.0 + np.sum(p * np.log(p), axis=1) / np.log(matrix.shape[1])
    total = matrix.sum()
    weights = matrix.sum(axis=1) / total if total > 0 else np.full(matrix.shape[0], 1.0 / matrix.shape[0])
    return float(np.sum(per_row * weights))


def disentanglement(matrix: np.ndarray) -> float:
    """D: how much each code concentrates on one factor, weighted by code importance.

    >>> print(round(disentanglement(np.hstack([np.eye(5), np.eye(5)])), 6), round(1 - np.log(2) / np.log(10), 6))
    0.69897 0.69897
    """
    return _weighted_specificity(matrix)


def completeness(matrix: np.ndarray) -> float:
    """C: how much each factor is captured by one code, weighted by factor importance.

    >>> print(round(completeness(np.vstack([np.eye(5), np.eye(5)])), 6), round(1 - np.log(2) / np.log(10), 6))
    0.69897 0.69897
    """
    return _weighted_specificity(matrix.T)
