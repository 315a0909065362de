"""Divergences between point clouds for WAE-like terms: the Sinkhorn divergence and IMQ-kernel MMD."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gwrep.ot.utils import as_tensor, check_epsilon, check_finite, check_marginal, check_precision

__all__ = ["sinkhorn_divergence", "mmd_imq", "WAE_IMQ_SCALES"]

#: The multipliers of the base constant the WAE authors sum the IMQ kernel over (Tolstikhin et al. 2018).
WAE_IMQ_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def _check_clouds(x: Any, y: Any) -> tuple[Tensor, Tensor]:
    x, y = as_tensor("x", x), as_tensor("y", y)
    for name, t in (("x", x), ("y", y)):
        if t.dim() not in (2, 3) or t.shape[-2] < 1:
            raise ValueError(f"{name} must be points (N, D) or a batch (B, N, D), got shape {tuple(t.shape)}")
        check_finite(name, t)
    if x.dim() != y.dim() or x.shape[-1] != y.shape[-1] or (x.dim() == 3 and x.shape[0] != y.shape[0]):
        raise ValueError(f"x {tuple(x.shape)} and y {tuple(y.shape)} must share the batch size and dimension")
    if x.dtype != y.dtype or x.device != y.device:
        raise ValueError(f"x ({x.dtype}, {x.device}) and y ({y.dtype}, {y.device}) differ in dtype or device")
    return x, y


def sinkhorn_divergence(x: Tensor, y: Tensor, blur: float = 0.05, p: int = 2, scaling: float = 0.5,
                        a: Tensor | None = None, b: Tensor | None = None) -> Tensor:
    r"""Debiased Sinkhorn divergence between two point clouds, through geomloss's ``SamplesLoss``.

    .. math::
        S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
            - \tfrac12 \mathrm{OT}_\varepsilon(\alpha, \alpha) - \tfrac12 \mathrm{OT}_\varepsilon(\beta, \beta)

    where

    - :math:`\alpha = \sum_i a_i \delta_{x_i}`, :math:`\beta = \sum_j b_j \delta_{y_j}`,
    - :math:`\mathrm{OT}_\varepsilon` is entropic OT with cost :math:`\|x - y\|^p / p` and
      :math:`\varepsilon = \mathrm{blur}^p` (KL to the product of the marginals, as
      :func:`gwrep.ot.sinkhorn_log`).

    Parameters
    ----------
    x : Tensor, shape (N, D) or (B, N, D)
        First cloud (a leading batch dimension gives B divergences).
    y : Tensor, shape (M, D) or (B, M, D)
        Second cloud.
    blur : float, default 0.05
        Length scale of the entropic blur, epsilon = blur ** p; finite and > 0.
    p : int, default 2
        Exponent of the ground cost (1 or 2).
    scaling : float, default 0.5
        geomloss's epsilon-scaling ratio (closer to 1: more iterations, more accuracy).
    a, b : Tensor, shapes (N,) / (B, N) and (M,) / (B, M), optional
        Weights (default uniform): strictly positive and summing to 1, as for
        :func:`gwrep.ot.sinkhorn_log`; cast to the clouds' dtype, renormalised to sum 1 exactly,
        and an (N,) vector is shared by every cloud of a batch.

    Returns
    -------
    Tensor, shape () or (B,)
        S_eps, differentiable w.r.t. x, y (and a, b).

    References
    ----------
    .. [1] J. Feydy, T. Sejourne, F.-X. Vialard, S. Amari, A. Trouve and G. Peyre, "Interpolating between
       optimal transport and MMD using Sinkhorn divergences", AISTATS 2019.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(50, 2, generator=g, dtype=torch.float64)
    >>> float(sinkhorn_divergence(x, x)) < 1e-8
    True
    >>> round(float(sinkhorn_divergence(x, x + 1.0, blur=0.01, scaling=0.9)), 2)  # ~ |shift|^2 / 2
    1.0
    """
    x, y = _check_clouds(x, y)
    check_precision("x", x, "sinkhorn_divergence")
    check_precision("y", y, "sinkhorn_divergence")
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    blur = check_epsilon(blur, "blur")
    scaling = _check_scaling(scaling)
    from geomloss import SamplesLoss  # imported here: geomloss is slow to import

    loss = SamplesLoss("sinkhorn", p=p, blur=blur, scaling=scaling, debias=True, backend="tensorized")
    x, y = x.contiguous(), y.contiguous()  # geomloss views its inputs: an expanded batch would fail there
    if a is None and b is None:
        return loss(x, y)
    return loss(_weights("a", a, x), x, _weights("b", b, y), y)


def _check_scaling(scaling: float) -> float:
    """geomloss's epsilon-scaling ratio must be a number strictly between 0 and 1."""
    try:
        value = float(scaling)
    except (TypeError, ValueError) as err:
        raise ValueError(f"scaling must be a number in (0, 1), got {scaling!r}") from err
    if not 0 < value < 1:
        raise ValueError(f"scaling must be in (0, 1), got {scaling!r}")
    return value


def _weights(name: str, w: Any, cloud: Tensor) -> Tensor:
    """The weights of a (N, D) or (B, N, D) cloud, checked by :func:`gwrep.ot.utils.check_marginal`
    (positive, finite, summing to 1, then renormalised; cast to the cloud's dtype), shape (N,) or (B, N)."""
    batch = cloud.shape[0] if cloud.dim() == 3 else None
    weights = check_marginal(name, w, cloud.shape[-2], batch, cloud)
    return weights if batch is not None else weights[0]


def mmd_imq(x: Tensor, y: Tensor, scale: float | None = None) -> Tensor:
    r"""Unbiased MMD^2 with the inverse multiquadratic kernel, summed over the WAE scales.

    .. math::
        \mathrm{MMD}^2 = \sum_{s} \Big[ \frac{1}{n(n-1)} \sum_{i \neq j} k_s(x_i, x_j)
            + \frac{1}{n(n-1)} \sum_{i \neq j} k_s(y_i, y_j)
            - \frac{2}{n^2} \sum_{i, j} k_s(x_i, y_j) \Big],
        \quad k_s(u, v) = \frac{s C}{s C + \|u - v\|^2}

    where

    - :math:`x`, :math:`y` are two samples of the same size n (codes and prior draws),
    - :math:`C` is ``scale``, by default :math:`2 d` (the WAE's :math:`2 d \sigma^2` for a unit-variance
      prior in :math:`\mathbb{R}^d`),
    - :math:`s` runs over ``WAE_IMQ_SCALES`` = (0.1, 0.2, 0.5, 1, 2, 5, 10).

    Parameters
    ----------
    x : Tensor, shape (n, d)
        First sample.
    y : Tensor, shape (n, d)
        Second sample.
    scale : float, optional
        The base constant C (default 2 d).

    Returns
    -------
    Tensor, shape ()
        The unbiased estimate (it can be slightly negative), differentiable.

    References
    ----------
    .. [1] I. Tolstikhin, O. Bousquet, S. Gelly and B. Schoelkopf, "Wasserstein auto-encoders", ICLR 2018
       (Sec. 4 and the authors' code).

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    >>> y = torch.tensor([[0.0], [3.0]], dtype=torch.float64)
    >>> round(float(mmd_imq(x, y, scale=1.0)), 4)
    -2.1178
    """
    x, y = _check_clouds(x, y)
    if x.dim() != 2 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ValueError(f"x and y must be (n, d) samples of the same size n >= 2, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    n, d = x.shape
    base = 2.0 * d if scale is None else float(scale)
    if not base > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    dxx, dyy, dxy = (torch.cdist(u, v, compute_mode="donot_use_mm_for_euclid_dist") ** 2
                     for u, v in ((x, x), (y, y), (x, y)))
    off_diagonal = 1.0 - torch.eye(n, dtype=x.dtype, device=x.device)
    total = x.new_zeros(())
    for s in WAE_IMQ_SCALES:
        c = s * base
        within = ((c / (c + dxx) + c / (c + dyy)) * off_diagonal).sum() / (n * (n - 1))
        total = total + within - 2.0 * (c / (c + dxy)).sum() / (n * n)
    return total
