"""Tests for gwrep.baselines.factor_vae (baselines/factor_vae.py): TC term, two minibatches, gradient routing."""
import copy

import pytest
import torch

from baselines_data import TINY_DISCRIMINATOR, binary_squares, forward_by_hand, loss_with_seed
from gwrep.baselines.factor_vae import FactorVAE, FactorVAEConfig
from gwrep.baselines.regularizers import permute_dims
from gwrep.models.base import build_model


def _model(**options):
    return build_model("factor-vae", image_shape=(1, 28, 28), latent_dim=3, **{**TINY_DISCRIMINATOR, **options})


def test_loss_adds_gamma_times_density_ratio():
    model = _model(gamma=7.0)
    x = binary_squares(4)
    loss, terms = loss_with_seed(model, x, seed=6)
    hand = forward_by_hand(model, x, seed=6)
    with torch.no_grad():
        d = torch.softmax(model.discriminator(hand["z"]), dim=1)[:, 0]  # D(z) = P(z is from q(z))
        tc = torch.log(d / (1 - d)).mean()
    assert float(terms["tc"]) == pytest.approx(float(tc), rel=1e-4, abs=1e-5)
    assert float(loss) == pytest.approx(float(hand["reconstruction"] + hand["kl"] + 7.0 * tc), rel=1e-5)


def test_vae_step_sends_no_gradient_into_the_discriminator():
    model = _model()
    loss, _ = model.loss(binary_squares(4))
    loss.backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert any(p.grad is not None and torch.count_nonzero(p.grad) > 0 for p in model.encoder.parameters())
    main = {id(p) for group in model.optimizers["main"].param_groups for p in group["params"]}
    assert main.isdisjoint(id(p) for p in model.discriminator.parameters())


def test_tc_term_reaches_the_encoder_through_the_discriminator():
    # The encoder must learn from gamma * TC (D frozen, not detached): its gradient changes with gamma.
    grads = []
    for gamma in (0.0, 5.0):
        torch.manual_seed(0)
        model = _model(gamma=gamma)
        torch.manual_seed(1)
        model.loss(binary_squares(4))[0].backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.encoder.parameters()]))
    assert not torch.allclose(grads[0], grads[1])


def test_discriminator_step_sends_no_gradient_into_the_encoder_and_moves_only_d():
    model = _model()
    x, x_other = binary_squares(4), binary_squares(4, seed=1)
    model.loss(x)  # the VAE step's codes, as training_step computes them (no backward here)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    logs = model.after_update(x, [x_other])
    assert set(logs) == {"discriminator_loss", "discriminator_accuracy"}
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is None for p in model.decoder.parameters())
    after = model.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(k.startswith("discriminator.") for k in moved)
    with pytest.raises(RuntimeError, match="codes of the VAE step"):
        model.after_update(x, [x_other])  # the codes are used once


def test_step_uses_two_minibatches_as_algorithm_1(monkeypatch):
    """VAE step on B; then D on B's (detached) VAE-step codes against permuted codes of B',
    drawn after the VAE update (Kim & Mnih 2018, Algorithm 1)."""
    model = _model()
    twin = copy.deepcopy(model)
    seen = {}

    def spy(z, z_other, generator=None):
        seen["z"], seen["z_other"] = z, z_other
        seen["vae_step_done"] = not torch.equal(model.encoder.head[-1].weight, twin.encoder.head[-1].weight)
        return FactorVAE.discriminator_loss(model, z, z_other, generator)

    monkeypatch.setattr(model, "discriminator_loss", spy)
    x = binary_squares(8)
    torch.manual_seed(0)
    model.training_step(x)
    assert seen["z"].shape == seen["z_other"].shape == (4, 3) and seen["vae_step_done"]
    assert not seen["z"].requires_grad and not seen["z_other"].requires_grad  # detached codes
    torch.manual_seed(0)
    noise, noise_other = torch.randn(4, 3), torch.randn(4, 3)
    with torch.no_grad():
        mean, logvar = twin.encode(x[:4])  # B, before the VAE update
        mean_other, logvar_other = model.encode(x[4:])  # B', after it (D's step leaves the encoder)
    torch.testing.assert_close(seen["z"], mean + torch.exp(0.5 * logvar) * noise)
    torch.testing.assert_close(seen["z_other"], mean_other + torch.exp(0.5 * logvar_other) * noise_other)


def test_discriminator_loss_is_cross_entropy_on_permuted_codes():
    model = _model()
    z, other = torch.randn(5, 3), torch.randn(5, 3)
    g = torch.Generator().manual_seed(3)
    loss, _ = model.discriminator_loss(z, other, g)
    perm = permute_dims(other, torch.Generator().manual_seed(3))
    with torch.no_grad():
        p_real = torch.softmax(model.discriminator(z), 1)[:, 0]
        p_perm = torch.softmax(model.discriminator(perm), 1)[:, 1]
    want = -0.5 * (p_real.log().mean() + p_perm.log().mean())
    assert float(loss.detach()) == pytest.approx(float(want), rel=1e-5)


def test_training_step_needs_two_minibatches_of_two():
    assert FactorVAE.batches_per_step == 2
    with pytest.raises(ValueError, match="2 batches per step"):
        _model().training_step(binary_squares(3))
    with pytest.raises(ValueError, match="m >= 2"):
        _model().training_step(binary_squares(2))


def test_defaults_and_optimizers():
    cfg = FactorVAEConfig()
    assert (cfg.gamma, cfg.discriminator_hidden, cfg.discriminator_layers) == (10.0, 1000, 6)
    assert (cfg.discriminator_lr, cfg.discriminator_betas) == (1e-4, (0.5, 0.9))
    opt = _model().optimizers["discriminator"]
    assert opt.defaults["betas"] == (0.5, 0.9) and opt.defaults["lr"] == 1e-4
    with pytest.raises(ValueError, match="gamma"):
        FactorVAEConfig(gamma=-1.0)
