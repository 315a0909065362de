"""The prior interface shared by every GWAE meta-prior, and the pieces they reuse.

A prior is an :class:`torch.nn.Module` over codes z in R^d. ``prior(n)`` (or
``prior.sample(n, generator)``) returns ``n`` reparameterized samples of shape (n, d):
the randomness is parameter-free noise pushed through a differentiable map, so the
GW and critic losses of GWAE reach the prior's parameters (Nakagawa et al. 2023, Sec. 4).
``log_prob(z)`` gives the log-density where one exists; implicit priors raise
``NotImplementedError`` saying so.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gwrep.config import check_positive

__all__ = ["Prior", "LeakySiLU", "standard_normal_noise", "check_momentum", "frozen_running_stats"]


def check_momentum(value: float) -> None:
    """Raise ``ValueError`` unless ``0 < batchnorm_momentum <= 1``."""
    if not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise ValueError(f"batchnorm_momentum must lie in (0, 1], got {value!r}")


def standard_normal_noise(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    """N(0, I) noise of ``shape`` with ``like``'s dtype and device, drawn from ``generator``.

    The noise is drawn on the generator's device (so a CPU generator works for a CUDA
    model) and then moved, which keeps "same seed, same numbers" on CPU.
    """
    device = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


@contextlib.contextmanager
def frozen_running_stats(module: nn.Module) -> Iterator[None]:
    """Inside the block, ``module``'s batch norms leave their running statistics alone.

    Each BatchNorm layer still normalises with the statistics of the batch it sees in
    training mode (Ioffe & Szegedy 2015, Alg. 1, as in a training step); only the update of
    ``running_mean``, ``running_var`` and ``num_batches_tracked`` is skipped, by turning off
    ``track_running_stats`` for the block (restored after). GWAE's critic steps draw extra
    prior samples with this, so the eval-mode prior is updated once per training step
    whichever sampling option is chosen. In eval mode the running statistics are used as usual.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    flags = [m.track_running_stats for m in norms]
    for m in norms:
        if m.training:
            m.track_running_stats = False
    try:
        yield
    finally:
        for m, flag in zip(norms, flags):
            m.track_running_stats = flag


class LeakySiLU(nn.Module):
    """(1 - a) * silu(x) + a * x: the GWAE authors' prior activation (a = 0.2).

    >>> LeakySiLU(0.2)(torch.tensor([0.0, -10.0])).round(decimals=3).tolist()
    [0.0, -2.0]
    """

    def __init__(self, negative_slope: float = 0.2):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Tensor) -> Tensor:
        return (1.0 - self.negative_slope) * F.silu(x) + self.negative_slope * x


class Prior(nn.Module):
    """Base class: ``sample(n, generator) -> (n, latent_dim)``; ``forward(n)`` samples.

    Subclasses implement :meth:`_sample`. A parameter-free buffer tracks the module's
    device and dtype so priors without parameters (the Gaussian) sample in the right place.
    """

    def __init__(self, latent_dim: int):
        super().__init__()
        check_positive("latent_dim", latent_dim, integer=True)
        self.latent_dim = latent_dim
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` reparameterized samples, shape (n, latent_dim), differentiable in the parameters."""
        check_positive("n", n, integer=True)
        return self._sample(n, generator)

    def forward(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.sample(n, generator)

    def _sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Base noise eps ~ N(0, I), shape (n, latent_dim)."""
        return standard_normal_noise((n, self.latent_dim), self._anchor, generator)

    def log_prob(self, z: Tensor) -> Tensor:
        """log p(z) per row, shape (n,); implicit priors raise ``NotImplementedError``."""
        raise NotImplementedError(
            f"{type(self).__name__} is an implicit distribution (a neural network pushing noise forward); "
            "it has no tractable log-density. Use the 'gaussian' or 'gmp' prior for log_prob.")

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}"
