"""Tests of gwrep.eval.metrics.modularity (eval/metrics/modularity.py): modularity and explicitness."""
from __future__ import annotations

import numpy as np
import pytest
from metrics_data import IdentityFactorData, identity, noise, permuted_rescaled

from gwrep.eval.metrics.utils import discrete_mutual_info, histogram_discretize

from gwrep.eval.metrics.modularity import (compute_modularity_explicitness, explicitness, modularity,
                                           modularity_explicitness)

DATA = IdentityFactorData((4, 5, 6))
SCORES = ("modularity_score", "explicitness_score_train", "explicitness_score_test")


def test_modularity_hand_values():
    assert modularity(np.eye(3)) == 1.0
    # rows: one factor only -> 1; equal MI on both -> 1 - 1/1 = 0; MI (2, 1) -> 1 - 1/4; no MI -> 0
    assert modularity(np.array([[0.0, 3.0], [1.0, 1.0], [2.0, 1.0], [0.0, 0.0]])) == pytest.approx(1.75 / 4)
    assert modularity(np.array([[0.5], [0.0]])) == 0.5  # one factor: informative codes are modular


@pytest.mark.parametrize("represent", [identity, permuted_rescaled(3)], ids=["identity", "permuted"])
def test_identity_representations_score_high(represent):
    out = compute_modularity_explicitness(represent, DATA, 600, 300)
    assert all(out[k] >= 0.9 for k in SCORES), out


def test_shuffled_factors_are_not_modular():
    # disentanglement_lib's bad representation: each point's factors in a random order; with equal
    # factor sizes every code then holds the same information about every factor
    rng = np.random.default_rng(0)
    data = IdentityFactorData((5, 5, 5))
    out = compute_modularity_explicitness(lambda x: rng.permuted(identity(x), axis=1), data, 5000, 100)
    assert out["modularity_score"] <= 0.2


def test_noise_is_at_chance_explicitness_and_far_below_identity():
    out = compute_modularity_explicitness(noise(3), DATA, 600, 300)
    # chance ROC-AUC is 0.5 (scores independent of the class); with 300 test points and 15 class AUCs
    # its spread is about 0.015, so 0.05 is a 3-sigma margin
    assert out["explicitness_score_test"] == pytest.approx(0.5, abs=0.05)
    ident = compute_modularity_explicitness(identity, DATA, 600, 300)
    assert ident["explicitness_score_test"] >= out["explicitness_score_test"] + 0.4
    assert ident["modularity_score"] >= out["modularity_score"] + 0.3


def _noise_mutual_info(sizes: tuple[int, ...], num_points: int, num_codes: int = 200) -> tuple[np.ndarray, float]:
    """Plug-in MI (num_codes, K) of standard-normal codes with sampled factors, and the mean occupied bin count."""
    rng = np.random.default_rng(0)
    f = IdentityFactorData(sizes).sample_factors(num_points, rng)
    disc = histogram_discretize(rng.normal(size=(num_points, num_codes)), 20)
    occupied = np.mean([np.unique(disc[:, j]).size for j in range(num_codes)])
    return discrete_mutual_info(disc, f), float(occupied)


@pytest.mark.parametrize("sizes, chance", [((4, 5, 6), 0.48), ((10, 10, 10), 0.21)])
def test_noise_modularity_is_its_documented_chance_level(sizes, chance):
    # pure noise is not modularity 0 (modularity.py docstring): its plug-in MI is the Miller-Madow bias
    # (B - 1)(s_k - 1) / 2N, and modularity, a ratio of MIs, is then the same at any N
    at = {}
    for n in (600, 2400):
        info, occupied = _noise_mutual_info(sizes, n)
        bias = (occupied - 1) * (np.array(sizes) - 1) / (2 * n)
        np.testing.assert_allclose(info.mean(axis=0), bias, rtol=0.12)
        at[n] = modularity(info)
    assert at[600] == pytest.approx(chance, abs=0.03) and at[2400] == pytest.approx(chance, abs=0.03)
    assert modularity(np.array([[3.0, 4.0, 5.0]])) == 0.5  # the bias profile of sizes (4, 5, 6) alone


def test_explicitness_handles_a_class_missing_from_test():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    codes = (y + 0.3 * rng.normal(size=200))[:, None]
    train, test = explicitness(codes, y, codes[y < 2], y[y < 2])
    assert 0.9 <= train <= 1.0 and 0.9 <= test <= 1.0


def test_invariant_to_permuting_codes():
    rng = np.random.default_rng(2)
    f = DATA.sample_factors(400, rng)
    codes = f @ rng.normal(size=(3, 4)) + rng.normal(size=(400, 4))
    perm = [1, 3, 0, 2]
    a = modularity_explicitness(codes[:300], f[:300], codes[300:], f[300:])
    b = modularity_explicitness(codes[:300, perm], f[:300], codes[300:, perm], f[300:])
    assert a["modularity_score"] == pytest.approx(b["modularity_score"], abs=1e-12)
    for key in SCORES[1:]:  # lbfgs stops at a tolerance: equal up to it
        assert a[key] == pytest.approx(b[key], abs=1e-3)


def test_constant_code_and_seed():
    rng = np.random.default_rng(3)
    f = DATA.sample_factors(200, rng)
    codes = np.column_stack([f, np.ones(200)]).astype(float)
    out = modularity_explicitness(codes, f, codes, f)
    assert all(np.isfinite(out[k]) for k in SCORES)
    a = compute_modularity_explicitness(noise(3, 5), DATA, 200, 100, seed=4)
    assert a == compute_modularity_explicitness(noise(3, 5), DATA, 200, 100, seed=4)
    assert a["settings.seed"] == 4 and a["settings.num_bins"] == 20
