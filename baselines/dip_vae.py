"""DIP-VAE-I and DIP-VAE-II (Kumar et al. 2018, "Variational Inference of Disentangled
Latent Concepts from Unlabeled Observations").

Loss: the VAE loss plus the DIP penalty (Eq. 6)
lambda_od sum_{i!=j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2, on the batch estimate of
C = Cov_p(x)[mu(x)] for DIP-VAE-I, or of C = Cov_q(z)[z] = Cov[mu(x)] + E[diag sigma^2(x)]
for DIP-VAE-II (Eq. 7). See :mod:`gwrep.baselines.regularizers` for the covariance
(and the nmichlo/disent DIP-VAE-II bug it avoids).

Defaults: lambda_od = 10 (Kumar et al.'s dSprites setting and the middle of
disentanglement_lib's sweep 1, 2, 5, 10, 20, 50); lambda_d unset means the paper's
rule, lambda_d = 10 lambda_od for DIP-VAE-I and lambda_d = lambda_od for DIP-VAE-II.
"""
from __future__ import annotations

import dataclasses

from torch import Tensor

from gwrep.config import check_choice, check_nonnegative

from gwrep.baselines.regularizers import covariance_of_mean, dip_ii_covariance, dip_penalty
from gwrep.baselines.vae import VAE, VAEConfig

__all__ = ["DIPVAEConfig", "DIPVAE", "DIP_VARIANTS"]

#: DIP-VAE variants: which covariance is pushed towards the identity.
DIP_VARIANTS = ("i", "ii")


@dataclasses.dataclass
class DIPVAEConfig(VAEConfig):
    """Options of DIP-VAE (plus those of :class:`VAEConfig`).

    Attributes:
        variant: ``"i"`` (covariance of the encoder mean) or ``"ii"`` (covariance of z
            under the aggregate posterior); default ``"i"``.
        lambda_od: weight of the squared off-diagonal entries (default 10).
        lambda_d: weight of the squared diagonal-minus-one entries; ``None`` (default)
            gives 10 * lambda_od for variant "i" and lambda_od for "ii".
    """

    variant: str = "i"
    lambda_od: float = 10.0
    lambda_d: float | None = None

    def validate(self) -> None:
        super().validate()
        check_choice("variant", self.variant, DIP_VARIANTS)
        check_nonnegative("lambda_od", self.lambda_od)
        if self.lambda_d is not None:
            check_nonnegative("lambda_d", self.lambda_d)

    @property
    def resolved_lambda_d(self) -> float:
        """lambda_d, with the paper's rule applied when it is unset."""
        if self.lambda_d is not None:
            return self.lambda_d
        return 10.0 * self.lambda_od if self.variant == "i" else self.lambda_od


class DIPVAE(VAE):
    """DIP-VAE: KL plus the DIP penalty on the (I) mean or (II) full code covariance."""

    config_class = DIPVAEConfig
    config: DIPVAEConfig

    def regularizer(self, mean: Tensor, logvar: Tensor, z: Tensor, kl: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        cov = covariance_of_mean(mean) if self.config.variant == "i" else dip_ii_covariance(mean, logvar)
        penalty = dip_penalty(cov, self.config.lambda_od, self.config.resolved_lambda_d)
        return kl.sum(1).mean() + penalty, {"dip": penalty}
