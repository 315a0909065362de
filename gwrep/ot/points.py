"""Entropic GW between point clouds with squared Euclidean costs, never forming n x n costs.

For points x_1..x_n in R^d (centred), the squared-distance matrix has rank at most d + 2::

    C = |x|^2 1^T + 1 |x|^{2T} - 2 X X^T = U V^T,  U = [|x|^2, 1, X],  V = [1, |x|^2, -2X],

so the square-loss GW tensor of Proposition 1, Eq. (6) of Peyre et al. (2016), ::

    L (x) T = (C1 o C1) p 1^T + 1 q^T (C2 o C2) - 2 C1 T C2,

needs only C1 T C2 = U1 (V1^T T V2) U2^T, O(nm(d + k)) per gradient instead of O(n^2 m + n m^2),
and (C o C) p = rowsum((U S) o U) with S = V^T diag(p) V, O(n d^2). A cloud with more
dimensions than points (images) keeps its dense n x n matrix instead, whichever is cheaper.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gwrep.ot.gw_solver import GWResult, check_objective, differentiable_value, solve_entropic_gw
from gwrep.ot.sinkhorn import FactoredCost, ScaledKernel
from gwrep.ot.utils import (batched, check_epsilon, check_input_pair, check_iterations, check_marginal, check_points,
                            default_tol, initial_plan)

__all__ = ["SquaredEuclideanCost", "PointsGWCost", "gromov_wasserstein_points"]


class SquaredEuclideanCost:
    """C_ij = ||x_i - x_j||^2 of a batch of clouds (B, n, d) as C = U V^T (V None: U is C itself)."""

    def __init__(self, X: Tensor):
        n, d = X.shape[1], X.shape[2]
        Xc = X - X.mean(dim=1, keepdim=True)  # distances are translation invariant; centring limits cancellation
        sq = (Xc * Xc).sum(-1, keepdim=True)  # (B, n, 1)
        self.centred_sq = sq.detach()
        ones = torch.ones_like(sq)
        if d + 2 < n:
            self.U = torch.cat([sq, ones, Xc], dim=2)  # (B, n, d + 2)
            self.V: Tensor | None = torch.cat([ones, sq, -2 * Xc], dim=2)
        else:
            self.U = (sq + sq.transpose(1, 2) - 2 * torch.matmul(Xc, Xc.transpose(1, 2))).clamp_min(0)
            self.V = None

    @property
    def rank(self) -> int:
        return self.U.shape[2]

    def left(self, T: Tensor) -> Tensor:
        """V^T T, the right factor applied from the left, shape (B, r, m)."""
        return T if self.V is None else torch.matmul(self.V.transpose(1, 2), T)

    def squared_row_sums(self, w: Tensor) -> Tensor:
        """(C o C) w, shape (B, n), in O(n r^2) for the factored form."""
        if self.V is None:
            return torch.matmul(self.U * self.U, w[:, :, None])[:, :, 0]
        S = torch.matmul(self.V.transpose(1, 2) * w[:, None, :], self.V)  # (B, r, r): V^T diag(w) V
        return (torch.matmul(self.U, S) * self.U).sum(-1)


class PointsGWCost:
    """Square-loss GW of two point clouds' squared Euclidean costs, in factored form."""

    def __init__(self, X: Tensor, Y: Tensor, p: Tensor, q: Tensor):
        self.c1, self.c2 = SquaredEuclideanCost(X), SquaredEuclideanCost(Y)
        self.alpha = self.c1.squared_row_sums(p)  # (B, n): (C1 o C1) p
        self.beta = self.c2.squared_row_sums(q)  # (B, m): (C2 o C2) q

    @property
    def scaled_plans(self) -> bool:
        """Whether :meth:`gradient` takes a :class:`~gwrep.ot.sinkhorn.ScaledKernel` plan (C2 factored)."""
        return self.c2.V is not None

    def _middle(self, T: Tensor | ScaledKernel) -> Tensor:
        """V1^T T V2, shape (B, r1, r2) (C2 is symmetric, so T C2 = T V2 U2^T)."""
        c2 = self.c2
        if isinstance(T, ScaledKernel):
            return self.c1.left(T.matmul(c2.V))
        TV2 = T if c2.V is None else torch.matmul(T, c2.V)
        return self.c1.left(TV2)

    def cross(self, T: Tensor) -> Tensor:
        """C1 T C2, shape (B, n, m), in O(nm min(r1, r2))."""
        W = self._middle(T)
        if self.c1.rank <= self.c2.rank:
            return torch.matmul(self.c1.U, torch.matmul(W, self.c2.U.transpose(1, 2)))
        return torch.matmul(torch.matmul(self.c1.U, W), self.c2.U.transpose(1, 2))

    def gradient(self, T: Tensor | ScaledKernel) -> FactoredCost:
        """dL/dT = 2 (alpha 1^T + 1 beta^T) - 4 C1 T C2, kept factored: C1 T C2 = U1 W U2^T."""
        W = self._middle(T)
        if self.c1.rank <= self.c2.rank:
            L, R = self.c1.U, torch.matmul(self.c2.U, W.transpose(1, 2)).mul_(-4.0)
        else:
            L, R = torch.matmul(self.c1.U, W).mul_(-4.0), self.c2.U
        return FactoredCost(L, R, 2 * self.alpha, 2 * self.beta)

    def _cross_inner(self, A: Tensor, T: Tensor) -> Tensor:
        """<A, C1 T C2>, shape (B,), without n x m temporaries beyond A and T
        (<A, U1 W U2^T> = <U1^T A U2, W>, W = V1^T T V2)."""
        return (self._middle(T) * torch.matmul(torch.matmul(self.c1.U.transpose(1, 2), A), self.c2.U)).sum((1, 2))

    def loss(self, T: Tensor) -> Tensor:
        """L(T) = alpha . T1 + beta . T^T 1 - 2 <C1 T C2, T>, shape (B,)."""
        return (self.alpha * T.sum(2)).sum(-1) + (self.beta * T.sum(1)).sum(-1) - 2 * self._cross_inner(T, T)

    def cross_inner(self, A: Tensor, T: Tensor) -> Tensor:
        """<A, h1(C1) T h2(C2)^T> = 2 <A, C1 T C2>, shape (B,) (square loss: h1(a) = a, h2(b) = 2b)."""
        return 2 * self._cross_inner(A, T)

    def hessian(self, Lam: Tensor) -> Tensor:
        """-4 C1 Lam C2, shape (B, n, m): the Hessian of L applied to a Lam with zero marginals."""
        return self.cross(Lam).mul_(-4.0)

    def scale(self) -> str:
        """The costs' size, for error messages (``4 max |x - mean|^2`` bounds the largest squared distance)."""
        radii = [float(c.centred_sq.max()) for c in (self.c1, self.c2)]
        return f"squared distances up to about 4 x ({radii[0]:.3g}, {radii[1]:.3g}) (4 max |x - mean|^2 of X, Y)"


def gromov_wasserstein_points(X: Any, Y: Any, p: Any = None, q: Any = None, epsilon: float | Tensor = 0.1,
                              max_iter: int = 1000, tol: float | None = None, G0: Any = None, solver: str = "PGD",
                              warmstart: bool = True, inner_max_iter: int = 1000, inner_tol: float | None = None,
                              verbose: bool = False, objective: str = "gw") -> GWResult:
    r"""Entropic GW between two point clouds under squared Euclidean costs (fast path).

    .. math::
        \mathbf{T}^* \in \mathop{\arg\min}_{\mathbf{T} \in \Pi(p, q)} \sum_{i,j,k,l}
            \big(\|x_i - x_k\|^2 - \|y_j - y_l\|^2\big)^2 \mathbf{T}_{i,j} \mathbf{T}_{k,l}
            - \varepsilon H(\mathbf{T})

    where

    - :math:`x_i \in \mathbb{R}^d`, :math:`y_j \in \mathbb{R}^k` are the points (d and k may differ),
    - :math:`\Pi(p, q)` the couplings with marginals p and q, :math:`H` the entropy.

    The same problem, iteration, stopping rule, checks and values as
    :func:`gwrep.ot.entropic_gromov_wasserstein2` with ``C1 = dist(X, X)``, ``C2 = dist(Y, Y)``
    and the square loss, but each gradient costs O(nm(d + k)) instead of O(n^2 m + n m^2)
    (module docstring). Costs are not normalised: scale the points so that epsilon means what
    you want. numpy arrays in give numpy arrays in the result.

    Parameters
    ----------
    X : Tensor or ndarray, shape (n, d) or (B, n, d)
        Source points; a leading batch dimension solves B problems at once.
    Y : Tensor or ndarray, shape (m, k) or (B, m, k)
        Target points.
    p, q : Tensor, shapes (n,) / (B, n) and (m,) / (B, m), optional
        Weights, strictly positive, summing to 1 (default uniform).
    epsilon : float or Tensor, default 0.1
        Entropic regularisation > 0; a one-element tensor that requires grad gets its gradient.
    max_iter : int, default 1000
        Maximum outer iterations.
    tol : float, optional
        Stop when ||T_k - T_{k-1}||_F <= tol (checked every 10th iteration); default 1e-9 in
        float64, 1e-5 in lower precision.
    G0 : Tensor, shape (n, m) or (B, n, m), optional
        Initial plan (default p q^T).
    solver : {"PGD", "PPA"}, default "PGD"
        Projected gradient or proximal point.
    warmstart : bool, default True
        Warm-start the inner Sinkhorn from the previous potentials.
    inner_max_iter : int, default 1000
        Inner Sinkhorn iteration limit.
    inner_tol : float, optional
        Inner Sinkhorn tolerance on the column marginal (default as ``tol``).
    verbose : bool, default False
        Print the error at every check.
    objective : {"gw", "entropic_optimum"}, default "gw"
        The value returned, as in :func:`gwrep.ot.entropic_gromov_wasserstein2`: the GW loss of
        the plan with its exact (implicit) gradient, or the entropic optimum
        L(T*) + eps KL(T* | p q^T) with its envelope gradient.

    Returns
    -------
    GWResult
        ``plan`` (n, m), ``value`` (differentiable w.r.t. X, Y, p, q and a tensor epsilon),
        ``n_iter``, ``err``, ``converged``, ``inner_iter``, ``history`` and the checks
        ``inner_converged``, ``marginal_error``, ``stuck`` and ``ok``.

    References
    ----------
    .. [12] G. Peyre, M. Cuturi and J. Solomon, "Gromov-Wasserstein averaging of kernel and distance
       matrices", ICML 2016 (Proposition 1).
    .. [2] M. Scetbon, G. Peyre and M. Cuturi, "Linear-time Gromov-Wasserstein distances using low rank
       couplings and costs", ICML 2022 (the factored costs).

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> Y = X[[2, 0, 1]] @ torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)  # permuted, rotated
    >>> res = gromov_wasserstein_points(X / 2, Y / 2, epsilon=0.05)
    >>> res.plan.argmax(dim=1)  # each point is matched to its image
    tensor([1, 2, 0])
    >>> round(float(res.value), 4)  # zero up to the entropic blur
    0.0081
    """
    check_objective(objective, solver)
    X, Y, as_numpy = check_input_pair(("X", "Y"), (X, Y), check_points, "gromov_wasserstein_points")
    eps = check_epsilon(epsilon)
    max_iter, tol = check_iterations("max_iter", max_iter, "tol", default_tol(tol, X.dtype))
    inner_max_iter, inner_tol = check_iterations("inner_max_iter", inner_max_iter, "inner_tol",
                                                 default_tol(inner_tol, X.dtype))
    Xb, was_batched = batched(X)
    Yb, _ = batched(Y)
    B, n, m = Xb.shape[0], Xb.shape[1], Yb.shape[1]
    batch = B if was_batched else None
    p = check_marginal("p", p, n, batch, Xb)
    q = check_marginal("q", q, m, batch, Xb)
    T0 = initial_plan(G0, p.detach(), q.detach(), batch)
    with torch.no_grad():
        cost = PointsGWCost(Xb.detach(), Yb.detach(), p.detach(), q.detach())
    result = solve_entropic_gw(cost, p.detach(), q.detach(), eps, T0, max_iter, tol, solver, inner_max_iter,
                               inner_tol, warmstart, verbose, name="gromov_wasserstein_points")
    live_eps = epsilon if isinstance(epsilon, Tensor) else eps
    result.value = differentiable_value(PointsGWCost, (Xb, Yb), result, p, q, live_eps, objective, solver,
                                        name="gromov_wasserstein_points")
    result.objective = objective
    result = result if was_batched else result.unbatched()
    return result.numpy() if as_numpy else result
