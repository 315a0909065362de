"""gwrep.eval.unsupervised against closed forms, POT and disentanglement_lib's definitions re-derived here."""
from __future__ import annotations

import numpy as np
import ot
import pytest
import scipy.linalg
from metrics_data import IdentityFactorData, identity
from sklearn.metrics import mutual_info_score as sk_mutual_info

from gwrep.eval.unsupervised import (FAST, compute_unsupervised, gaussian_total_correlation,
                                     gaussian_wasserstein_correlation, mutual_info_score, unsupervised_scores)


def random_cov(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def dlib_tc_by_kl(cov: np.ndarray) -> float:
    """dlib's test oracle: the textbook KL(N(0, C) || N(0, diag C)) with det and inv."""
    diag = np.diag(np.diag(cov))
    inv = np.linalg.inv(diag)
    return 0.5 * (np.trace(inv @ cov) - cov.shape[0] + np.log(np.linalg.det(diag) / np.linalg.det(cov)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_total_correlation_is_the_kl_to_the_product_of_marginals(seed):
    cov = random_cov(5, seed)
    expected = 0.5 * (np.sum(np.log(np.diag(cov))) - np.log(np.linalg.det(cov)))
    assert gaussian_total_correlation(cov) == pytest.approx(expected, rel=1e-12)
    assert gaussian_total_correlation(cov) == pytest.approx(dlib_tc_by_kl(cov), rel=1e-9)


def test_total_correlation_of_a_bivariate_gaussian():
    """TC of two unit-variance Gaussians with correlation rho is -0.5 log(1 - rho^2), their mutual information."""
    for rho in (0.0, 0.3, 0.9):
        cov = np.array([[1.0, rho], [rho, 1.0]]) * 4.0
        assert gaussian_total_correlation(cov) == pytest.approx(-0.5 * np.log(1 - rho ** 2), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 3])
def test_wasserstein_correlation_is_bures_wasserstein_to_the_diagonal(seed):
    """POT's Bures-Wasserstein distance between N(0, C) and N(0, diag C), squared; and dlib's sqrtm formula."""
    cov = random_cov(6, seed)
    pot = float(ot.gaussian.bures_wasserstein_distance(np.zeros(6), np.zeros(6), cov, np.diag(np.diag(cov)))) ** 2
    dlib = 2 * np.trace(cov) - 2 * np.trace(scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))).real
    assert gaussian_wasserstein_correlation(cov) == pytest.approx(pot, rel=1e-7)
    assert gaussian_wasserstein_correlation(cov) == pytest.approx(dlib, rel=1e-9)


def test_wasserstein_correlation_closed_form_2x2():
    """C = [[1, r], [r, 1]]: D = I, so WC = 4 - 2 (sqrt(1 + r) + sqrt(1 - r))."""
    r = 0.6
    cov = np.array([[1.0, r], [r, 1.0]])
    assert gaussian_wasserstein_correlation(cov) == pytest.approx(4 - 2 * (np.sqrt(1 + r) + np.sqrt(1 - r)), abs=1e-12)


def test_independent_codes_score_about_zero():
    codes = np.random.default_rng(0).normal(size=(20000, 5)) * [0.5, 1.0, 2.0, 3.0, 10.0]
    s = unsupervised_scores(codes)
    assert abs(s["gaussian_total_correlation"]) < 5e-3
    assert abs(s["gaussian_wasserstein_correlation_norm"]) < 5e-3
    # plug-in MI of independent 20-bin histograms: bias about (bins - 1)^2 / (2 N) = 0.009 nats
    assert s["mutual_info_score"] < 0.03


def test_sample_covariance_matches_the_closed_form():
    """Codes drawn from N(0, S) score near the closed forms of S (the estimates converge)."""
    cov = random_cov(4, 5)
    codes = np.random.default_rng(1).multivariate_normal(np.zeros(4), cov, size=200000)
    s = unsupervised_scores(codes)
    tc = 0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])
    assert s["gaussian_total_correlation"] == pytest.approx(tc, rel=0.02)
    assert s["gaussian_wasserstein_correlation"] == pytest.approx(gaussian_wasserstein_correlation(cov), rel=0.03)


def test_duplicated_codes_have_large_mutual_information():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5000, 1))
    dup = unsupervised_scores(np.hstack([a, a, 3 * a - 1]))
    indep = unsupervised_scores(rng.normal(size=(5000, 3)))
    # equal-width bins of a scaled copy are the same partition: every MI is the entropy of a's histogram
    hist = np.unique(np.digitize(a[:, 0], np.histogram(a[:, 0], 20)[1][:-1]), return_counts=True)[1] / 5000
    assert dup["mutual_info_score"] == pytest.approx(-np.sum(hist * np.log(hist)), rel=1e-9)
    assert dup["mutual_info_score"] > 2.0 > 0.1 > indep["mutual_info_score"]
    assert dup["gaussian_total_correlation"] > 10


def test_scores_match_dlibs_definitions_on_identical_arrays():
    """dlib's unsupervised_metrics re-derived on the transposed [num_codes, num_points] array it uses."""
    rng = np.random.default_rng(4)
    codes = rng.normal(size=(3000, 4)) @ rng.normal(size=(4, 4))
    mus = codes.T
    cov = np.cov(mus)  # dlib: np.cov of the transposed codes (ddof 1)
    tc = 0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])
    wc = 2 * np.trace(cov) - 2 * np.trace(scipy.linalg.sqrtm(cov * np.expand_dims(np.diag(cov), axis=1))).real
    discrete = np.zeros_like(mus, dtype=np.int64)
    for i in range(4):
        discrete[i] = np.digitize(mus[i], np.histogram(mus[i], 20)[1][:-1])
    mi = np.array([[sk_mutual_info(discrete[i], discrete[j]) for j in range(4)] for i in range(4)])
    np.fill_diagonal(mi, 0)
    s = unsupervised_scores(codes)
    assert s["gaussian_total_correlation"] == pytest.approx(tc, rel=1e-10)
    assert s["gaussian_wasserstein_correlation"] == pytest.approx(wc, rel=1e-8)
    assert s["gaussian_wasserstein_correlation_norm"] == pytest.approx(wc / np.trace(cov), rel=1e-8)
    assert s["mutual_info_score"] == pytest.approx(mi.sum() / 12, rel=1e-10)
    assert mutual_info_score(codes, 20) == s["mutual_info_score"]
    assert s["settings.num_bins"] == 20 and s["settings.num_points"] == 3000


def test_compute_unsupervised_samples_codes_and_echoes_settings():
    data = IdentityFactorData((3, 4, 5))
    out = compute_unsupervised(identity, data, seed=1, **FAST)
    assert out["settings.num_train"] == FAST["num_train"] and out["settings.seed"] == 1
    # the factors are sampled independently: their codes are nearly uncorrelated
    assert 0 <= out["gaussian_total_correlation"] < 0.01
    again = compute_unsupervised(identity, data, seed=1, **FAST)
    assert again == out


def test_bad_codes_fail_with_a_clear_message():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"code dimensions \[1\] are constant"):
        unsupervised_scores(np.hstack([rng.normal(size=(10, 1)), np.ones((10, 1))]))
    with pytest.raises(ValueError, match="at least 2"):
        unsupervised_scores(rng.normal(size=(10, 1)))
    with pytest.raises(ValueError, match="NaN"):
        unsupervised_scores(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="shape"):
        unsupervised_scores(np.zeros(5))
    with pytest.raises(ValueError, match="num_bins"):
        unsupervised_scores(rng.normal(size=(10, 2)), num_bins=0)
