"""Tests of gwrep.eval.metrics.beta_vae (eval/metrics/beta_vae.py): the BetaVAE score."""
from __future__ import annotations

import numpy as np
import pytest
from metrics_data import IdentityFactorData, identity, noise, permuted_rescaled

from gwrep.eval.metrics.beta_vae import FAST, beta_vae_score, beta_vae_votes

DATA = IdentityFactorData((3, 4, 5, 4, 3))  # K = 5: chance accuracy 0.2
SMALL = dict(batch_size=16, num_train=300, num_eval=200)


@pytest.mark.parametrize("represent", [identity, permuted_rescaled(5)], ids=["identity", "permuted"])
def test_identity_representations_score_high(represent):
    out = beta_vae_score(represent, DATA, **SMALL)
    assert out["train_accuracy"] >= 0.9 and out["eval_accuracy"] >= 0.9


@pytest.mark.parametrize("sizes", [(3, 4, 5, 4, 3), (3, 4, 5, 4, 3, 2, 3, 4)], ids=["K5", "K8"])
def test_noise_scores_chance(sizes):
    # noise codes say nothing about the uniform fixed factor: eval accuracy is 1/K in expectation, with binomial
    # spread sqrt(p (1 - p) / num_eval) (module docstring); assert it within 3 spreads of 1/K. For K = 8 that
    # also meets the sanity check's <= 0.2; for K = 5 chance is 0.2 itself. Identity scores far above.
    data, k, num_eval = IdentityFactorData(sizes), len(sizes), 1000
    out = beta_vae_score(noise(k), data, batch_size=16, num_train=300, num_eval=num_eval)
    spread = np.sqrt((1 / k) * (1 - 1 / k) / num_eval)
    assert out["eval_accuracy"] == pytest.approx(1 / k, abs=3 * spread)
    if k >= 6:
        assert out["eval_accuracy"] <= 0.2
    assert beta_vae_score(identity, data, **SMALL)["eval_accuracy"] >= out["eval_accuracy"] + 0.6


def test_votes_fix_the_labelled_factor():
    # identity codes: the fixed factor's feature is exactly 0, the others are positive almost surely
    features, labels = beta_vae_votes(identity, DATA, 32, 50, np.random.default_rng(0))
    assert features.shape == (50, 5) and labels.shape == (50,)
    np.testing.assert_array_equal(features[np.arange(50), labels], 0.0)
    np.testing.assert_array_equal(np.argmin(features, axis=1), labels)


def test_invariant_to_permuting_codes():
    perm = [4, 2, 0, 1, 3]
    rep = permuted_rescaled(5, seed=3)
    mixed = lambda x: rep(x) + 0.3 * np.sin(40 * rep(x))  # noqa: E731 - imperfect but informative codes
    a = beta_vae_score(mixed, DATA, **SMALL)
    b = beta_vae_score(lambda x: mixed(x)[:, perm], DATA, **SMALL)
    assert a["eval_accuracy"] == pytest.approx(b["eval_accuracy"], abs=0.01)


def test_seeded_settings_and_bad_input():
    a = beta_vae_score(noise(5, 1), DATA, batch_size=4, num_train=50, num_eval=20, seed=3)
    assert a == beta_vae_score(noise(5, 1), DATA, batch_size=4, num_train=50, num_eval=20, seed=3)
    assert {"settings.batch_size", "settings.num_train", "settings.num_eval", "settings.seed"} <= set(a)
    assert FAST["num_train"] < 10000
    with pytest.raises(ValueError, match="num_train"):
        beta_vae_score(identity, DATA, num_train=0)
