"""gwrep.eval.downstream: perfect and useless codes, dlib's per-factor loop re-derived, sample efficiency."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from metrics_data import IdentityFactorData, identity
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import KFold

from gwrep.eval.downstream import (FAST, STUDY, compute_downstream, downstream_task, factor_accuracies,
                                   make_classifier, sample_efficiency)

SIZES = (3, 4, 5)


def factor_draw(n: int, seed: int, sizes=SIZES) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(s, size=n) for s in sizes], axis=1)


def test_codes_equal_to_the_factors_are_read_perfectly():
    f_train, f_test = factor_draw(1000, 0), factor_draw(1000, 1)
    out = downstream_task(f_train.astype(float), f_train, f_test.astype(float), f_test, train_sizes=(100, 1000),
                          **STUDY)
    assert out["downstream_gbt_acc_1000"] == 1.0 and out["downstream_gbt_acc_100"] > 0.97
    assert out["downstream_logreg_acc_1000"] > 0.97


def test_noise_codes_score_chance():
    rng = np.random.default_rng(0)
    f_train, f_test = factor_draw(1000, 2), factor_draw(4000, 3)
    out = downstream_task(rng.normal(size=(1000, 4)), f_train, rng.normal(size=(4000, 4)), f_test,
                          train_sizes=(10, 1000), **STUDY)
    chance = np.mean([1 / s for s in SIZES])  # 0.283; binomial spread of a 4000-point accuracy ~0.007
    for key in ("downstream_logreg_acc_1000", "downstream_gbt_acc_1000", "downstream_logreg_acc_10"):
        assert out[key] == pytest.approx(chance, abs=0.04)


def test_sample_efficiency_is_acc_100_over_acc_10000():
    rng = np.random.default_rng(1)
    f = factor_draw(12000, 4)
    codes = f + rng.normal(scale=0.6, size=f.shape)
    out = downstream_task(codes[:10000], f[:10000], codes[10000:], f[10000:], classifiers=("logreg",),
                          logreg_cs=2, logreg_folds=2, logreg_max_iter=20)
    assert out["downstream_logreg_sample_efficiency"] == out["downstream_logreg_acc_100"] / out["downstream_logreg_acc_10000"]
    assert "downstream_gbt_acc_100" not in out
    assert sample_efficiency(0.3, 0.6) == 0.5
    with pytest.raises(ValueError, match="divides by the accuracy"):
        sample_efficiency(0.3, 0.0)


def test_matches_dlibs_per_factor_loop_on_identical_arrays():
    """dlib's _compute_loss: one logistic regression per factor, mean test accuracy; train size n takes the
    pool's first n points (a small C grid here: the loop is under test, the defaults below)."""
    rng = np.random.default_rng(2)
    f_train, f_test = factor_draw(80, 5), factor_draw(100, 6)
    c_train, c_test = f_train + rng.normal(size=f_train.shape), f_test + rng.normal(size=f_test.shape)
    out = downstream_task(c_train, f_train, c_test, f_test, train_sizes=(40, 80), classifiers=("logreg",),
                          logreg_cs=3, logreg_folds=4)
    for n in (40, 80):
        acc = []
        for k in range(len(SIZES)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = LogisticRegressionCV(Cs=3, cv=KFold(n_splits=4), scoring="accuracy")
                model.fit(c_train[:n], f_train[:n, k])
            acc.append(np.mean(model.predict(c_test) == f_test[:, k]))
        assert out[f"downstream_logreg_acc_{n}"] == pytest.approx(np.mean(acc), abs=1e-12)


def test_default_classifiers_are_dlibs():
    """dlib's utils.py: LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5)); GradientBoostingClassifier()."""
    from sklearn.ensemble import GradientBoostingClassifier

    logreg = make_classifier("logreg")
    assert isinstance(logreg, LogisticRegressionCV) and logreg.Cs == 10 and logreg.cv.n_splits == 5
    assert logreg.max_iter == LogisticRegressionCV().max_iter
    gbt = make_classifier("gbt")
    default = GradientBoostingClassifier()
    assert isinstance(gbt, GradientBoostingClassifier)
    assert (gbt.n_estimators, gbt.learning_rate, gbt.max_depth) == (default.n_estimators, default.learning_rate,
                                                                     default.max_depth)


def test_hist_boosting_agrees_with_dlibs_boosting_on_easy_codes():
    rng = np.random.default_rng(3)
    f_train, f_test = factor_draw(500, 7), factor_draw(500, 8)
    c_train, c_test = f_train + 0.3 * rng.normal(size=f_train.shape), f_test + 0.3 * rng.normal(size=f_test.shape)
    exact = factor_accuracies(c_train, f_train, c_test, f_test, lambda: make_classifier("gbt", gbt_rounds=30))
    hist = factor_accuracies(c_train, f_train, c_test, f_test, lambda: make_classifier("gbt", **STUDY))
    np.testing.assert_allclose(hist, exact, atol=0.04)


def test_a_single_class_train_set_predicts_that_class():
    f_train = np.array([[1, 0], [1, 1], [1, 0], [1, 1]])
    f_test = np.array([[1, 0], [0, 1], [1, 1], [2, 0]])
    codes = np.arange(8.0).reshape(4, 2)
    acc = factor_accuracies(codes, f_train, codes, f_test, lambda: make_classifier("gbt", **STUDY))
    assert acc[0] == 0.5  # factor 0 is always 1 in the train split: right on half the test points


def test_compute_downstream_samples_a_pool_and_echoes_settings():
    data = IdentityFactorData(SIZES)
    options = {**FAST, "train_sizes": (10, 200), "num_test": 200}
    out = compute_downstream(identity, data, seed=0, **options)
    assert out["settings.train_sizes"] == [10, 200] and out["settings.num_test"] == 200
    assert out["settings.gbt_kind"] == "hist" and out["settings.logreg_cs"] == STUDY["logreg_cs"]
    assert out["downstream_gbt_acc_200"] == 1.0
    assert "downstream_gbt_sample_efficiency" not in out  # 100 and 10000 are not among the sizes
    assert compute_downstream(identity, data, seed=0, **options) == out


def test_bad_arguments_fail_with_a_clear_message():
    f = factor_draw(50, 9)
    c = f.astype(float)
    with pytest.raises(ValueError, match="exceeds the 50 train points"):
        downstream_task(c, f, c, f, train_sizes=(100,))
    with pytest.raises(ValueError, match="classifiers must be"):
        downstream_task(c, f, c, f, train_sizes=(10,), classifiers=("svm",))
    with pytest.raises(ValueError, match="gbt_kind"):
        downstream_task(c, f, c, f, train_sizes=(10,), gbt_kind="xgboost")
    with pytest.raises(ValueError, match="logreg_folds"):
        downstream_task(c, f, c, f, train_sizes=(10,), logreg_folds=1)
    with pytest.raises(ValueError, match="codes_test have 50 points but factors_test 49"):
        downstream_task(c, f, c, f[:49], train_sizes=(10,))
