"""FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising").

VAE loss plus gamma times the total correlation estimated with the density-ratio
trick, E_q(z)[log D(z) / (1 - D(z))] (Eq. 3): D is a discriminator telling samples
of q(z) from samples of prod_d q(z_d), made by :func:`permute_dims` (Algorithm 1).
D has two logits (``[z from q(z), z from the permuted batch]``), so
log D / (1 - D) is the difference of the logits, as disentanglement_lib.

Training, per :meth:`Model.training_step` (Algorithm 1):

1. ``inner_updates``: the batch is split in two halves. Codes of the first half are
   the q(z) samples; codes of the *second* half, permuted, are the prod_d q(z_d)
   samples, so the two are independent, as the paper's second minibatch x^(j)
   (disentanglement_lib permutes the same batch it classifies). Both are computed
   without gradient (detached); D is updated on
   -1/2 [mean log D(z) + mean log(1 - D(permute_dims(z')))] with its own Adam
   (lr 1e-4, betas (0.5, 0.9)), its gradients zeroed first.
2. ``loss``: the VAE update on the whole batch, D evaluated inside
   :func:`~gwrep.baselines.adversarial.frozen`, so its parameters get no gradient;
   D is not in the main optimizer either (pythae's FactorVAE lets the encoder learn
   from the discriminator loss, and its trainer backpropagates both losses before
   stepping).

The paper updates the VAE first and D second in each iteration; here D goes first,
which over a run differs only in the first step. Default gamma = 10, the smallest
value of disentanglement_lib's study sweep (10, 20, 30, 40, 50, 100), which follows the
range Kim & Mnih report on 2D Shapes; set it as the data demands.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor

from gwrep.config import check_nonnegative
from gwrep.models.base import parameters_of

from gwrep.baselines.adversarial import (check_discriminator_options, discriminator_optimizer, frozen,
                                         latent_discriminator)
from gwrep.baselines.regularizers import permute_dims
from gwrep.baselines.vae import VAE, VAEConfig

__all__ = ["FactorVAEConfig", "FactorVAE"]


@dataclasses.dataclass
class FactorVAEConfig(VAEConfig):
    """Options of FactorVAE (plus those of :class:`VAEConfig`).

    Attributes:
        gamma: weight of the total-correlation term (default 10).
        discriminator_hidden: units per hidden layer of D (default 1000).
        discriminator_layers: hidden layers of D (default 6), leaky ReLU 0.2.
        discriminator_lr: Adam learning rate of D (default 1e-4).
        discriminator_betas: Adam betas of D (default (0.5, 0.9)).
    """

    gamma: float = 10.0
    discriminator_hidden: int = 1000
    discriminator_layers: int = 6
    discriminator_lr: float = 1e-4
    discriminator_betas: tuple[float, float] = (0.5, 0.9)

    def validate(self) -> None:
        super().validate()
        check_nonnegative("gamma", self.gamma)
        check_discriminator_options(self)


class FactorVAE(VAE):
    """VAE + gamma * TC estimated by a discriminator on permuted codes."""

    config_class = FactorVAEConfig
    config: FactorVAEConfig

    def __init__(self, config: FactorVAEConfig):
        super().__init__(config)
        self.discriminator = latent_discriminator(config.latent_dim, config.discriminator_hidden,
                                                  config.discriminator_layers, 2, leaky_slope=0.2)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.config
        return {
            "main": torch.optim.Adam(parameters_of(self.encoder, self.decoder), lr=cfg.lr),
            "discriminator": discriminator_optimizer(self.discriminator, cfg),
        }

    def regularizer(self, mean: Tensor, logvar: Tensor, z: Tensor, kl: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        with frozen(self.discriminator):
            logits = self.discriminator(z)  # (N, 2)
        tc = (logits[:, 0] - logits[:, 1]).mean()
        return kl.sum(1).mean() + self.config.gamma * tc, {"tc": tc}

    def discriminator_loss(self, z: Tensor, z_other: Tensor, generator: torch.Generator | None = None
                           ) -> tuple[Tensor, Tensor]:
        """D's cross-entropy on q(z) samples ``z`` against ``permute_dims(z_other)``, and its accuracy."""
        logits = self.discriminator(torch.cat([z, permute_dims(z_other, generator)]))  # (2n, 2)
        labels = torch.cat([torch.zeros(len(z), dtype=torch.long, device=z.device),
                            torch.ones(len(z_other), dtype=torch.long, device=z.device)])
        accuracy = (logits.argmax(1) == labels).float().mean()
        return F.cross_entropy(logits, labels), accuracy

    def inner_updates(self, x: Tensor) -> dict[str, float]:
        """One discriminator step on detached codes of the two halves of ``x``."""
        n = x.shape[0] // 2
        if n < 2:
            raise ValueError(f"FactorVAE needs a batch of at least 4 images (two halves), got {x.shape[0]}")
        with torch.no_grad():
            z = self.sample_code(*self.encode(x[: 2 * n]))
        loss, accuracy = self.discriminator_loss(z[:n], z[n:])
        loss_value = self.optimizer_step("discriminator", loss)
        return {"discriminator_loss": loss_value, "discriminator_accuracy": float(accuracy)}
