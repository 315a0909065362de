"""Pieces shared by the baselines with a latent discriminator (FactorVAE, WAE-GAN).

A discriminator is an MLP on codes; the model's own training step updates it on
detached codes (WAE-GAN in ``inner_updates``, FactorVAE in ``after_update``) through
:meth:`gwrep.models.base.Model.optimizer_step`, and the main (autoencoder) loss
evaluates it inside :func:`frozen`, so no gradient of the main loss reaches its parameters.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Iterator

import torch
from torch import nn

from gwrep.config import check_positive

from gwrep.nets import mlp

__all__ = ["latent_discriminator", "frozen", "check_discriminator_options", "discriminator_optimizer"]


def latent_discriminator(latent_dim: int, hidden: int, layers: int, outputs: int,
                         leaky_slope: float | None = None) -> nn.Sequential:
    """MLP ``latent_dim -> hidden x layers -> outputs`` (logits).

    ``leaky_slope`` set: leaky ReLU with that slope (FactorVAE: 6 x 1000, slope 0.2,
    2 logits, Kim & Mnih 2018, App.); ``None``: ReLU (WAE-GAN: 4 x 512, 1 logit,
    Tolstikhin et al. 2018, App. E).
    """
    activation = nn.ReLU if leaky_slope is None else functools.partial(nn.LeakyReLU, leaky_slope)
    return mlp([latent_dim] + [hidden] * layers + [outputs], activation=activation)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Within the block, ``module``'s parameters do not require gradients.

    Operations recorded inside the block still pass gradients *through* the module to
    its inputs, but never accumulate any into its parameters.
    """
    flags = [p.requires_grad for p in module.parameters()]
    try:
        for p in module.parameters():
            p.requires_grad_(False)
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def check_discriminator_options(config: object) -> None:
    """Validate a config's ``discriminator_{hidden,layers,lr,betas}`` fields (ValueError naming the field)."""
    check_positive("discriminator_hidden", config.discriminator_hidden, integer=True)
    check_positive("discriminator_layers", config.discriminator_layers, integer=True)
    check_positive("discriminator_lr", config.discriminator_lr)
    betas = config.discriminator_betas
    if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"discriminator_betas must be two numbers in [0, 1), got {betas!r}")


def discriminator_optimizer(discriminator: nn.Module, config: object) -> torch.optim.Adam:
    """Adam over the discriminator with the config's ``discriminator_lr`` and ``discriminator_betas``."""
    return torch.optim.Adam(discriminator.parameters(), lr=config.discriminator_lr,
                            betas=tuple(config.discriminator_betas))

