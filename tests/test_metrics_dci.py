"""Tests of gwrep.eval.metrics.dci (eval/metrics/dci.py): disentanglement, completeness, informativeness."""
from __future__ import annotations

import numpy as np
import pytest
from metrics_data import IdentityFactorData, identity, noise, permuted_rescaled
from sklearn.ensemble import GradientBoostingClassifier

from gwrep.eval.metrics.dci import compute_dci, completeness, dci, disentanglement, importance_matrix

DATA = IdentityFactorData((2, 3, 4))  # few classes: gradient boosting grows one tree per class and round
SCORES = ("disentanglement", "completeness", "informativeness_train", "informativeness_test")
HALF = 1.0 - np.log(2) / np.log(10)  # entropy of an even split over 2 of 10 outcomes, base 10


# closed forms of disentanglement_lib's dci_test.py
@pytest.mark.parametrize("matrix, d, c", [
    (np.diag(5.0 * np.ones(5)), 1.0, 1.0),
    (np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), 1.0, 1.0),   # an empty code
    (np.zeros((10, 10)), 0.0, 0.0),
    (np.vstack([np.diag(5.0 * np.ones(5))] * 2), 1.0, HALF),       # redundant codes
    (np.diag(5.0 * np.ones(5))[:2], 1.0, 1.0),                     # missed factors
    (np.hstack([np.diag(5.0 * np.ones(5))] * 2), HALF, 1.0),       # one code serves two factors
])
def test_closed_forms(matrix, d, c):
    assert disentanglement(matrix) == pytest.approx(d, abs=1e-7)
    assert completeness(matrix) == pytest.approx(c, abs=1e-7)


def test_importance_matrix_matches_sklearn_gbt():
    rng = np.random.default_rng(0)
    f = DATA.sample_factors(100, rng)[:, :2]
    codes = f + rng.normal(size=f.shape)
    matrix, acc_train, acc_test = importance_matrix(codes, f, codes, f, "gbt", seed=3)
    for j in range(2):
        model = GradientBoostingClassifier(random_state=3).fit(codes, f[:, j])
        np.testing.assert_allclose(matrix[:, j], model.feature_importances_)
    assert acc_train == acc_test


@pytest.mark.parametrize("represent, importance", [
    (identity, "random_forest"), (permuted_rescaled(3), "random_forest"), (permuted_rescaled(3), "gbt"),
], ids=["identity-forest", "permuted-forest", "permuted-gbt"])
def test_identity_representations_score_high(represent, importance):
    out = compute_dci(represent, DATA, 300, 150, importance=importance, forest_trees=20)
    assert all(out[k] >= 0.9 for k in SCORES), out


@pytest.mark.parametrize("importance", ["gbt", "random_forest"])
def test_noise_scores_low(importance):
    out = compute_dci(noise(3), DATA, 300, 150, importance=importance, forest_trees=20)
    assert out["disentanglement"] <= 0.2 and out["completeness"] <= 0.2
    assert out["informativeness_test"] <= 0.5  # chance: (1/2 + 1/3 + 1/4) / 3 = 0.36


def test_duplicated_codes_halve_completeness():
    out = compute_dci(lambda x: np.hstack([identity(x)] * 2), DATA, 300, 150)
    assert out["disentanglement"] >= 0.9
    assert out["completeness"] == pytest.approx(HALF, abs=0.1)


def test_invariant_to_permuting_codes():
    rng = np.random.default_rng(1)
    f = DATA.sample_factors(300, rng)
    codes = f @ rng.normal(size=(3, 4)) + 0.5 * rng.normal(size=(300, 4))
    perm = [3, 0, 2, 1]
    for importance in ("gbt", "random_forest"):
        a = dci(codes[:200], f[:200], codes[200:], f[200:], importance, forest_trees=20)
        b = dci(codes[:200, perm], f[:200], codes[200:, perm], f[200:], importance, forest_trees=20)
        for key in SCORES:  # trees break ties between features in a seeded random order: close, not equal
            assert a[key] == pytest.approx(b[key], abs=0.03), (importance, key)


def test_seeded_and_rejects_bad_input():
    rng = np.random.default_rng(2)
    f = DATA.sample_factors(100, rng)
    codes = rng.normal(size=(100, 3))
    assert dci(codes, f, codes, f, "random_forest", 5, seed=1) == dci(codes, f, codes, f, "random_forest", 5, seed=1)
    with pytest.raises(ValueError, match="importance must be one of"):
        dci(codes, f, codes, f, importance="lasso")
    with pytest.raises(ValueError, match="forest_trees"):
        dci(codes, f, codes, f, importance="random_forest", forest_trees=0)


def test_random_forest_agrees_with_gradient_boosting():
    # the fast option's documented agreement (benchmarks/metrics.py --agreement: within 0.08 at
    # 2000 points); at 300 training points allow 0.12
    rng = np.random.default_rng(0)
    f = DATA.sample_factors(450, rng)
    z = f / np.array([1.0, 2.0, 3.0])
    for codes in (z @ (np.eye(3) + 0.3 * rng.normal(size=(3, 3))), z + 0.2 * rng.normal(size=z.shape)):
        gbt = dci(codes[:300], f[:300], codes[300:], f[300:], "gbt")
        forest = dci(codes[:300], f[:300], codes[300:], f[300:], "random_forest")
        for key in SCORES:
            assert forest[key] == pytest.approx(gbt[key], abs=0.12), key
