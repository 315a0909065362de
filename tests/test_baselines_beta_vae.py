"""Tests for gwrep.baselines.beta_vae (baselines/beta_vae.py)."""
import pytest

from baselines_data import binary_squares, forward_by_hand, loss_with_seed
from gwrep.baselines.beta_vae import BetaVAE, BetaVAEConfig
from gwrep.baselines.vae import VAEConfig


def test_loss_weights_kl_by_beta():
    model = BetaVAE(BetaVAEConfig(image_shape=(1, 28, 28), latent_dim=3, beta=2.5))
    x = binary_squares(4)
    loss, _ = loss_with_seed(model, x, seed=1)
    hand = forward_by_hand(model, x, seed=1)
    assert float(loss) == pytest.approx(float(hand["reconstruction"] + 2.5 * hand["kl"]), rel=1e-5)


def test_defaults_and_validation():
    cfg = BetaVAEConfig()
    assert cfg.beta == 4.0 and isinstance(cfg, VAEConfig)
    with pytest.raises(ValueError, match="beta"):
        BetaVAEConfig(beta=-1.0)
