"""Tests for gwrep.baselines.wae (baselines/wae.py): WAE-MMD and WAE-GAN losses and gradient routing."""
import math

import pytest
import torch

from baselines_data import TINY_DISCRIMINATOR, binary_squares, loss_with_seed
from gwrep.baselines.wae import WAEConfig
from gwrep.models.base import build_model


def _model(name="wae-gan", **options):
    extra = TINY_DISCRIMINATOR if name == "wae-gan" else {}
    return build_model(name, image_shape=(1, 28, 28), latent_dim=3, **{**extra, **options})


def _bce_sum(x, logits):
    p = torch.sigmoid(logits)
    return (-(x * p.log() + (1 - x) * (1 - p).log())).flatten(1).sum(1)


def test_deterministic_and_gaussian_encoders():
    x = binary_squares(3)
    det = _model()
    code, logvar = det.encode(x)
    assert logvar is None and code.shape == (3, 3)
    assert det.encoder.head[-1].out_features == 3
    torch.testing.assert_close(det.represent(x), det.encoder(x).detach())
    gauss = _model(encoder="gaussian")
    assert gauss.encoder.head[-1].out_features == 6
    mean, logvar = gauss.encode(x)
    assert mean.shape == logvar.shape == (3, 3)


def test_gan_loss_by_hand():
    model = _model(lambda_reg=2.0)
    x = binary_squares(4)
    loss, terms = loss_with_seed(model, x, seed=0)
    with torch.no_grad():
        z = model.encoder(x)
        recon = _bce_sum(x, model.decode_logits(z)).mean()
        penalty = -torch.log(torch.sigmoid(model.discriminator(z))).mean()
    assert float(terms["gan"]) == pytest.approx(float(penalty), rel=1e-5)
    assert float(loss) == pytest.approx(float(recon + 2.0 * penalty), rel=1e-5)


def test_gan_discriminator_loss_by_hand():
    model = _model()
    zp, ze = torch.randn(6, 3), torch.randn(6, 3)
    with torch.no_grad():
        loss = model.discriminator_loss(zp, ze)
        want = -(torch.sigmoid(model.discriminator(zp)).log().mean()
                 + (1 - torch.sigmoid(model.discriminator(ze))).log().mean())
    assert float(loss) == pytest.approx(float(want), rel=1e-5)


def test_gan_gradient_routing():
    model = _model()
    x = binary_squares(4)
    model.loss(x)[0].backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    model.zero_grad(set_to_none=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert set(model.inner_updates(x)) == {"discriminator_loss"}
    assert all(p.grad is None for p in model.encoder.parameters())
    moved = {k for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
    assert moved and all(k.startswith("discriminator.") for k in moved)


def test_gan_penalty_reaches_the_encoder_through_the_discriminator():
    # -lambda mean log D(z) must train the encoder (D frozen, z not detached): its gradient changes with lambda.
    grads = []
    for lam in (0.0, 1.0):
        torch.manual_seed(0)
        model = _model(lambda_reg=lam)
        model.loss(binary_squares(4))[0].backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.encoder.parameters()]))
    assert not torch.allclose(grads[0], grads[1])


def test_mmd_loss_uses_imq_mmd_against_prior_draws():
    from gwrep.ot import mmd_imq

    model = _model("wae-mmd")
    x = binary_squares(5)
    loss, terms = loss_with_seed(model, x, seed=9)
    with torch.no_grad():
        z = model.encoder(x)
        recon = _bce_sum(x, model.decode_logits(z)).mean()
        torch.manual_seed(9)
        prior = torch.randn(5, 3)
        mmd = mmd_imq(z, prior)
    assert float(terms["mmd"]) == pytest.approx(float(mmd), rel=1e-5, abs=1e-7)
    assert float(loss) == pytest.approx(float(recon + 10.0 * mmd), rel=1e-5)
    assert model.inner_updates(x) == {} and set(model.optimizers) == {"main"}


@pytest.mark.parametrize("regularizer", ["mmd", "gan"])
def test_gaussian_encoder_loss_by_hand(regularizer):
    """Gaussian encoder: z = mu + exp(logvar / 2) eps, cost and penalty on that sample, and no
    variance penalty added (as the module says)."""
    from gwrep.ot import mmd_imq

    name = "wae-mmd" if regularizer == "mmd" else "wae-gan"
    model = _model(name, encoder="gaussian", lambda_reg=3.0)
    x = binary_squares(5)
    loss, terms = loss_with_seed(model, x, seed=4)
    with torch.no_grad():
        mean, logvar = model.encoder(x).chunk(2, dim=1)
        torch.manual_seed(4)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(5, 3)
        recon = _bce_sum(x, model.decode_logits(z)).mean()
        if regularizer == "mmd":
            penalty = mmd_imq(z, torch.randn(5, 3))  # the prior draws follow the code's noise
        else:
            penalty = -torch.log(torch.sigmoid(model.discriminator(z))).mean()
    assert float(terms["reconstruction"]) == pytest.approx(float(recon), rel=1e-5)
    assert float(terms[regularizer]) == pytest.approx(float(penalty), rel=1e-5, abs=1e-7)
    assert float(loss) == pytest.approx(float(recon + 3.0 * penalty), rel=1e-5)
    assert not torch.allclose(z, mean)  # the sample, not the mean, is decoded and penalised


def test_mmd_is_near_zero_for_matching_samples():
    from gwrep.ot import mmd_imq

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 3, generator=g), torch.randn(200, 3, generator=g)
    assert abs(float(mmd_imq(a, b))) < 0.1 * float(mmd_imq(a, b + 2.0))


def test_ood_score_is_negative_log_prior_at_the_code():
    model = _model("wae-mmd")
    x = binary_squares(3)
    z = model.represent(x)
    torch.testing.assert_close(model.ood_score(x), 0.5 * (z ** 2).sum(1) + 1.5 * math.log(2 * math.pi))


def test_defaults_and_validation():
    assert WAEConfig(regularizer="mmd").resolved_lambda == 10.0
    assert WAEConfig(regularizer="gan").resolved_lambda == 1.0
    assert WAEConfig(regularizer="gan", lambda_reg=3.0).resolved_lambda == 3.0
    cfg = WAEConfig()
    assert (cfg.encoder, cfg.discriminator_hidden, cfg.discriminator_layers, cfg.discriminator_lr,
            cfg.discriminator_betas) == ("deterministic", 512, 4, 5e-4, (0.5, 0.999))
    with pytest.raises(ValueError, match=r"\['mmd', 'gan'\]"):
        WAEConfig(regularizer="sliced")
    with pytest.raises(ValueError, match=r"\['deterministic', 'gaussian'\]"):
        WAEConfig(encoder="flow")
    for field, value in [("lambda_reg", -1.0), ("mmd_scale", 0.0)]:
        with pytest.raises(ValueError, match=field):
            WAEConfig(**{field: value})
