"""Tests for gwrep.baselines.dagmm (baselines/dagmm.py): GMM estimates and energy against numpy/scipy."""
import copy

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from baselines_data import binary_squares
from gwrep.baselines.dagmm import DAGMMConfig, covariance_penalty, gmm_energy, gmm_parameters
from gwrep.models.base import build_model


def _model(**options):
    return build_model("dagmm", image_shape=(1, 28, 28), latent_dim=2, **options)


def _random_gmm(n=9, f=3, k=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n, f, generator=g, dtype=torch.float64)
    gamma = torch.softmax(torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
    return features, gamma


def test_gmm_parameters_match_weighted_numpy_estimates():
    features, gamma = _random_gmm()
    phi, mu, cov = gmm_parameters(features, gamma)
    x, w = features.numpy(), gamma.numpy()
    np.testing.assert_allclose(phi.numpy(), w.mean(0), rtol=1e-12)
    for k in range(w.shape[1]):
        mean_k = np.average(x, axis=0, weights=w[:, k])
        np.testing.assert_allclose(mu[k].numpy(), mean_k, rtol=1e-12)
        np.testing.assert_allclose(cov[k].numpy(), np.cov(x.T, aweights=w[:, k], bias=True), rtol=1e-10)


def test_energy_matches_scipy_mixture_density():
    features, gamma = _random_gmm(n=12, f=3, k=3, seed=1)
    phi, mu, cov = gmm_parameters(features, gamma)
    energy = gmm_energy(features, phi, mu, cov, jitter=1e-9)
    density = sum(float(phi[k]) * multivariate_normal(mu[k].numpy(), cov[k].numpy()).pdf(features.numpy())
                  for k in range(3))
    np.testing.assert_allclose(energy.numpy(), -np.log(density), rtol=1e-6)


def test_energy_is_stable_for_a_singular_covariance():
    features = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])  # second feature constant
    phi, mu, cov = gmm_parameters(features, torch.ones(3, 1))
    assert torch.isfinite(gmm_energy(features, phi, mu, cov, jitter=1e-4)).all()


def test_covariance_penalty_by_hand():
    cov = torch.stack([torch.diag(torch.tensor([2.0, 4.0])), torch.tensor([[0.5, 0.1], [0.1, 0.25]])])
    assert float(covariance_penalty(cov)) == pytest.approx(1 / 2 + 1 / 4 + 1 / 0.5 + 1 / 0.25)


def test_features_are_code_relative_distance_and_cosine():
    model = _model().eval()
    x = binary_squares(3)
    with torch.no_grad():
        features, logits = model.features(x)
        code = model.encoder(x)
        x_hat = torch.sigmoid(model.decoder(code)).flatten(1)
    flat = x.flatten(1)
    torch.testing.assert_close(features[:, :2], code)
    torch.testing.assert_close(features[:, 2], (flat - x_hat).norm(dim=1) / flat.norm(dim=1))
    torch.testing.assert_close(features[:, 3], (flat * x_hat).sum(1) / (flat.norm(dim=1) * x_hat.norm(dim=1)))


def test_loss_by_hand_and_running_mixture_set_by_first_batch():
    model = _model(lambda_energy=0.3, lambda_cov=0.02)
    x = binary_squares(6)
    twin = copy.deepcopy(model)
    torch.manual_seed(2)
    logs = model.training_step(x)  # the dropout mask is the only random draw
    torch.manual_seed(2)
    with torch.no_grad():
        features, logits = twin.features(x)
        gamma = torch.softmax(twin.estimation(features), dim=1)
        phi, mu, cov = gmm_parameters(features, gamma)
        recon = (-(x * torch.sigmoid(logits).log() + (1 - x) * (1 - torch.sigmoid(logits)).log())).flatten(1).sum(1)
        energy = gmm_energy(features, phi, mu, cov, 1e-6).mean()
    want = recon.mean() + 0.3 * energy + 0.02 * covariance_penalty(cov)
    assert logs["loss"] == pytest.approx(float(want), rel=1e-5)
    torch.testing.assert_close(model.gmm_phi, phi)
    torch.testing.assert_close(model.gmm_mu, mu)
    torch.testing.assert_close(model.gmm_cov, cov)
    assert bool(model.gmm_initialized)


def test_fit_gmm_equals_one_big_batch_and_drives_ood_score():
    model = _model().eval()
    x = binary_squares(10, seed=3)
    model.fit_gmm([x[:4], x[4:]])
    with torch.no_grad():
        features, _ = model.features(x)
        phi, mu, cov = gmm_parameters(features.double(), torch.softmax(model.estimation(features), 1).double())
    torch.testing.assert_close(model.gmm_phi, phi.float())
    torch.testing.assert_close(model.gmm_mu, mu.float(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model.gmm_cov, cov.float(), rtol=1e-3, atol=1e-5)
    with torch.no_grad():
        want = gmm_energy(features, model.gmm_phi, model.gmm_mu, model.gmm_cov, 1e-6)
    torch.testing.assert_close(model.ood_score(x), want)
    with pytest.raises(ValueError, match="no batches"):
        model.fit_gmm([])


def test_prior_sample_draws_from_the_stored_mixture():
    model = _model(n_components=1)
    model.gmm_mu.copy_(torch.tensor([[3.0, -2.0, 0.0, 0.0]]))
    model.gmm_cov.copy_(torch.diag(torch.tensor([0.25, 0.04, 1.0, 1.0]))[None])
    z = model.prior_sample(4000, torch.Generator().manual_seed(0))
    assert z.shape == (4000, 2)
    torch.testing.assert_close(z.mean(0), torch.tensor([3.0, -2.0]), atol=0.03, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([0.5, 0.2]), atol=0.02, rtol=0)


def test_defaults_and_validation():
    cfg = DAGMMConfig()
    assert (cfg.n_components, cfg.estimation_hidden, cfg.dropout, cfg.lambda_energy, cfg.lambda_cov) == (
        4, 10, 0.5, 0.1, 0.005)
    for field, value in [("n_components", 0), ("dropout", 1.5), ("lambda_energy", -1.0), ("lambda_cov", -1.0),
                         ("gmm_momentum", 2.0), ("covariance_jitter", 0.0)]:
        with pytest.raises(ValueError, match=field):
            DAGMMConfig(**{field: value})


def test_end_of_training_fit_uses_a_bounded_seeded_sample(tmp_path, capsys):
    """fit_images=6 of 20 training images: the run's mixture is fit_gmm over the 6 images the run's seed picks
    (and differs from the whole-set fit); the trainer says how many images it encodes."""
    from torch.utils.data import TensorDataset

    from gwrep.models.base import load_model
    from gwrep.train import TrainConfig, train

    images = binary_squares(20)
    cfg = TrainConfig(model="dagmm", steps=2, batch_size=4, eval_every=0, figures=False, seed=3,
                      out=str(tmp_path / "run"), model_options={"latent_dim": 2, "fit_images": 6})
    run = train(cfg, dataset=TensorDataset(images, torch.zeros(20)), progress=None)
    assert "over 6 of 20 training images" in capsys.readouterr().out
    model = load_model(run.dir / "model")
    pick = sorted(torch.randperm(20, generator=torch.Generator().manual_seed(3))[:6].tolist())
    sample, whole = copy.deepcopy(model), copy.deepcopy(model)
    sample.fit_gmm(images[pick].split(4))
    whole.fit_gmm(images.split(4))
    torch.testing.assert_close(model.gmm_mu, sample.gmm_mu, rtol=0, atol=0)
    assert not torch.allclose(model.gmm_mu, whole.gmm_mu)
    assert DAGMMConfig().fit_images == 2048 and _model(fit_images=None).train_end_images() is None
    with pytest.raises(ValueError, match="fit_images"):
        _model(fit_images=0)
