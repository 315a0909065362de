"""Tests of gwrep.eval.metrics.mig (eval/metrics/mig.py): the Mutual Information Gap."""
from __future__ import annotations

import numpy as np
import pytest
from metrics_data import IdentityFactorData, factor_grid, identity, noise, permuted_rescaled

from gwrep.eval.metrics.mig import FAST, compute_mig, mig

DATA = IdentityFactorData((4, 5, 6))


def _factors(n=600, seed=0):
    return DATA.sample_factors(n, np.random.default_rng(seed))


def test_one_to_one_discrete_code_scores_one():
    f = factor_grid(DATA)
    codes = (f * np.array([1.0, -2.0, 0.5]) + 3.0)[:, [2, 0, 1]]
    assert mig(codes, f)["discrete_mig"] == pytest.approx(1.0, abs=1e-12)


def test_duplicated_and_constant_codes_score_zero():
    f = factor_grid(DATA)
    assert mig(np.hstack([f, f]).astype(float), f)["discrete_mig"] == pytest.approx(0.0, abs=1e-12)
    assert mig(np.zeros((f.shape[0], 3)), f)["discrete_mig"] == pytest.approx(0.0, abs=1e-12)


def test_hand_made_value():
    # one code copies factor 0 (MI = H0); a second code is its coarse half (MI = log 2 for 4 equal classes);
    # factor 1 is seen by no code: MIG = ((H0 - log 2) / H0 + 0) / 2 = (1 - 1/2) / 2
    v0 = np.repeat(np.arange(4), 20)
    v1 = np.tile(np.arange(2), 40)  # balanced within every v0 block: independent of v0
    f = np.column_stack([v0, v1])
    codes = np.column_stack([v0, v0 // 2]).astype(float)
    assert mig(codes, f, num_bins=4)["discrete_mig"] == pytest.approx(0.25, abs=1e-12)


@pytest.mark.parametrize("represent", [identity, permuted_rescaled(3)], ids=["identity", "permuted"])
def test_identity_representations_score_high(represent):
    assert compute_mig(represent, DATA, num_train=1000)["discrete_mig"] >= 0.9


def test_noise_scores_low():
    assert compute_mig(noise(3), DATA, num_train=1000)["discrete_mig"] <= 0.2


def test_invariant_to_permuting_codes():
    f = _factors()
    codes = f @ np.random.default_rng(1).normal(size=(3, 4)) + np.random.default_rng(2).normal(size=(600, 4))
    perm = [3, 1, 0, 2]
    assert mig(codes[:, perm], f)["discrete_mig"] == pytest.approx(mig(codes, f)["discrete_mig"], abs=1e-12)


def test_seeded_and_settings_echoed():
    a = compute_mig(noise(3, seed=5), DATA, num_train=300, seed=7)
    b = compute_mig(noise(3, seed=5), DATA, num_train=300, seed=7)
    assert a == b
    assert a["settings.num_bins"] == 20 and a["settings.num_train"] == 300 and a["settings.seed"] == 7
    assert set(FAST) <= {"num_train", "batch_size", "num_bins"}


def test_rejects_bad_input():
    f = _factors(50)
    with pytest.raises(ValueError, match="constant"):
        mig(np.random.default_rng(0).normal(size=(50, 2)), np.column_stack([f[:, 0], np.zeros(50, int)]))
    with pytest.raises(ValueError, match="num_bins"):
        mig(f.astype(float), f, num_bins=0)
