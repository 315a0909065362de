"""FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising").

VAE loss plus gamma times the total correlation estimated with the density-ratio
trick, E_q(z)[log D(z) / (1 - D(z))] (Eq. 3): D is a discriminator telling samples
of q(z) from samples of prod_d q(z_d), made by :func:`permute_dims` (Algorithm 1).
D has two logits (``[z from q(z), z from the permuted batch]``), so
log D / (1 - D) is the difference of the logits, as disentanglement_lib.

Training, per :meth:`Model.training_step` (Algorithm 1), with
``batches_per_step = 2``: the trainer draws two minibatches of ``batch_size`` images
per step, B and B' (the paper's x^(i) and x^(j), each of size m), and hands them over
as one tensor of 2m images.

1. ``loss``: the VAE update on B, D evaluated inside
   :func:`~gwrep.baselines.adversarial.frozen`, so its parameters get no gradient;
   D is not in the main optimizer either (pythae's FactorVAE lets the encoder learn
   from the discriminator loss, and its trainer backpropagates both losses before
   stepping).
2. ``after_update``: one step of D on -1/2 [mean_i log D(z_i) + mean_j log(1 -
   D(permute_dims(z')_j))], where z are the VAE step's codes of B, detached, and z'
   codes of B' drawn without gradient after the VAE update, as the algorithm orders it.
   D has its own Adam (lr 1e-4, betas (0.5, 0.9)). So D sees m codes of q(z) against m
   permuted codes of an independent batch, and the two sets are independent
   (disentanglement_lib permutes the same batch it classifies, and its one batch
   serves both updates).

Default gamma = 10, the smallest value of disentanglement_lib's study sweep (10, 20, 30,
40, 50, 100), which follows the range Kim & Mnih report on 2D Shapes; set it as the
data demands.
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
    batches_per_step = 2

    def __init__(self, config: FactorVAEConfig):
        super().__init__(config)
        self.discriminator = latent_discriminator(config.latent_dim, config.discriminator_hidden,
                                                  config.discriminator_layers, 2, leaky_slope=0.2)
        self._step_codes: Tensor | None = None  # the last training loss's codes, for D's step

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
        self._step_codes = z.detach() if self.training and torch.is_grad_enabled() else None
        return kl.sum(1).mean() + self.config.gamma * tc, {"tc": tc}

    def discriminator_loss(self, z: Tensor, z_other: Tensor, generator: torch.Generator | None = None
                           ) -> tuple[Tensor, Tensor]:
        """D's cross-entropy on q(z) samples ``z`` against ``permute_dims(z_other)``, and its accuracy."""
        logits = self.discriminator(torch.cat([z, permute_dims(z_other, generator)]))  # (2n, 2)
        labels = torch.cat([torch.zeros(len(z), dtype=torch.long, device=z.device),
                            torch.ones(len(z_other), dtype=torch.long, device=z.device)])
        accuracy = (logits.argmax(1) == labels).float().mean()
        return F.cross_entropy(logits, labels), accuracy

    def split_step_batch(self, x: Tensor) -> list[Tensor]:
        """B and B', the two minibatches of a step (each at least 2 images, so permute_dims can shuffle)."""
        batches = super().split_step_batch(x)
        if len(batches[0]) < 2:
            raise ValueError(f"FactorVAE needs a step batch of 2 x m images with m >= 2, got {x.shape[0]}")
        return batches

    def after_update(self, x: Tensor, extra: list[Tensor]) -> dict[str, float]:
        """One step of D: the VAE step's detached codes of ``x`` against permuted codes of ``extra[0]``."""
        z, self._step_codes = self._step_codes, None
        if z is None or len(z) != len(x):
            raise RuntimeError("FactorVAE.after_update needs the codes of the VAE step on x; call training_step")
        with torch.no_grad():
            z_other = self.sample_code(*self.encode(extra[0]))
        loss, accuracy = self.discriminator_loss(z, z_other)
        loss_value = self.optimizer_step("discriminator", loss)
        return {"discriminator_loss": loss_value, "discriminator_accuracy": float(accuracy)}
