"""Tests for gwrep.baselines.vae (baselines/vae.py): VAE loss and OoD scores against hand computations."""
import math

import pytest
import torch

from baselines_data import binary_squares, forward_by_hand, loss_with_seed
from gwrep.baselines.vae import VAE, VAEConfig
from gwrep.models.base import ModelConfig


def _model(**options):
    return VAE(VAEConfig(image_shape=(1, 28, 28), latent_dim=3, **options))


@pytest.mark.parametrize("channels", [1, 3])
def test_loss_is_reconstruction_plus_closed_form_kl(channels):
    model = VAE(VAEConfig(image_shape=(channels, 28, 28), latent_dim=3))
    x = binary_squares(4).repeat(1, channels, 1, 1) * (0.8 if channels == 3 else 1.0)
    loss, terms = loss_with_seed(model, x, seed=5)
    hand = forward_by_hand(model, x, seed=5)
    assert float(terms["reconstruction"]) == pytest.approx(float(hand["reconstruction"]), rel=1e-5)
    assert float(terms["kl"]) == pytest.approx(float(hand["kl"]), rel=1e-5)
    assert float(loss) == pytest.approx(float(hand["reconstruction"] + hand["kl"]), rel=1e-5)


def test_encode_splits_mean_and_logvar():
    model = _model()
    x = binary_squares(2)
    mean, logvar = model.encode(x)
    out = model.encoder(x)
    assert torch.equal(mean, out[:, :3]) and torch.equal(logvar, out[:, 3:])
    assert torch.equal(model.represent(x), mean.detach())


def test_ood_score_neg_log_prior_by_hand():
    model = _model()
    x = binary_squares(3)
    mean = model.represent(x)
    want = 0.5 * (mean ** 2).sum(1) + 1.5 * math.log(2 * math.pi)
    torch.testing.assert_close(model.ood_score(x), want)


def test_ood_score_neg_elbo_is_deterministic_and_matches_hand():
    model = _model(ood_score_kind="neg_elbo", ood_elbo_samples=3, ood_seed=7)
    x = binary_squares(3)
    s1, s2 = model.ood_score(x), model.ood_score(x)
    torch.testing.assert_close(s1, s2)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        mean, logvar = model.encode(x)
        recon = []
        for _ in range(3):
            z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)
            p = torch.sigmoid(model.decode_logits(z))
            recon.append(-(x * p.log() + (1 - x) * (1 - p).log()).flatten(1).sum(1))
        kl = (0.5 * (mean ** 2 + logvar.exp() - logvar - 1)).sum(1)
    torch.testing.assert_close(s1, torch.stack(recon).mean(0) + kl, rtol=1e-5, atol=1e-3)


def test_ood_score_leaves_mode():
    model = _model()
    model.train()
    model.ood_score(binary_squares(2))
    assert model.training


def test_config_pins_defaults_and_inherits_model_config():
    cfg = VAEConfig()
    assert isinstance(cfg, ModelConfig)
    assert (cfg.latent_dim, cfg.lr, cfg.reconstruction) == (10, 1e-4, "auto")
    assert (cfg.ood_score_kind, cfg.ood_elbo_samples, cfg.ood_seed) == ("neg_log_prior", 4, 0)


@pytest.mark.parametrize("bad, match", [
    ({"ood_score_kind": "likelihood"}, r"neg_log_prior"),
    ({"ood_elbo_samples": 0}, "ood_elbo_samples"),
    ({"ood_seed": 1.5}, "ood_seed"),
])
def test_config_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        VAEConfig(**bad)


def test_adam_defaults_are_dlib():
    opt = _model().optimizers["main"]
    assert isinstance(opt, torch.optim.Adam)
    assert opt.defaults["lr"] == 1e-4 and opt.defaults["betas"] == (0.9, 0.999)
