"""Loss pieces shared by every model (one definition each, no copies in model files).

Conventions (docs/design.md, as disentanglement_lib): per sample, summed over pixels and
latent dimensions, then averaged over the batch.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "reconstruction_loss",
    "kl_normal_standard",
    "kl_normal_normal",
    "gaussian_log_density",
    "standard_normal_log_density",
    "reparameterize",
    "gaussian_entropy_term",
]

LOG_2PI = math.log(2.0 * math.pi)


def reconstruction_loss(x: Tensor, logits: Tensor, kind: str) -> Tensor:
    """Per-sample reconstruction loss, summed over pixels, shape (N,).

    ``kind="bernoulli"``: binary cross-entropy with the decoder's logits (dlib's
    ``bernoulli_loss``). ``kind="gaussian"``: squared error of ``sigmoid(logits)``
    against ``x`` (dlib's ``l2_loss``; a fixed-variance Gaussian up to constants).
    """
    if kind == "bernoulli":
        loss = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif kind == "gaussian":
        loss = (torch.sigmoid(logits) - x).pow(2)
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}; choose 'bernoulli' or 'gaussian'")
    return loss.flatten(1).sum(1)


def kl_normal_standard(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per dimension, shape like ``mean``.

    Closed form 0.5 (mu^2 + sigma^2 - log sigma^2 - 1) (Kingma & Welling 2014, App. B).
    """
    return 0.5 * (mean.pow(2) + logvar.exp() - logvar - 1.0)


def kl_normal_normal(mean: Tensor, logvar: Tensor, prior_mean: Tensor, prior_logvar: Tensor) -> Tensor:
    """KL(N(mean, exp(logvar)) || N(prior_mean, exp(prior_logvar))) per dimension, shape like ``mean``.

    Closed form 0.5 (log s_p^2 - log s_q^2 + (s_q^2 + (m_q - m_p)^2) / s_p^2 - 1); with
    ``prior_mean = 0`` and ``prior_logvar = 0`` it is :func:`kl_normal_standard`.
    """
    return 0.5 * (prior_logvar - logvar + (logvar.exp() + (mean - prior_mean).pow(2)) * torch.exp(-prior_logvar) - 1.0)


def gaussian_log_density(z: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """Elementwise log N(z; mean, exp(logvar)) (no sum over dimensions)."""
    return -0.5 * (LOG_2PI + logvar + (z - mean).pow(2) * torch.exp(-logvar))


def standard_normal_log_density(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over the last dimension, shape (N,)."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)


def reparameterize(mean: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """z = mean + exp(logvar / 2) * eps, eps ~ N(0, I) (the reparameterization trick)."""
    eps = torch.randn(mean.shape, dtype=mean.dtype, device=mean.device, generator=generator)
    return mean + torch.exp(0.5 * logvar) * eps


def gaussian_entropy_term(logvar: Tensor) -> Tensor:
    """GWAE's L_H: - mean over the batch of sum_k log sigma_k^2 (docs/design.md)."""
    return -logvar.sum(-1).mean()
