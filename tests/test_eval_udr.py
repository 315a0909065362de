"""gwrep.eval.udr: invariances, noise, closed forms and disentanglement_lib's definitions re-derived here."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.linear_model import Lasso

from gwrep.eval.udr import (LASSO_ALPHA, informative_latents, mean_kl, pairwise_udr, relative_strength,
                            similarity_matrix, udr_pair, udr_scores)
from gwrep.models.losses import kl_normal_standard


def codes(n: int = 1000, d: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def dlib_relative_strength(corr: np.ndarray) -> float:
    """dlib's relative_strength_disentanglement, written out with its nan_to_num."""
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.nanmean(np.nan_to_num(np.power(np.max(corr, axis=0), 2) / np.sum(corr, axis=0), 0))
        y = np.nanmean(np.nan_to_num(np.power(np.max(corr, axis=1), 2) / np.sum(corr, axis=1), 0))
    return (x + y) / 2


@pytest.mark.parametrize("method", ["spearman", "lasso"])
def test_same_representation_up_to_permutation_and_sign(method):
    """Permuted, sign-flipped, rescaled codes score as the codes themselves. Spearman: near 1, less the
    sample correlations of independent latents (each |r| ~ sqrt(2 / (pi N)) in a column's sum). Lasso on
    standardised codes shrinks each matched weight to 1 - alpha and the others to 0: UDR 1 - alpha."""
    a = codes(20000)
    perm = [3, 0, 4, 1, 2]
    b = -2.5 * a[:, perm] + 7.0
    assert udr_pair(a, b, method) == pytest.approx(udr_pair(a, a, method), abs=1e-9)
    if method == "spearman":
        assert 1 / (1 + 4 * 3 * np.sqrt(2 / (np.pi * 20000))) < udr_pair(a, a) <= 1.0
    else:
        assert udr_pair(a, a, method) == pytest.approx(1 - LASSO_ALPHA, abs=2e-3)


def test_spearman_is_invariant_to_monotone_maps():
    a = codes()
    b = np.hstack([np.exp(a[:, [2]]), a[:, [0]] ** 3, -np.tanh(a[:, [1]]), a[:, 3:]])
    a_perm = a[:, [2, 0, 1, 3, 4]]
    assert udr_pair(a, b) == pytest.approx(udr_pair(a, a_perm), abs=1e-12)


@pytest.mark.parametrize("method", ["spearman", "lasso"])
def test_independent_representations_score_near_zero(method):
    assert udr_pair(codes(2000, seed=1), codes(2000, seed=2), method) < 0.05


def test_entangled_representation_scores_between():
    """A rotation mixes every latent: each pair of latents correlates, no single one dominates."""
    a = codes(4000, 2, seed=3)
    rotated = a @ np.array([[1.0, 1.0], [-1.0, 1.0]]) / np.sqrt(2)
    assert 0.3 < udr_pair(a, rotated) < 0.7


def test_relative_strength_closed_forms():
    assert relative_strength(np.eye(4)) == 1.0
    # uniform R = c: every line gives c^2 / (3 c) = c / 3 (not scale-free: R is a correlation, in [0, 1])
    assert relative_strength(np.full((3, 3), 0.2)) == pytest.approx(0.2 / 3)
    # R = [[1, 0.5]]: columns 1/1 and 0.25/0.5, row 1/1.5
    r = np.array([[1.0, 0.5]])
    assert relative_strength(r, "dlib") == pytest.approx(((1 + 0.5) / 2 + 1 / 1.5) / 2)
    assert relative_strength(r, "paper") == pytest.approx((1 + 0.5 + 1 / 1.5) / 3)
    # a zero column counts 0, as dlib's nan_to_num
    z = np.array([[0.8, 0.0], [0.1, 0.0]])
    assert relative_strength(z) == pytest.approx(dlib_relative_strength(z))


def test_relative_strength_matches_dlib_on_random_matrices():
    rng = np.random.default_rng(5)
    for shape in ((4, 4), (3, 6), (6, 2)):
        r = rng.uniform(size=shape)
        assert relative_strength(r) == pytest.approx(dlib_relative_strength(r), rel=1e-12)


def test_similarity_matrices_match_scipy_and_sklearn():
    """dlib's spearman_correlation_conv (|spearmanr| per pair) and lasso_correlation_matrix (|coef|^T)."""
    rng = np.random.default_rng(6)
    a = codes(500, 4, seed=6)
    b = np.hstack([a[:, :2] + 0.5 * rng.normal(size=(500, 2)), rng.normal(size=(500, 3))])
    b[:10, 0] = b[10, 0]  # ties: mean ranks
    ref = np.array([[abs(spearmanr(a[:, i], b[:, j])[0]) for j in range(5)] for i in range(4)])
    np.testing.assert_allclose(similarity_matrix(a, b, "spearman"), ref, atol=1e-12)
    sa, sb = (a - a.mean(0)) / a.std(0), (b - b.mean(0)) / b.std(0)
    lasso = np.abs(Lasso(alpha=0.1, random_state=0).fit(sa, sb).coef_).T
    np.testing.assert_allclose(similarity_matrix(a, b, "lasso"), lasso, atol=1e-12)


def test_mean_kl_matches_the_models_kl():
    rng = np.random.default_rng(7)
    mu, lv = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    ref = kl_normal_standard(torch.as_tensor(mu), torch.as_tensor(lv)).mean(0).numpy()
    np.testing.assert_allclose(mean_kl(mu, lv), ref, rtol=1e-12)


def test_uninformative_latents_are_dropped_by_their_kl():
    """Two models share 3 latents; each adds 2 collapsed ones (mean ~0, logvar ~0: KL ~0) holding noise."""
    rng = np.random.default_rng(8)
    shared = codes(1000, 3, seed=8)
    means = [np.hstack([shared, 1e-3 * rng.normal(size=(1000, 2))]),
             np.hstack([-shared[:, ::-1], 1e-3 * rng.normal(size=(1000, 2))])]
    logvars = [np.hstack([np.full((1000, 3), -4.0), np.zeros((1000, 2))]) for _ in means]
    np.testing.assert_array_equal(informative_latents(means[0], logvars[0]), [0, 1, 2])
    kept = udr_pair(shared, -shared[:, ::-1])
    assert kept > 0.9 and udr_scores(means, logvars) == pytest.approx([kept, kept], abs=1e-12)
    # with no threshold the noise latents stay and lower the score
    assert udr_scores(means, logvars, kl_threshold=-1.0)[0] < 0.9
    # without log-variances every varying latent counts
    np.testing.assert_array_equal(informative_latents(means[0], None), [0, 1, 2, 3, 4])


def test_model_score_is_the_median_over_its_pairs():
    a = codes(800, 4, seed=9)
    means = [a, a[:, ::-1], codes(800, 4, seed=10), -a]
    pair = pairwise_udr(means)
    assert np.all(np.isnan(np.diag(pair)))
    np.testing.assert_allclose(pair, pair.T)  # Spearman: symmetric
    scores = udr_scores(means)
    for m in range(4):
        assert scores[m] == pytest.approx(np.median(np.delete(pair[:, m], m)))
    assert scores[0] > 0.85 and scores[2] < 0.05


def test_lasso_pairs_are_scored_in_both_orders():
    a = codes(600, 3, seed=11)
    b = np.hstack([a[:, :2] @ np.array([[1.0, 0.3], [0.0, 1.0]]), codes(600, 1, seed=12)])
    pair = pairwise_udr([a, b], method="lasso")
    assert pair[0, 1] == pytest.approx(udr_pair(a, b, "lasso"))
    assert pair[1, 0] == pytest.approx(udr_pair(b, a, "lasso"))


def test_a_model_without_informative_latents_scores_zero():
    a = codes(100, 3)
    assert udr_pair(a, a[:, :0]) == 0.0
    collapsed = np.zeros((100, 3))
    assert udr_scores([a, collapsed], [np.full((100, 3), -3.0), np.zeros((100, 3))]) == [0.0, 0.0]


def test_bad_inputs_fail_with_a_clear_message():
    a = codes(100, 3)
    with pytest.raises(ValueError, match="at least 2"):
        udr_scores([a])
    with pytest.raises(ValueError, match="means\\[1\\] has 50 rows"):
        udr_scores([a, a[:50]])
    with pytest.raises(ValueError, match="unknown method"):
        udr_scores([a, a], method="pearson")
    with pytest.raises(ValueError, match="2 means but 1 logvars"):
        udr_scores([a, a], [None])
    with pytest.raises(ValueError, match="logvars\\[0\\] has shape"):
        udr_scores([a, a], [a[:, :2], None])
