"""beta-VAE (Higgins et al. 2017): the KL term weighted by beta > 1.

Loss: mean_i [recon(x_i) + beta * sum_d KL(q(z_d|x_i) || N(0, 1))]. The default
beta = 4 is the value Higgins et al. report for dSprites (and one point of
disentanglement_lib's sweep 1, 2, 4, 6, 8, 16).
"""
from __future__ import annotations

import dataclasses

from torch import Tensor

from gwrep.config import check_nonnegative

from gwrep.baselines.vae import VAE, VAEConfig

__all__ = ["BetaVAEConfig", "BetaVAE"]


@dataclasses.dataclass
class BetaVAEConfig(VAEConfig):
    """Options of beta-VAE (plus those of :class:`VAEConfig`).

    Attributes:
        beta: weight of the KL term (default 4; 1 is the plain VAE).
    """

    beta: float = 4.0

    def validate(self) -> None:
        super().validate()
        check_nonnegative("beta", self.beta)


class BetaVAE(VAE):
    """beta-VAE: ``beta * KL`` in place of the VAE's KL."""

    config_class = BetaVAEConfig
    config: BetaVAEConfig

    def regularizer(self, mean: Tensor, logvar: Tensor, z: Tensor, kl: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return self.config.beta * kl.sum(1).mean(), {}
