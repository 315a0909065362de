"""Neural priors of GWAE: NP (one MLP on all of the noise) and FNP (one MLP per dimension).

Nakagawa et al. 2023 (GWAE), Sec. 4.2 and App. C: the prior is an implicit distribution
z = BN(h_theta(eps)), eps ~ N(0, I_d), where BN is BatchNorm1d without affine parameters
(so the prior has zero mean and unit variance per dimension and its scale cannot drift).
NP's h is an MLP d -> 4d -> 4d -> 4d -> d. FNP's h applies one scalar MLP
1 -> 4 -> 4 -> 4 -> 1 to each noise coordinate, so the prior factorizes over dimensions
(the disentanglement meta-prior). FNP runs all d MLPs at once as grouped linear maps
(weights of shape (d, out, in)), not as a Python loop.
Neither prior has a tractable density: ``log_prob`` raises ``NotImplementedError``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gwrep.config import check_positive
from gwrep.priors.base import LeakySiLU, Prior, check_momentum

__all__ = ["NeuralPrior", "FactorizedNeuralPrior", "GroupedLinear"]


def _check_common(hidden_ratio: int, num_hidden: int, negative_slope: float, batchnorm_momentum: float) -> None:
    check_positive("hidden_ratio", hidden_ratio, integer=True)
    check_positive("num_hidden", num_hidden, integer=True)
    if not isinstance(negative_slope, (int, float)) or not 0.0 <= negative_slope < 1.0:
        raise ValueError(f"negative_slope must lie in [0, 1), got {negative_slope!r}")
    check_momentum(batchnorm_momentum)


class NeuralPrior(Prior):
    """NP: z = BN(MLP(eps)), MLP d -> h d -> ... -> d with ``num_hidden`` hidden layers.

    Args:
        latent_dim: d.
        hidden_ratio: hidden width as a multiple of d (paper: 4).
        num_hidden: number of hidden layers (paper: 3).
        negative_slope: slope of the LeakySiLU activation for negative inputs (authors: 0.2).
        batchnorm_momentum: momentum of the final BatchNorm1d's running statistics (authors: 0.5).

    >>> NeuralPrior(2)(5, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([5, 2])
    """

    def __init__(self, latent_dim: int, hidden_ratio: int = 4, num_hidden: int = 3,
                 negative_slope: float = 0.2, batchnorm_momentum: float = 0.5):
        super().__init__(latent_dim)
        _check_common(hidden_ratio, num_hidden, negative_slope, batchnorm_momentum)
        width = hidden_ratio * latent_dim
        sizes = [latent_dim] + [width] * num_hidden + [latent_dim]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(LeakySiLU(negative_slope))
        self.net = nn.Sequential(*layers)
        self.norm = nn.BatchNorm1d(latent_dim, momentum=batchnorm_momentum, affine=False)

    def _sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        return self.norm(self.net(self.noise(n, generator)))


class GroupedLinear(nn.Module):
    """``groups`` independent linear maps in_features -> out_features, applied per group.

    Input (n, groups, in_features) -> output (n, groups, out_features); group k uses
    ``weight[k]`` (out, in) and ``bias[k]``. Initialised like :class:`torch.nn.Linear`
    (uniform in +-1/sqrt(in_features)), independently per group.
    """

    def __init__(self, groups: int, in_features: int, out_features: int):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(groups, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(groups, out_features).uniform_(-bound, bound))

    def forward(self, h: Tensor) -> Tensor:
        return torch.einsum("ngi,goi->ngo", h, self.weight) + self.bias  # (n, groups, out)

    def group(self, k: int) -> nn.Linear:
        """Group ``k`` as a standalone :class:`torch.nn.Linear` (a copy of its weights)."""
        out_features, in_features = self.weight.shape[1:]
        lin = nn.Linear(in_features, out_features)
        with torch.no_grad():
            lin.weight.copy_(self.weight[k])
            lin.bias.copy_(self.bias[k])
        return lin


class FactorizedNeuralPrior(Prior):
    """FNP: z_k = BN(m_k(eps_k)) with an independent scalar MLP m_k per dimension k.

    Args are those of :class:`NeuralPrior`; the hidden width is ``hidden_ratio`` (paper: 4)
    per dimension. :meth:`dimension_mlp` returns one m_k as a plain ``nn.Sequential``
    (for plots of the learned marginal transforms, and as the loop reference in tests).

    >>> prior = FactorizedNeuralPrior(3)
    >>> prior(4, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3])
    """

    def __init__(self, latent_dim: int, hidden_ratio: int = 4, num_hidden: int = 3,
                 negative_slope: float = 0.2, batchnorm_momentum: float = 0.5):
        super().__init__(latent_dim)
        _check_common(hidden_ratio, num_hidden, negative_slope, batchnorm_momentum)
        sizes = [1] + [hidden_ratio] * num_hidden + [1]
        self.layers = nn.ModuleList(GroupedLinear(latent_dim, sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))
        self.activation = LeakySiLU(negative_slope)
        self.norm = nn.BatchNorm1d(latent_dim, momentum=batchnorm_momentum, affine=False)

    def transform(self, eps: Tensor) -> Tensor:
        """The per-dimension maps before normalisation: (n, d) -> (n, d)."""
        h = eps.unsqueeze(-1)  # (n, d, 1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = self.activation(h)
        return h.squeeze(-1)  # (n, d)

    def _sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        return self.norm(self.transform(self.noise(n, generator)))

    def dimension_mlp(self, k: int) -> nn.Sequential:
        """The scalar MLP m_k of dimension ``k`` (1 -> ... -> 1), as a copy."""
        if not 0 <= k < self.latent_dim:
            raise ValueError(f"dimension {k} out of range for latent_dim={self.latent_dim}")
        layers: list[nn.Module] = []
        for i, layer in enumerate(self.layers):
            layers.append(layer.group(k))
            if i < len(self.layers) - 1:
                layers.append(LeakySiLU(self.activation.negative_slope))
        return nn.Sequential(*layers)
