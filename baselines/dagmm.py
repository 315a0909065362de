"""DAGMM, the Deep Autoencoding Gaussian Mixture Model (Zong et al. 2018, ICLR).

A compression network (the project's autoencoder, deterministic) gives each image the
feature z = [z_c, e_euclid, e_cosine]: its code, the relative Euclidean distance
||x - x'|| / ||x|| and the cosine similarity of x and its reconstruction x' (Eq. 1-3).
An estimation network (MLP, tanh, dropout, softmax) predicts soft memberships gamma of
K mixture components (Eq. 4). From a batch (Eq. 5):

    phi_k = mean_i gamma_ik,  mu_k = sum_i gamma_ik z_i / sum_i gamma_ik,
    Sigma_k = sum_i gamma_ik (z_i - mu_k)(z_i - mu_k)^T / sum_i gamma_ik,

the sample energy (Eq. 6) is
E(z) = -log sum_k phi_k N(z; mu_k, Sigma_k), and the loss (Eq. 7)

    mean_i recon(x_i) + lambda_1 mean_i E(z_i) + lambda_2 sum_k sum_j 1 / Sigma_k,jj.

Covariances get ``covariance_jitter`` on the diagonal and are factorised by Cholesky.
The OoD score is E(z) under mixture parameters kept as buffers (saved with the
weights). When training ends, the trainer calls :meth:`DAGMM.on_train_end`, which sets
them to the paper's estimate, Eq. 5 over the whole training set (:meth:`DAGMM.fit_gmm`),
for the final model and for the run's best one. Until then (mid-run checkpoints, a model
stepped by hand) they hold exponential moving averages (``gmm_momentum``) of the
training batches' estimates, which is not the paper's. Other differences from the paper:
the reconstruction term is the project's loss (Bernoulli for gray images; the paper
uses the squared error) and the compression network is ``config.architecture``. Defaults lambda_1 = 0.1, lambda_2 = 0.005, dropout 0.5
and K = 4, as the paper's KDDCUP set-up.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gwrep.config import check_nonnegative, check_positive, check_probability
from gwrep.models.base import ModelConfig
from gwrep.models.losses import LOG_2PI, reconstruction_loss

from gwrep.baselines.vae import LatentAutoencoder, eval_mode

__all__ = ["DAGMMConfig", "DAGMM", "gmm_parameters", "gmm_energy", "covariance_penalty"]

def gmm_parameters(features: Tensor, gamma: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Mixture weights (K,), means (K, F) and covariances (K, F, F) from memberships (Eq. 5).

    ``features`` is (N, F); ``gamma`` (N, K) are soft memberships whose rows sum to one.
    """
    mass = gamma.sum(0)  # (K,)
    phi = mass / features.shape[0]
    mu = gamma.T @ features / mass[:, None]  # (K, F)
    centred = features[None, :, :] - mu[:, None, :]  # (K, N, F)
    cov = torch.einsum("nk,knf,kng->kfg", gamma, centred, centred) / mass[:, None, None]
    return phi, mu, cov


def gmm_energy(features: Tensor, phi: Tensor, mu: Tensor, cov: Tensor, jitter: float = 1e-6) -> Tensor:
    """Sample energy E(z) = -log sum_k phi_k N(z; mu_k, Sigma_k + jitter I), (N,) (Eq. 6).

    ``features`` (N, F), ``phi`` (K,), ``mu`` (K, F), ``cov`` (K, F, F).
    """
    f = features.shape[1]
    eye = torch.eye(f, dtype=cov.dtype, device=cov.device)
    chol = torch.linalg.cholesky(cov + jitter * eye)  # (K, F, F)
    centred = (features[None, :, :] - mu[:, None, :]).transpose(1, 2)  # (K, F, N)
    whitened = torch.linalg.solve_triangular(chol, centred, upper=False)  # (K, F, N)
    mahalanobis = whitened.pow(2).sum(1)  # (K, N)
    log_det = 2.0 * torch.diagonal(chol, dim1=1, dim2=2).log().sum(1)  # (K,)
    log_component = -0.5 * (mahalanobis + log_det[:, None] + f * LOG_2PI)  # (K, N)
    return -torch.logsumexp(torch.log(phi)[:, None] + log_component, dim=0)


def covariance_penalty(cov: Tensor) -> Tensor:
    """P(Sigma) = sum_k sum_j 1 / Sigma_k,jj, penalising singular components (Eq. 7)."""
    return torch.diagonal(cov, dim1=1, dim2=2).reciprocal().sum()


@dataclasses.dataclass
class DAGMMConfig(ModelConfig):
    """Options of DAGMM (plus those of :class:`~gwrep.models.base.ModelConfig`).

    Attributes:
        n_components: K, mixture components (default 4).
        estimation_hidden: hidden units of the estimation network (default 10).
        dropout: dropout probability in the estimation network (default 0.5).
        lambda_energy: lambda_1, weight of the mean sample energy (default 0.1).
        lambda_cov: lambda_2, weight of the covariance penalty P(Sigma) (default 0.005).
        gmm_momentum: weight of each training batch in the running mixture parameters
            used until training ends (default 0.1; the first batch sets them).
        covariance_jitter: added to every covariance diagonal before Cholesky (default 1e-6).
        fit_images: training images the end-of-training mixture fit (Eq. 5) encodes: a
            seeded random sample of this many (default 2048: about as long as a few training
            steps, so a short run is not dominated by the fit; with K = 4 components each
            component's moments rest on ~500 images), or ``None`` for the whole training set
            as the paper (shapes2d's 590k images: more than 10 minutes on a CPU).
    """

    n_components: int = 4
    estimation_hidden: int = 10
    dropout: float = 0.5
    lambda_energy: float = 0.1
    lambda_cov: float = 0.005
    gmm_momentum: float = 0.1
    covariance_jitter: float = 1e-6
    fit_images: int | None = 2048

    def validate(self) -> None:
        super().validate()
        check_positive("n_components", self.n_components, integer=True)
        check_positive("estimation_hidden", self.estimation_hidden, integer=True)
        check_probability("dropout", self.dropout)
        check_nonnegative("lambda_energy", self.lambda_energy)
        check_nonnegative("lambda_cov", self.lambda_cov)
        check_probability("gmm_momentum", self.gmm_momentum)
        check_positive("covariance_jitter", self.covariance_jitter)
        if self.fit_images is not None:
            check_positive("fit_images", self.fit_images, integer=True)


class DAGMM(LatentAutoencoder):
    """Compression autoencoder + estimation network + GMM energy."""

    config_class = DAGMMConfig
    config: DAGMMConfig

    def __init__(self, config: DAGMMConfig):
        super().__init__(config, stochastic=False)
        f, k = config.latent_dim + 2, config.n_components
        self.estimation = nn.Sequential(nn.Linear(f, config.estimation_hidden), nn.Tanh(),
                                        nn.Dropout(config.dropout), nn.Linear(config.estimation_hidden, k))
        self.register_buffer("gmm_phi", torch.full((k,), 1.0 / k))
        self.register_buffer("gmm_mu", torch.zeros(k, f))
        self.register_buffer("gmm_cov", torch.eye(f).repeat(k, 1, 1))
        self.register_buffer("gmm_initialized", torch.zeros((), dtype=torch.bool))

    def features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The feature z = [z_c, relative distance, cosine similarity], (N, F), and the pixel logits."""
        z_c = self.encoder(x)
        logits = self.decode_logits(z_c)
        flat, flat_hat = x.flatten(1), torch.sigmoid(logits).flatten(1)
        relative = (flat - flat_hat).norm(dim=1) / flat.norm(dim=1).clamp_min(1e-8)
        cosine = F.cosine_similarity(flat, flat_hat, dim=1)
        return torch.cat([z_c, relative[:, None], cosine[:, None]], dim=1), logits

    def loss(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        features, logits = self.features(x)
        recon = reconstruction_loss(x, logits, self.config.reconstruction_kind).mean()
        gamma = torch.softmax(self.estimation(features), dim=1)  # (N, K)
        phi, mu, cov = gmm_parameters(features, gamma)
        energy = gmm_energy(features, phi, mu, cov, self.config.covariance_jitter).mean()
        penalty = covariance_penalty(cov)
        if self.training:
            self._update_running_gmm(phi.detach(), mu.detach(), cov.detach())
        total = recon + self.config.lambda_energy * energy + self.config.lambda_cov * penalty
        return total, {"reconstruction": recon, "energy": energy, "covariance_penalty": penalty}

    @torch.no_grad()
    def _update_running_gmm(self, phi: Tensor, mu: Tensor, cov: Tensor) -> None:
        m = 1.0 if not bool(self.gmm_initialized) else self.config.gmm_momentum
        for buffer, value in ((self.gmm_phi, phi), (self.gmm_mu, mu), (self.gmm_cov, cov)):
            buffer.mul_(1.0 - m).add_(m * value)
        self.gmm_initialized.fill_(True)

    @torch.no_grad()
    def fit_gmm(self, batches: Iterable[Tensor]) -> None:
        """Set the mixture buffers to the paper's estimate over all images in ``batches`` (Eq. 5).

        Accumulates sum gamma, sum gamma z and sum gamma z z^T in float64 over the batches.
        """
        mass = first = second = None
        count = 0
        with eval_mode(self):
            for x in batches:
                features, _ = self.features(x.to(self.device))
                gamma = torch.softmax(self.estimation(features), dim=1).double()
                features = features.double()
                terms = (gamma.sum(0), gamma.T @ features, torch.einsum("nk,nf,ng->kfg", gamma, features, features))
                mass, first, second = terms if mass is None else (mass + terms[0], first + terms[1], second + terms[2])
                count += len(x)
        if mass is None:
            raise ValueError("fit_gmm got no batches")
        mu = first / mass[:, None]
        cov = second / mass[:, None, None] - mu[:, :, None] * mu[:, None, :]
        self.gmm_phi.copy_(mass / count)
        self.gmm_mu.copy_(mu)
        self.gmm_cov.copy_(cov)
        self.gmm_initialized.fill_(True)

    def on_train_end(self, batches: Iterable[Tensor]) -> None:
        """The mixture of the energy becomes the training-set estimate (:meth:`fit_gmm`, Eq. 5)."""
        self.fit_gmm(batches)

    def train_end_images(self) -> int | None:
        """``fit_images``: the mixture is fitted on a bounded seeded sample (``None``: every training image)."""
        return self.config.fit_images

    @torch.no_grad()
    def ood_score(self, x: Tensor) -> Tensor:
        """Sample energy E(z(x)) under the stored mixture, (N,); higher = more anomalous."""
        with eval_mode(self):
            features, _ = self.features(x.to(self.device))
            return gmm_energy(features, self.gmm_phi, self.gmm_mu, self.gmm_cov, self.config.covariance_jitter)

    @torch.no_grad()
    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Codes z_c of ``n`` draws from the stored mixture over features, (n, latent_dim)."""
        component = torch.multinomial(self.gmm_phi, n, replacement=True, generator=generator)  # (n,)
        f = self.gmm_mu.shape[1]
        chol = torch.linalg.cholesky(self.gmm_cov + self.config.covariance_jitter * torch.eye(f, device=self.device))
        eps = torch.randn(n, f, 1, generator=generator, device=self.device)
        draws = self.gmm_mu[component] + (chol[component] @ eps).squeeze(2)
        return draws[:, : self.config.latent_dim]
