"""Tests of gwrep.eval.metrics.factor_vae (eval/metrics/factor_vae.py): the FactorVAE score and its pruning."""
from __future__ import annotations

import numpy as np
import pytest
from metrics_data import IdentityFactorData, identity, noise, permuted_rescaled

from gwrep.eval.metrics.factor_vae import factor_vae_score, factor_vae_votes, kept_dims

DATA = IdentityFactorData((3, 4, 5, 4, 3))  # K = 5: chance accuracy about 0.2
SMALL = dict(batch_size=16, num_train=300, num_eval=200, num_variance_estimate=500)


@pytest.mark.parametrize("represent", [identity, permuted_rescaled(5)], ids=["identity", "permuted"])
def test_identity_representations_score_high(represent):
    out = factor_vae_score(represent, DATA, **SMALL)
    assert out["train_accuracy"] >= 0.9 and out["eval_accuracy"] >= 0.9 and out["num_active_dims"] == 5


@pytest.mark.parametrize("sizes", [(3, 4, 5, 4, 3), (3, 4, 5, 4, 3, 2, 3, 4)], ids=["K5", "K8"])
def test_noise_scores_chance(sizes):
    # noise codes say nothing about the uniform fixed factor: eval accuracy is 1/K in expectation, with binomial
    # spread sqrt(p (1 - p) / num_eval) (module docstring); assert it within 3 spreads of 1/K. For K = 8 that
    # also meets the sanity check's <= 0.2; for K = 5 chance is 0.2 itself. Identity scores far above.
    data, k, num_eval = IdentityFactorData(sizes), len(sizes), 1000
    out = factor_vae_score(noise(k), data, batch_size=16, num_train=300, num_eval=num_eval, num_variance_estimate=500)
    spread = np.sqrt((1 / k) * (1 - 1 / k) / num_eval)
    assert out["eval_accuracy"] == pytest.approx(1 / k, abs=3 * spread)
    if k >= 6:
        assert out["eval_accuracy"] <= 0.2
    assert factor_vae_score(identity, data, **SMALL)["eval_accuracy"] >= out["eval_accuracy"] + 0.6


def collapsed_first(x: np.ndarray) -> np.ndarray:
    """A collapsed dimension (std 0.01 < 0.05) in front of the factors, then a second one at the end."""
    codes = identity(x)
    tiny = 0.01 * np.sin(np.arange(x.shape[0]))[:, None]
    return np.hstack([tiny, codes, tiny])


def test_pruned_dimension_first_votes_land_on_kept_dims():
    rng = np.random.default_rng(0)
    variances = np.var(collapsed_first(DATA.sample_observations(500, rng)), axis=0, ddof=1)
    kept = kept_dims(variances)
    np.testing.assert_array_equal(kept, [1, 2, 3, 4, 5])
    votes = factor_vae_votes(collapsed_first, DATA, 16, 200, rng, variances, kept)
    assert votes[:, [0, 6]].sum() == 0  # no vote on a pruned dimension (dlib puts factor 0's there)
    # factor k is coded by dimension k + 1; dlib's argmin, an index into the kept dims, would say k
    np.testing.assert_array_equal(votes[:, 1:6], np.diag(votes[:, 1:6].diagonal()))
    assert votes[:, 1:6].diagonal().min() > 0


def test_pruning_reports_the_kept_count():
    out = factor_vae_score(collapsed_first, DATA, **SMALL)
    assert out["num_active_dims"] == 5  # dlib reports len(mask) = 7
    assert out["eval_accuracy"] >= 0.9


def test_all_collapsed_scores_zero():
    out = factor_vae_score(lambda x: np.zeros((x.shape[0], 3)), DATA, **SMALL)
    assert out["train_accuracy"] == out["eval_accuracy"] == 0.0 and out["num_active_dims"] == 0


def test_invariant_to_permuting_codes():
    perm = [3, 0, 4, 1, 2]
    rep = permuted_rescaled(5, seed=4)
    mixed = lambda x: rep(x) @ (np.eye(5) + 0.4 * np.ones((5, 5)))  # noqa: E731 - mixed codes
    a = factor_vae_score(mixed, DATA, **SMALL)
    b = factor_vae_score(lambda x: mixed(x)[:, perm], DATA, **SMALL)
    assert a["train_accuracy"] == pytest.approx(b["train_accuracy"], abs=1e-12)
    assert a["eval_accuracy"] == pytest.approx(b["eval_accuracy"], abs=1e-12)


def test_seeded_and_bad_input():
    a = factor_vae_score(noise(5, 1), DATA, batch_size=4, num_train=50, num_eval=20, num_variance_estimate=50)
    b = factor_vae_score(noise(5, 1), DATA, batch_size=4, num_train=50, num_eval=20, num_variance_estimate=50)
    assert a == b and a["settings.prune_threshold"] == 0.05
    with pytest.raises(ValueError, match="batch_size must be at least 2"):
        factor_vae_score(identity, DATA, batch_size=1)
    with pytest.raises(ValueError, match="prune_threshold"):
        factor_vae_score(identity, DATA, prune_threshold=-1.0)
