"""Tests for gwrep.baselines.annealed_vae (baselines/annealed_vae.py): capacity schedule and resume."""
import pytest
import torch

from baselines_data import binary_squares, forward_by_hand, loss_with_seed
from gwrep.baselines.annealed_vae import AnnealedVAEConfig
from gwrep.models.base import build_model, load_model


def _model(**options):
    return build_model("annealed-vae", image_shape=(1, 28, 28), latent_dim=3, **options)


def test_loss_is_gamma_abs_kl_minus_capacity():
    model = _model(gamma=3.0, c_max=10.0, iteration_threshold=4)
    model.step.fill_(2)  # C = 5
    x = binary_squares(4)
    loss, terms = loss_with_seed(model, x, seed=2)
    hand = forward_by_hand(model, x, seed=2)
    assert float(terms["capacity"]) == 5.0
    want = hand["reconstruction"] + 3.0 * (hand["kl"] - 5.0).abs()
    assert float(loss) == pytest.approx(float(want), rel=1e-5)


def test_capacity_is_logged_each_step_and_follows_the_schedule(tmp_path):
    model = _model(c_max=6.0, iteration_threshold=3, lr=1e-3)
    x = binary_squares(4)
    logged = [model.training_step(x)["capacity"] for _ in range(5)]
    assert logged == [0.0, 2.0, 4.0, 6.0, 6.0]
    # The schedule lives in the saved step buffer, so a reloaded model resumes it.
    fresh = _model(c_max=6.0, iteration_threshold=3)
    fresh.step.fill_(1)
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    assert int(loaded.step) == 5 and loaded.capacity() == 6.0
    assert fresh.capacity() == 2.0


def test_defaults_and_validation():
    cfg = AnnealedVAEConfig()
    assert (cfg.gamma, cfg.c_max, cfg.iteration_threshold) == (1000.0, 25.0, 100000)
    for field, value in [("gamma", -1.0), ("c_max", -0.5), ("iteration_threshold", 0)]:
        with pytest.raises(ValueError, match=field):
            AnnealedVAEConfig(**{field: value})
    assert torch.is_tensor(_model().step)
