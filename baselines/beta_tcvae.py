"""beta-TCVAE (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs").

The KL term is split into index-code mutual information, total correlation and
dimension-wise KL (Eq. 2), each estimated on the batch with minibatch weighted
sampling (MWS, Sec. 4.1) or minibatch stratified sampling (MSS, Appendix C), and
weighted alpha, beta, gamma (Eq. 4):

    loss = mean_i recon(x_i) + alpha * MI + beta * TC + gamma * DWKL.

With alpha = gamma = 1 this is the ELBO with (beta - 1) extra TC. disentanglement_lib
instead adds (beta - 1) * TC to the closed-form KL and drops the estimator's log(N B)
terms (see :func:`~gwrep.baselines.regularizers.tc_decomposition`); here all three
terms are the paper's sample estimates, and the closed-form KL is logged beside them.

The data-set size N enters both estimators (``dataset_size``; its default is the size
of dSprites, 737280: set it to the training set's size). beta = 6 is the default,
the middle of Chen et al.'s and disentanglement_lib's sweeps (1 to 10).
"""
from __future__ import annotations

import dataclasses

from torch import Tensor

from gwrep.config import check_choice, check_nonnegative, check_positive

from gwrep.baselines.regularizers import TC_ESTIMATORS, tc_decomposition
from gwrep.baselines.vae import VAE, VAEConfig

__all__ = ["BetaTCVAEConfig", "BetaTCVAE"]


@dataclasses.dataclass
class BetaTCVAEConfig(VAEConfig):
    """Options of beta-TCVAE (plus those of :class:`VAEConfig`).

    Attributes:
        beta: weight of the total correlation (default 6).
        alpha: weight of the index-code mutual information (default 1, as the paper).
        gamma: weight of the dimension-wise KL (default 1, as the paper).
        estimator: ``"mws"`` (default) or ``"mss"``, the minibatch estimator of log q(z).
        dataset_size: N, the number of training images (default 737280, dSprites).
    """

    beta: float = 6.0
    alpha: float = 1.0
    gamma: float = 1.0
    estimator: str = "mws"
    dataset_size: int = 737280

    def validate(self) -> None:
        super().validate()
        for name in ("beta", "alpha", "gamma"):
            check_nonnegative(name, getattr(self, name))
        check_choice("estimator", self.estimator, TC_ESTIMATORS)
        check_positive("dataset_size", self.dataset_size, integer=True)


class BetaTCVAE(VAE):
    """beta-TCVAE: alpha MI + beta TC + gamma dimension-wise KL in place of the KL."""

    config_class = BetaTCVAEConfig
    config: BetaTCVAEConfig

    def regularizer(self, mean: Tensor, logvar: Tensor, z: Tensor, kl: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        cfg = self.config
        parts = tc_decomposition(z, mean, logvar, cfg.dataset_size, cfg.estimator)
        reg = (cfg.alpha * parts["mutual_information"] + cfg.beta * parts["total_correlation"]
               + cfg.gamma * parts["dimensionwise_kl"])
        return reg, parts
