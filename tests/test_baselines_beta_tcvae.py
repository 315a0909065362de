"""Tests for gwrep.baselines.beta_tcvae (baselines/beta_tcvae.py): the weighted decomposition."""
import pytest

from baselines_data import binary_squares, forward_by_hand, loss_with_seed
from gwrep.baselines.beta_tcvae import BetaTCVAEConfig
from gwrep.baselines.regularizers import tc_decomposition
from gwrep.models.base import build_model


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_loss_weights_the_three_terms(estimator):
    model = build_model("beta-tcvae", image_shape=(1, 28, 28), latent_dim=3, alpha=0.5, beta=6.0, gamma=2.0,
                        estimator=estimator, dataset_size=100)
    x = binary_squares(5)
    loss, terms = loss_with_seed(model, x, seed=4)
    hand = forward_by_hand(model, x, seed=4)
    parts = tc_decomposition(hand["z"].double(), hand["mean"].double(), hand["logvar"].double(), 100, estimator)
    for key, value in parts.items():
        assert float(terms[key]) == pytest.approx(float(value), rel=1e-4, abs=1e-4), key
    want = (hand["reconstruction"] + 0.5 * parts["mutual_information"] + 6.0 * parts["total_correlation"]
            + 2.0 * parts["dimensionwise_kl"])
    assert float(loss) == pytest.approx(float(want), rel=1e-5)


def test_estimator_and_dataset_size_change_the_estimate():
    x = binary_squares(5)
    tcs = {}
    for estimator, n in [("mws", 100), ("mss", 100), ("mws", 10000)]:
        model = build_model("beta-tcvae", image_shape=(1, 28, 28), latent_dim=3, estimator=estimator,
                            dataset_size=n)
        model.load_state_dict(build_model("vae", image_shape=(1, 28, 28), latent_dim=3).state_dict())
        tcs[estimator, n] = float(loss_with_seed(model, x, seed=0)[1]["total_correlation"])
    assert len(set(tcs.values())) == 3


def test_mss_rejects_a_batch_larger_than_the_data_set():
    model = build_model("beta-tcvae", image_shape=(1, 28, 28), latent_dim=3, estimator="mss", dataset_size=3)
    with pytest.raises(ValueError, match="dataset_size"):
        model.loss(binary_squares(5))


def test_defaults_and_validation():
    cfg = BetaTCVAEConfig()
    assert (cfg.beta, cfg.alpha, cfg.gamma, cfg.estimator, cfg.dataset_size) == (6.0, 1.0, 1.0, "mws", 737280)
    with pytest.raises(ValueError, match=r"\['mws', 'mss'\]"):
        BetaTCVAEConfig(estimator="iw")
    for field, value in [("beta", -1.0), ("alpha", -0.1), ("gamma", -2.0), ("dataset_size", 0)]:
        with pytest.raises(ValueError, match=field):
            BetaTCVAEConfig(**{field: value})
