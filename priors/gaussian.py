"""The fixed standard Gaussian prior N(0, I) (GWAE's non-learnable baseline prior)."""
from __future__ import annotations

import torch
from torch import Tensor

from gwrep.models.losses import standard_normal_log_density
from gwrep.priors.base import Prior

__all__ = ["GaussianPrior"]


class GaussianPrior(Prior):
    """z ~ N(0, I_d); no parameters, exact ``log_prob``.

    >>> prior = GaussianPrior(3)
    >>> prior.sample(4, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3])
    >>> prior.log_prob(torch.zeros(1, 3)).round(decimals=4)
    tensor([-2.7568])
    """

    def _sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        return self.noise(n, generator)

    def log_prob(self, z: Tensor) -> Tensor:
        """log N(z; 0, I) summed over dimensions, shape (n,)."""
        return standard_normal_log_density(z)
