"""Downstream task: how well, and from how few samples, simple classifiers read the factors off the codes.

Locatello et al. 2019, Section 5 ("Are disentangled representations useful for downstream
tasks?"), as disentanglement_lib's ``evaluation/metrics/downstream_task.py``: for each train
size n in (10, 100, 1000, 10000), one classifier per factor is fitted on n codes and tested on
``num_test`` = 5000 codes; the score is the test accuracy averaged over factors. The paper's
classifiers are a cross-validated logistic regression and gradient-boosted trees; its sample
efficiency is the accuracy at 100 samples divided by the accuracy at 10,000.

Classifiers, dlib's and this module's (``logreg`` and ``gbt`` are arguments; dlib's are the defaults):

============  ======================================================  =====================================
classifier    dlib (``utils.py``)                                     ``STUDY`` (gwrep's study settings)
============  ======================================================  =====================================
logreg        ``LogisticRegressionCV(Cs=10, cv=KFold(5))``, lbfgs,    ``Cs=4, KFold(3)``, ``max_iter=50``
              100 iterations
gbt           ``GradientBoostingClassifier()``: 100 rounds, depth 3,  ``HistGradientBoostingClassifier``:
              learning rate 0.1, exact splits, one tree per class     10 rounds, 15 leaves, rate 0.3,
              per round                                               256 bins, min 1 sample per leaf
============  ======================================================  =====================================

dlib's boosting grows one exact-split tree per class per round: on 10,000 codes of shapes2d's
113 classes (3 + 6 + 40 + 32 + 32) that is minutes per run on one CPU thread
(``benchmarks/study_scores.py`` measures it), against the issue's 30 s for every score of a
run; the histogram booster and the bounded cross-validation fit that budget. Their numbers are
the same kind (test accuracy of a boosted-tree / a regularised linear classifier) but not
dlib's to the digit.

Sampling: dlib draws a fresh train and test set for each train size; here one train pool of
max(train_sizes) points and one test set are drawn, and size n trains on the pool's first n
points (each still an i.i.d. sample of n), so four train sizes cost 15,000 observations, not
41,110, and every size is tested on the same points. A train set holding a single class of a
factor (possible at n = 10) gets the constant classifier that predicts that class (scikit-learn's
logistic regression refuses one class).
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from gwrep.data.base import FactorData

from .metrics.utils import (Representation, check_positive_int, check_train_test, sample_train_test, with_settings)

__all__ = ["compute_downstream", "downstream_task", "factor_accuracies", "make_classifier", "sample_efficiency",
           "CLASSIFIERS", "TRAIN_SIZES", "STUDY", "FAST"]

#: Classifier families: ``logreg`` (cross-validated logistic regression) and ``gbt`` (boosted trees).
CLASSIFIERS = ("logreg", "gbt")
#: dlib's train sizes (``unsupervised_study_v1/metric_configs/downstream_task_*.gin``).
TRAIN_SIZES = (10, 100, 1000, 10000)

#: Bounded classifiers for the study's 30 s per run (see the module docstring; dlib's sizes kept).
STUDY: dict[str, Any] = {"logreg_cs": 4, "logreg_folds": 3, "logreg_max_iter": 50, "gbt_kind": "hist",
                         "gbt_rounds": 10, "gbt_learning_rate": 0.3, "gbt_max_leaf_nodes": 15}
#: Cheap settings for quick checks: small sizes and the study's classifiers.
FAST: dict[str, Any] = {**STUDY, "train_sizes": (10, 100, 1000), "num_test": 1000}


def compute_downstream(represent: Representation, data: FactorData, train_sizes: Sequence[int] = TRAIN_SIZES,
                       num_test: int = 5000, batch_size: int = 16, seed: int = 0, **classifier: Any) -> dict[str, Any]:
    """Downstream accuracies of ``represent`` on ``data``: a pool of max(train_sizes) train and
    ``num_test`` test points drawn with ``seed``, then :func:`downstream_task` (``classifier``: its
    keyword arguments, e.g. ``**STUDY``).

    Returns:
        ``{"downstream_<clf>_acc_<n>", "downstream_<clf>_sample_efficiency", "settings.<knob>": ...}``.
    """
    sizes = _check_sizes(train_sizes)
    splits = sample_train_test(represent, data, max(sizes), num_test, batch_size, seed)
    out = downstream_task(*splits, train_sizes=sizes, seed=seed, **classifier)
    out.update(with_settings({}, batch_size=batch_size))
    return out


def downstream_task(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                    factors_test: np.ndarray, train_sizes: Sequence[int] = TRAIN_SIZES,
                    classifiers: Sequence[str] = CLASSIFIERS, logreg_cs: int = 10, logreg_folds: int = 5,
                    logreg_max_iter: int = 100, gbt_kind: str = "exact", gbt_rounds: int = 100,
                    gbt_learning_rate: float = 0.1, gbt_max_depth: int = 3, gbt_max_leaf_nodes: int = 31,
                    seed: int = 0) -> dict[str, Any]:
    """Mean test accuracy over factors for each classifier and train size, and sample efficiency.

    Args:
        codes_train: (M, d) train pool, M >= max(train_sizes); size n uses its first n rows.
        factors_train: (M, K) int factors of the pool.
        codes_test, factors_test: (T, d) and (T, K) test set.
        train_sizes: train sizes n; 100 and 10000 among them give the sample efficiency.
        classifiers: subset of :data:`CLASSIFIERS`.
        logreg_cs, logreg_folds, logreg_max_iter: ``LogisticRegressionCV`` grid size, K-fold
            count and lbfgs iteration limit (dlib: 10, 5, 100).
        gbt_kind: ``"exact"`` (dlib: ``GradientBoostingClassifier``, depth ``gbt_max_depth``) or
            ``"hist"`` (``HistGradientBoostingClassifier``, ``gbt_max_leaf_nodes`` leaves).
        gbt_rounds, gbt_learning_rate: boosting rounds and shrinkage (dlib: 100, 0.1).
        seed: random state of the boosted trees (dlib leaves it unset).

    Returns:
        ``{"downstream_<clf>_acc_<n>": float, "downstream_<clf>_sample_efficiency": float (when
        100 and 10000 are sizes), "settings.<knob>": ...}``.
    """
    ctr, ftr, cte, fte = check_train_test(codes_train, factors_train, codes_test, factors_test)
    sizes = _check_sizes(train_sizes)
    if max(sizes) > ctr.shape[0]:
        raise ValueError(f"train size {max(sizes)} exceeds the {ctr.shape[0]} train points given")
    unknown = sorted(set(classifiers) - set(CLASSIFIERS))
    if unknown or not classifiers:
        raise ValueError(f"classifiers must be a non-empty subset of {list(CLASSIFIERS)}, got {list(classifiers)}")
    options = dict(logreg_cs=logreg_cs, logreg_folds=logreg_folds, logreg_max_iter=logreg_max_iter,
                   gbt_kind=gbt_kind, gbt_rounds=gbt_rounds, gbt_learning_rate=gbt_learning_rate,
                   gbt_max_depth=gbt_max_depth, gbt_max_leaf_nodes=gbt_max_leaf_nodes)
    make_classifier("logreg", seed=seed, **options)  # bad options fail before any fit
    make_classifier("gbt", seed=seed, **options)
    scores: dict[str, float] = {}
    for name in classifiers:
        for n in sizes:
            acc = factor_accuracies(ctr[:n], ftr[:n], cte, fte, lambda: make_classifier(name, seed=seed, **options))
            scores[f"downstream_{name}_acc_{n}"] = float(np.mean(acc))
        if 100 in sizes and 10000 in sizes:
            scores[f"downstream_{name}_sample_efficiency"] = sample_efficiency(
                scores[f"downstream_{name}_acc_100"], scores[f"downstream_{name}_acc_10000"])
    return with_settings(scores, train_sizes=list(sizes), num_test=int(cte.shape[0]),
                         classifiers=list(classifiers), seed=seed, **options)


def factor_accuracies(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
                      factors_test: np.ndarray, make: Any) -> np.ndarray:
    """Test accuracy (K,) of one classifier ``make()`` per factor, fitted on the train split.

    A factor with a single class in the train split is predicted as that class.
    """
    out = np.empty(factors_train.shape[1])
    for k in range(factors_train.shape[1]):
        y = factors_train[:, k]
        if np.unique(y).size == 1:
            predicted = np.full(factors_test.shape[0], y[0])
        else:
            with warnings.catch_warnings():  # scikit-learn >= 1.8 announces default changes; ours are explicit
                warnings.simplefilter("ignore", FutureWarning)
                predicted = make().fit(codes_train, y).predict(codes_test)
        out[k] = np.mean(predicted == factors_test[:, k])
    return out


def sample_efficiency(acc_100: float, acc_10000: float) -> float:
    """Locatello et al. 2019's sample efficiency: accuracy with 100 samples over accuracy with 10,000.

    >>> sample_efficiency(0.45, 0.9)
    0.5
    """
    if acc_10000 <= 0:
        raise ValueError(f"sample efficiency divides by the accuracy at 10000 samples, which is {acc_10000}")
    return float(acc_100 / acc_10000)


def make_classifier(name: str, logreg_cs: int = 10, logreg_folds: int = 5, logreg_max_iter: int = 100,
                    gbt_kind: str = "exact", gbt_rounds: int = 100, gbt_learning_rate: float = 0.1,
                    gbt_max_depth: int = 3, gbt_max_leaf_nodes: int = 31, seed: int = 0) -> Any:
    """An unfitted scikit-learn classifier ``name`` (``"logreg"`` or ``"gbt"``) with these settings."""
    if name == "logreg":
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.model_selection import KFold

        return LogisticRegressionCV(Cs=check_positive_int("logreg_cs", logreg_cs),
                                    cv=KFold(n_splits=_check_folds(logreg_folds)),
                                    max_iter=check_positive_int("logreg_max_iter", logreg_max_iter),
                                    scoring="accuracy")  # dlib's (then default) choice of C; explicit, as 1.11 changes it
    if name != "gbt":
        raise ValueError(f"unknown classifier {name!r}; choose from {list(CLASSIFIERS)}")
    rounds = check_positive_int("gbt_rounds", gbt_rounds)
    if not gbt_learning_rate > 0:
        raise ValueError(f"gbt_learning_rate must be positive, got {gbt_learning_rate!r}")
    if gbt_kind == "exact":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(n_estimators=rounds, learning_rate=gbt_learning_rate,
                                          max_depth=check_positive_int("gbt_max_depth", gbt_max_depth),
                                          random_state=seed)
    if gbt_kind == "hist":
        from sklearn.ensemble import HistGradientBoostingClassifier

        leaves = check_positive_int("gbt_max_leaf_nodes", gbt_max_leaf_nodes)
        if leaves < 2:
            raise ValueError(f"gbt_max_leaf_nodes must be at least 2, got {leaves}")
        return HistGradientBoostingClassifier(max_iter=rounds, learning_rate=gbt_learning_rate, max_leaf_nodes=leaves,
                                              min_samples_leaf=1, early_stopping=False, random_state=seed)
    raise ValueError(f"unknown gbt_kind {gbt_kind!r}; choose 'exact' (dlib) or 'hist'")


def _check_folds(folds: Any) -> int:
    folds = check_positive_int("logreg_folds", folds)
    if folds < 2:
        raise ValueError(f"logreg_folds must be at least 2, got {folds}")
    return folds


def _check_sizes(train_sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(check_positive_int("train size", n) for n in train_sizes)
    if not sizes:
        raise ValueError("train_sizes is empty")
    return sizes
