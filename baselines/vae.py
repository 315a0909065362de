"""VAE (Kingma & Welling 2014) and the Gaussian-encoder base class of the VAE family.

:class:`VAE` owns the loss ``reconstruction + regulariser``; the disentangling
variants (beta-VAE, AnnealedVAE, FactorVAE, DIP-VAE, beta-TCVAE) override only
:meth:`VAE.regularizer`, as nmichlo/disent's frameworks do. Conventions of
disentanglement_lib: the encoder outputs the mean and log-variance of a diagonal
Gaussian, the reconstruction loss (Bernoulli or Gaussian, per
``ModelConfig.reconstruction_kind``) and the KL are summed over pixels and latents
and averaged over the batch, Adam with lr 1e-4 and betas (0.9, 0.999).
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Iterator

import torch
from torch import Tensor, nn

from gwrep.config import check_choice, check_positive
from gwrep.models.base import Model, ModelConfig
from gwrep.models.losses import kl_normal_standard, reconstruction_loss, reparameterize, standard_normal_log_density
from gwrep.nets import build_decoder, build_encoder

__all__ = ["eval_mode", "LatentAutoencoder", "VAEConfig", "VAE", "OOD_SCORE_KINDS"]

#: What ``VAE.ood_score`` computes: -log p(z) at the encoded mean, or the negative ELBO.
OOD_SCORE_KINDS = ("neg_log_prior", "neg_elbo")


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Within the block ``module`` is in eval mode; its previous mode is restored after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class LatentAutoencoder(Model):
    """Encoder and decoder of ``config.architecture`` with an N(0, I) prior on the code.

    The common body of the VAE family, WAE and DAGMM. A stochastic encoder outputs the
    mean and log-variance of a diagonal Gaussian q(z|x) (2 * latent_dim units); a
    deterministic one outputs the code itself and :meth:`encode` gives ``(z, None)``.
    The default OoD score is -log N(mu(x); 0, I) at the encoded mean.
    """

    def __init__(self, config: ModelConfig, stochastic: bool = True):
        super().__init__(config)
        self.stochastic = stochastic
        c = config
        self.encoder = build_encoder(c.architecture, c.image_shape, (2 if stochastic else 1) * c.latent_dim)
        self.decoder = build_decoder(c.architecture, c.image_shape, c.latent_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Mean and log-variance of q(z|x), each (N, latent_dim); ``(z, None)`` if deterministic."""
        out = self.encoder(x)
        if not self.stochastic:
            return out, None
        mean, logvar = out.chunk(2, dim=1)
        return mean, logvar

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` float32 draws of N(0, I), (n, latent_dim)."""
        return torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)

    def sample_code(self, mean: Tensor, logvar: Tensor | None) -> Tensor:
        """z ~ q(z|x) by reparameterisation; the code itself for a deterministic encoder."""
        return mean if logvar is None else reparameterize(mean, logvar)

    def reconstruction(self, x: Tensor, z: Tensor) -> Tensor:
        """Per-sample reconstruction loss of ``x`` decoded from ``z``, summed over pixels, (N,)."""
        return reconstruction_loss(x, self.decode_logits(z), self.config.reconstruction_kind)

    @torch.no_grad()
    def ood_score(self, x: Tensor) -> Tensor:
        """-log N(mu(x); 0, I) at the encoded mean, (N,); higher = more anomalous."""
        with eval_mode(self):
            return -standard_normal_log_density(self.encode(x.to(self.device))[0])


@dataclasses.dataclass
class VAEConfig(ModelConfig):
    """Options of the VAE (and, by inheritance, of the whole VAE family).

    Attributes:
        ood_score_kind: ``"neg_log_prior"`` (default): -log N(mu(x); 0, I) at the encoded
            mean; ``"neg_elbo"``: the negative ELBO, reconstruction loss + KL, estimated
            with ``ood_elbo_samples`` posterior samples from a generator seeded with
            ``ood_seed`` (so the score is deterministic).
        ood_elbo_samples: posterior samples per input for ``"neg_elbo"`` (default 4).
        ood_seed: seed of those samples (default 0).
    """

    ood_score_kind: str = "neg_log_prior"
    ood_elbo_samples: int = 4
    ood_seed: int = 0

    def validate(self) -> None:
        super().validate()
        check_choice("ood_score_kind", self.ood_score_kind, OOD_SCORE_KINDS)
        check_positive("ood_elbo_samples", self.ood_elbo_samples, integer=True)
        if not isinstance(self.ood_seed, int) or isinstance(self.ood_seed, bool):
            raise ValueError(f"ood_seed must be an integer, got {self.ood_seed!r}")


class VAE(LatentAutoencoder):
    """Variational autoencoder with a diagonal-Gaussian encoder and an N(0, I) prior.

    Loss per batch: mean_i recon(x_i) + regulariser, where the plain VAE's
    regulariser is mean_i sum_d KL(q(z_d|x_i) || N(0, 1)) (closed form, Kingma &
    Welling 2014, App. B). Subclasses override :meth:`regularizer` only.

    >>> model = VAE(VAEConfig(image_shape=(1, 28, 28), latent_dim=3))
    >>> model.represent(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 3])
    """

    config_class = VAEConfig
    config: VAEConfig

    def __init__(self, config: VAEConfig):
        super().__init__(config, stochastic=True)

    def regularizer(self, mean: Tensor, logvar: Tensor, z: Tensor, kl: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The term added to the reconstruction loss, and named terms to log.

        ``kl`` is the closed-form KL per sample and dimension, (N, D); ``z`` the
        reparameterised samples, (N, D). The VAE returns mean_i sum_d kl.
        """
        return kl.sum(1).mean(), {}

    def loss(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        mean, logvar = self.encode(x)
        z = self.sample_code(mean, logvar)
        recon = self.reconstruction(x, z).mean()
        kl = kl_normal_standard(mean, logvar)  # (N, D)
        reg, terms = self.regularizer(mean, logvar, z, kl)
        return recon + reg, {"reconstruction": recon, "kl": kl.sum(1).mean(), **terms}

    @torch.no_grad()
    def negative_elbo(self, x: Tensor, samples: int = 1, generator: torch.Generator | None = None) -> Tensor:
        """-ELBO(x) = E_q[recon(x, z)] + KL(q(z|x) || p(z)) per input, (N,), averaged over ``samples`` draws."""
        mean, logvar = self.encode(x)
        recon = torch.stack([self.reconstruction(x, reparameterize(mean, logvar, generator)) for _ in range(samples)])
        return recon.mean(0) + kl_normal_standard(mean, logvar).sum(1)

    def ood_score(self, x: Tensor) -> Tensor:
        """Higher = more anomalous, (N,): -log p(mu(x)) or the negative ELBO (``ood_score_kind``)."""
        if self.config.ood_score_kind == "neg_log_prior":
            return super().ood_score(x)
        generator = torch.Generator(device=self.device).manual_seed(self.config.ood_seed)
        with eval_mode(self):
            return self.negative_elbo(x.to(self.device), self.config.ood_elbo_samples, generator)
