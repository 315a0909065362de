"""GMP: the Gaussian-mixture prior of GWAE (the clustering meta-prior).

Nakagawa et al. 2023 (GWAE), Sec. 4.2: K components with learnable means mu_k, scale
matrices L_k and mixing logits; a sample is

    c ~ Categorical(softmax(logits)),   z' = mu_c + L_c eps,   z = BN(z'),

with eps ~ N(0, I_d) and BN a BatchNorm1d without affine parameters. Here L_k is lower
triangular (any scale matrix gives the same family; the triangular one has a cheap
log-determinant), so the covariance is L_k L_k^T.

Choosing c. The authors take the Gumbel-max argmax, which is not differentiable, so the
mixing logits never receive a gradient and stay at their random initialisation. By
default this module uses the straight-through Gumbel-softmax (Jang et al. 2017, Sec. 2.2):
the forward value is the same hard one-hot choice, the backward pass uses the gradient
of the tempered softmax, so the logits learn. ``hard_gumbel_max=True`` restores the
authors' behaviour.

Density. In training mode BN normalises with the batch's own statistics, so z depends on
the whole batch and no per-sample density exists. In eval mode BN is the fixed affine map
z = (z' - m) / s with the running statistics (m, s); :meth:`log_prob`, :meth:`posterior`
and :meth:`component` use that map (change of variables), i.e. they describe the prior
the trained model samples from in eval mode.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gwrep.config import check_positive
from gwrep.priors.base import Prior, check_momentum, standard_normal_noise

__all__ = ["GaussianMixturePrior"]

LOG_2PI = math.log(2.0 * math.pi)


class GaussianMixturePrior(Prior):
    """K-component Gaussian mixture with learnable means, scales and mixing logits.

    Args:
        latent_dim: d.
        num_components: K (the number of clusters; default 10, as the 10 MNIST classes).
        hard_gumbel_max: ``True`` = the authors' hard Gumbel-max choice (logits get no
            gradient); ``False`` (default) = straight-through Gumbel-softmax.
        temperature: Gumbel-softmax temperature of the straight-through gradient.
        init_scale: initial diagonal of L_k (the authors: identity plus 0.01 noise).
        batchnorm_momentum: momentum of the final BatchNorm1d (authors: 0.5).

    >>> prior = GaussianMixturePrior(2, num_components=3)
    >>> z, c = prior.sample(5, generator=torch.Generator().manual_seed(0), return_component=True)
    >>> z.shape, c.shape, bool(prior.posterior(z).sum(-1).allclose(torch.ones(5)))
    (torch.Size([5, 2]), torch.Size([5]), True)
    """

    def __init__(self, latent_dim: int, num_components: int = 10, hard_gumbel_max: bool = False,
                 temperature: float = 1.0, init_scale: float = 1.0, batchnorm_momentum: float = 0.5):
        super().__init__(latent_dim)
        check_positive("num_components", num_components, integer=True)
        check_positive("temperature", temperature)
        check_positive("init_scale", init_scale)
        check_momentum(batchnorm_momentum)
        if not isinstance(hard_gumbel_max, bool):
            raise ValueError(f"hard_gumbel_max must be True or False, got {hard_gumbel_max!r}")
        self.num_components = num_components
        self.hard_gumbel_max = hard_gumbel_max
        self.temperature = float(temperature)
        k, d = num_components, latent_dim
        self.means = nn.Parameter(torch.randn(k, d))
        scale = init_scale * torch.eye(d).expand(k, d, d) + 0.01 * torch.randn(k, d, d)
        self.scale_raw = nn.Parameter(scale.tril())
        self.logits = nn.Parameter(torch.randn(k))
        self.norm = nn.BatchNorm1d(latent_dim, momentum=batchnorm_momentum, affine=False)
        self.register_buffer("_tril_mask", torch.ones(d, d).tril().bool(), persistent=False)

    @property
    def scale_tril(self) -> Tensor:
        """The lower-triangular scale matrices L_k, shape (K, d, d)."""
        return self.scale_raw * self._tril_mask

    @property
    def mixing_weights(self) -> Tensor:
        """softmax(logits), shape (K,)."""
        return torch.softmax(self.logits, dim=0)

    def _choose(self, n: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """One-hot component weights (n, K) (straight-through unless hard) and indices (n,)."""
        log_pi = torch.log_softmax(self.logits, dim=0)
        u = torch.rand((n, self.num_components), generator=generator,
                       device=generator.device if generator is not None else log_pi.device, dtype=log_pi.dtype)
        u = u.to(log_pi.device).clamp(min=torch.finfo(log_pi.dtype).tiny, max=1.0 - torch.finfo(log_pi.dtype).eps)
        scores = log_pi + (-torch.log(-torch.log(u)))  # (n, K): Gumbel-perturbed log-weights
        index = scores.argmax(dim=1)
        hard = F.one_hot(index, self.num_components).to(log_pi.dtype)
        if self.hard_gumbel_max:
            return hard, index
        soft = torch.softmax(scores / self.temperature, dim=1)
        return hard + soft - soft.detach(), index

    def sample(self, n: int, generator: torch.Generator | None = None,
               return_component: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """``n`` samples (n, d); with ``return_component=True`` also their components (n,)."""
        check_positive("n", n, integer=True)
        weights, index = self._choose(n, generator)
        eps = standard_normal_noise((n, self.latent_dim), self.means, generator)
        if self.hard_gumbel_max:
            z = self.means[index] + torch.einsum("nij,nj->ni", self.scale_tril[index], eps)
        else:
            # every component's candidate, so the weights' straight-through gradient sees all of them
            candidates = self.means + torch.einsum("kij,nj->nki", self.scale_tril, eps)  # (n, K, d)
            z = torch.einsum("nk,nkd->nd", weights, candidates)
        z = self.norm(z)
        return (z, index) if return_component else z

    def _sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        return self.sample(n, generator)

    # ------------------------------------------------------------ density side
    def _unnormalize(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Invert the eval-mode BN map: z' = z * s + m; returns z' and log|det dz'/dz| = sum log s."""
        std = torch.sqrt(self.norm.running_var + self.norm.eps)
        return z * std + self.norm.running_mean, torch.log(std).sum()

    def component_log_density(self, z: Tensor) -> Tensor:
        """log pi_k + log p(z | k) for every component, shape (n, K) (eval-mode BN map)."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (n, {self.latent_dim}), got {tuple(z.shape)}")
        z_pre, log_det = self._unnormalize(z)
        scale = self.scale_tril
        diff = (z_pre[None] - self.means[:, None]).transpose(1, 2)  # (K, d, n)
        white = torch.linalg.solve_triangular(scale, diff, upper=False)  # L_k^{-1} (z' - mu_k)
        log_det_scale = torch.log(torch.diagonal(scale, dim1=1, dim2=2).abs()).sum(-1)  # (K,)
        log_normal = -0.5 * (white.pow(2).sum(1) + self.latent_dim * LOG_2PI) - log_det_scale[:, None]  # (K, n)
        return (log_normal + log_det).T + torch.log_softmax(self.logits, dim=0)

    def log_prob(self, z: Tensor) -> Tensor:
        """log p(z) of the mixture pushed through the eval-mode BN map, shape (n,)."""
        return torch.logsumexp(self.component_log_density(z), dim=1)

    def posterior(self, z: Tensor) -> Tensor:
        """Component responsibilities p(k | z), shape (n, K); rows sum to one."""
        return torch.softmax(self.component_log_density(z), dim=1)

    def component(self, z: Tensor) -> Tensor:
        """The most probable component of each code (cluster assignment), shape (n,)."""
        return self.component_log_density(z).argmax(dim=1)

    def extra_repr(self) -> str:
        return (f"latent_dim={self.latent_dim}, num_components={self.num_components}, "
                f"hard_gumbel_max={self.hard_gumbel_max}, temperature={self.temperature}")
