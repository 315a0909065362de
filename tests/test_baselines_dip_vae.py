"""Tests for gwrep.baselines.dip_vae (baselines/dip_vae.py): DIP-VAE-I and -II losses by hand."""
import numpy as np
import pytest
import torch

from baselines_data import binary_squares, forward_by_hand, loss_with_seed
from gwrep.baselines.dip_vae import DIPVAEConfig
from gwrep.models.base import build_model


def _penalty_by_hand(cov: np.ndarray, lambda_od: float, lambda_d: float) -> float:
    d = cov.shape[0]
    off = sum(cov[i, j] ** 2 for i in range(d) for j in range(d) if i != j)
    return lambda_od * off + lambda_d * sum((cov[i, i] - 1.0) ** 2 for i in range(d))


@pytest.mark.parametrize("name, lambda_d_factor", [("dip-vae-i", 10.0), ("dip-vae-ii", 1.0)])
def test_loss_is_vae_loss_plus_dip_penalty(name, lambda_d_factor):
    model = build_model(name, image_shape=(1, 28, 28), latent_dim=3, lambda_od=2.0)
    x = binary_squares(6)
    loss, terms = loss_with_seed(model, x, seed=3)
    hand = forward_by_hand(model, x, seed=3)
    mean, var = hand["mean"].double().numpy(), hand["logvar"].double().exp().numpy()
    cov = np.cov(mean.T, bias=True)
    if name == "dip-vae-ii":
        cov = cov + np.diag(var.mean(0))  # E[diag sigma^2] + Cov[mu]
    penalty = _penalty_by_hand(cov, 2.0, 2.0 * lambda_d_factor)
    assert float(terms["dip"]) == pytest.approx(penalty, rel=1e-4)
    assert float(loss) == pytest.approx(float(hand["reconstruction"] + hand["kl"]) + penalty, rel=1e-5)


def test_dip_ii_uses_the_encoder_variance():
    x = binary_squares(6)
    one = build_model("dip-vae-i", image_shape=(1, 28, 28), latent_dim=3, lambda_od=1.0, lambda_d=1.0)
    two = build_model("dip-vae-ii", image_shape=(1, 28, 28), latent_dim=3, lambda_od=1.0, lambda_d=1.0)
    two.load_state_dict(one.state_dict())
    with torch.no_grad():  # make the variances large so the sigma term cannot vanish
        two.encoder.head[-1].bias[3:] += 2.0
        one.encoder.head[-1].bias[3:] += 2.0
    _, t1 = loss_with_seed(one, x, seed=0)
    _, t2 = loss_with_seed(two, x, seed=0)
    assert float(t2["dip"]) != pytest.approx(float(t1["dip"]), rel=1e-3)


def test_lambda_d_rule_and_validation():
    assert DIPVAEConfig(variant="i", lambda_od=3.0).resolved_lambda_d == 30.0
    assert DIPVAEConfig(variant="ii", lambda_od=3.0).resolved_lambda_d == 3.0
    assert DIPVAEConfig(variant="ii", lambda_od=3.0, lambda_d=0.5).resolved_lambda_d == 0.5
    cfg = DIPVAEConfig()
    assert (cfg.variant, cfg.lambda_od, cfg.lambda_d) == ("i", 10.0, None)
    with pytest.raises(ValueError, match=r"\['i', 'ii'\]"):
        DIPVAEConfig(variant="iii")
    for field in ("lambda_od", "lambda_d"):
        with pytest.raises(ValueError, match=field):
            DIPVAEConfig(**{field: -1.0})
