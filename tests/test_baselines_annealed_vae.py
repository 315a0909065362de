"""Tests for gwrep.baselines.annealed_vae (baselines/annealed_vae.py): capacity schedule and resume."""
import pytest
import torch

from baselines_data import binary_squares, forward_by_hand, loss_with_seed
from gwrep.baselines.annealed_vae import AnnealedVAEConfig
from gwrep.baselines.regularizers import capacity_penalty
from gwrep.models.base import build_model, load_model


def _model(**options):
    return build_model("annealed-vae", image_shape=(1, 28, 28), latent_dim=3, **options)


def _per_sample_kl(hand):
    mean, logvar = hand["mean"], hand["logvar"]
    return (0.5 * (mean ** 2 + logvar.exp() - logvar - 1)).sum(1)  # (N,)


@pytest.mark.parametrize("form", ["sample", "batch"])
def test_loss_is_gamma_abs_kl_minus_capacity(form):
    """Burgess et al. Eq. 8 per input (mean_i |KL_i - C|), or dlib's |mean_i KL_i - C|, by hand."""
    x = binary_squares(4)
    probe = _model(c_max=1.0, iteration_threshold=1)
    kl = _per_sample_kl(forward_by_hand(probe, x, seed=2))
    c = float(kl.median())  # some KL_i above C, some below: the two forms differ
    model = _model(gamma=3.0, c_max=2 * c, iteration_threshold=4, capacity_form=form)
    model.load_state_dict(probe.state_dict())
    model.step.fill_(2)  # C = c_max * 2 / 4 = c
    loss, terms = loss_with_seed(model, x, seed=2)
    hand = forward_by_hand(model, x, seed=2)
    kl = _per_sample_kl(hand)
    assert float(terms["capacity"]) == pytest.approx(c)
    penalty = (kl - c).abs().mean() if form == "sample" else (kl.mean() - c).abs()
    assert float(loss) == pytest.approx(float(hand["reconstruction"] + 3.0 * penalty), rel=1e-5)
    other = (kl.mean() - c).abs() if form == "sample" else (kl - c).abs().mean()
    assert abs(float(penalty - other)) > 1e-3 * float(penalty + other)


def test_capacity_penalty_by_hand():
    kl = torch.tensor([1.0, 2.0, 6.0])
    assert float(capacity_penalty(kl, 2.0, "sample")) == pytest.approx((1 + 0 + 4) / 3)
    assert float(capacity_penalty(kl, 2.0, "batch")) == pytest.approx(1.0)
    assert float(capacity_penalty(kl, 0.5, "sample")) == float(capacity_penalty(kl, 0.5, "batch"))  # all above C
    with pytest.raises(ValueError, match="capacity_form"):
        capacity_penalty(kl, 2.0, "mean")


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
    assert (cfg.gamma, cfg.c_max, cfg.iteration_threshold, cfg.capacity_form) == (1000.0, 25.0, 100000, "sample")
    for field, value in [("gamma", -1.0), ("c_max", -0.5), ("iteration_threshold", 0), ("capacity_form", "mean")]:
        with pytest.raises(ValueError, match=field):
            AnnealedVAEConfig(**{field: value})
    assert torch.is_tensor(_model().step)
