"""Modularity and explicitness.

Ridgeway & Mozer 2018, "Learning Deep Disentangled Embeddings With the F-Statistic
Loss", Section 3; disentanglement_lib's ``evaluation/metrics/modularity_explicitness.py``.

Modularity: with m_jk the mutual information between histogram-discretized code j and
factor k (training split, 20 bins) and theta_j = max_k m_jk,

.. math::
    \\mathrm{modularity} = \\frac{1}{d} \\sum_j \\Big(1 - \\frac{\\sum_k m_{jk}^2 - \\theta_j^2}{\\theta_j^2 (K - 1)}\\Big),

a code with no information scoring 0. Explicitness: per factor, the one-vs-rest ROC-AUC
averaged over classes of a logistic regression from all standardized codes, mean over
factors, on train and test.

Chance levels (what codes of pure noise score; neither is 0, and neither meets the
"noise <= 0.2" of a sanity check, so the tests assert these levels instead):

- Explicitness: 0.5, the ROC-AUC of a score independent of the class.
- Modularity: set by the factor sizes, not by the number of points N. Noise carries no
  information, but the plug-in MI of a B-bin code and an s_k-valued factor is positive:
  2N m_jk is about chi-square with (B - 1)(s_k - 1) degrees of freedom, of mean
  (B - 1)(s_k - 1) / (2N) (the Miller-Madow bias). Modularity is a ratio of MIs, so N
  cancels, and noise scores the modularity of the bias profile m_jk ~ s_k - 1 spread by
  the chi-square noise. Measured on 200 noise codes (20 bins, 600 and 6000 points): 0.47-0.48
  for factor sizes (4, 5, 6) (the profile (3, 4, 5) alone gives 0.5), 0.28 for (5, 5, 5),
  0.21 for (10, 10, 10), 0.45-0.48 for three binary factors; the score of a few noise
  codes scatters around those (0.36-0.63 for 3 codes on (4, 5, 6)). dlib's own low-modularity
  test is a different case: each point's factors in a random order (equal MI with every
  factor, modularity near 0). Modularity does not measure informativeness: read it with
  explicitness.

Differences from dlib: classes are binarized against the classifier's own classes and a
class absent from a split is skipped (dlib's binarizer misaligns the columns, or fails,
when a split lacks a class); a constant code is not divided by its zero std; K = 1 gives
modularity 1 for informative codes (dlib divides by K - 1 = 0).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gwrep.data.base import FactorData

from .utils import (Representation, check_positive_int, check_train_test, discrete_mutual_info,
                    histogram_discretize, normalize_codes, sample_train_test, with_settings)

__all__ = ["modularity_explicitness", "compute_modularity_explicitness", "modularity", "explicitness", "FAST"]

#: Cheap settings for in-training evaluation (dlib: num_train=10000, num_test=5000).
FAST: dict[str, Any] = {"num_train": 2000, "num_test": 1000}


def compute_modularity_explicitness(represent: Representation, data: FactorData, num_train: int = 10000,
                                    num_test: int = 5000, batch_size: int = 16, num_bins: int = 20,
                                    seed: int = 0) -> dict[str, Any]:
    """Modularity and explicitness of ``represent`` on points sampled from ``data`` with ``seed``."""
    splits = sample_train_test(represent, data, num_train, num_test, batch_size, seed)
    out = modularity_explicitness(*splits, num_bins=num_bins)
    out.update(with_settings({}, num_train=num_train, num_test=num_test, batch_size=batch_size, seed=seed))
    return out


def modularity_explicitness(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                            factors_test: np.ndarray, num_bins: int = 20) -> dict[str, Any]:
    """Modularity (train split) and explicitness (train, test) from codes (N, d) and factors (N, K).

    Deterministic (lbfgs logistic regression), so it takes no seed.
    """
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test)
    num_bins = check_positive_int("num_bins", num_bins)
    info = discrete_mutual_info(histogram_discretize(codes_train, num_bins), factors_train)
    train_norm, mean, std = normalize_codes(codes_train)
    test_norm = normalize_codes(codes_test, mean, std)[0]
    per_factor = [explicitness(train_norm, factors_train[:, k], test_norm, factors_test[:, k])
                  for k in range(factors_train.shape[1])]
    scores = {"modularity_score": modularity(info),
              "explicitness_score_train": float(np.mean([p[0] for p in per_factor])),
              "explicitness_score_test": float(np.mean([p[1] for p in per_factor]))}
    return with_settings(scores, num_bins=num_bins)


def modularity(info: np.ndarray) -> float:
    """Mean modularity of the codes from mutual information ``info`` (d, K) (Section 3).

    >>> modularity(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))  # two modular codes, one empty
    0.6666666666666666
    """
    squared = np.square(info)
    top = squared.max(axis=1)
    k = squared.shape[1]
    score = np.zeros(info.shape[0])
    informative = top > 0
    if k == 1:
        score[informative] = 1.0
    else:
        deviation = (squared.sum(axis=1)[informative] - top[informative]) / (top[informative] * (k - 1))
        score[informative] = 1.0 - deviation
    return float(np.mean(score))


def explicitness(codes_train: np.ndarray, factor_train: np.ndarray, codes_test: np.ndarray,
                 factor_test: np.ndarray) -> tuple[float, float]:
    """Class-averaged one-vs-rest ROC-AUC (train, test) of a logistic regression on all codes."""
    from sklearn.linear_model import LogisticRegression  # lazy: cheap package import

    classes = np.unique(factor_train)
    if classes.size < 2:
        raise ValueError("explicitness needs a factor with at least two values in the training split")
    clf = LogisticRegression().fit(codes_train, factor_train)
    return _mean_auc(factor_train, clf.predict_proba(codes_train), clf.classes_), \
        _mean_auc(factor_test, clf.predict_proba(codes_test), clf.classes_)


def _mean_auc(labels: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean over the classes present (with positives and negatives) of one-vs-rest ROC-AUC."""
    from sklearn.metrics import roc_auc_score

    aucs = []
    for c, cls in enumerate(classes):
        positive = labels == cls
        if positive.any() and not positive.all():
            aucs.append(roc_auc_score(positive, proba[:, c]))
    if not aucs:
        raise ValueError("explicitness: no class of the factor has both positive and negative points")
    return float(np.mean(aucs))
