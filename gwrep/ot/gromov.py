"""Entropic Gromov-Wasserstein between cost matrices, with POT's signatures and values.

:func:`entropic_gromov_wasserstein` returns the plan and :func:`entropic_gromov_wasserstein2`
the differentiable value; both mirror ``ot.gromov.entropic_gromov_wasserstein(2)`` (POT
0.9.x) argument for argument, run the same projected-gradient iteration from the same
start, and reach the same fixed point; they add a leading batch dimension, torch
dtype/device discipline and a warm-started inner Sinkhorn.

The GW tensor is never formed: with a loss that splits as
L(a, b) = f1(a) + f2(b) - h1(a) h2(b) (Peyre, Cuturi & Solomon 2016, Proposition 1, Eq. (6)),

    L(C1, C2) (x) T = f1(C1) p 1^T + 1 q^T f2(C2)^T - h1(C1) T h2(C2)^T,

square loss: f1(a) = a^2, f2(b) = b^2, h1(a) = a, h2(b) = 2b;
KL loss: f1(a) = a log a - a, f2(b) = b, h1(a) = a, h2(b) = log b (as POT, logs offset by 1e-18).
The gradient of L(T) = <L(C1, C2) (x) T, T> is twice that tensor for symmetric costs.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from gwrep.ot.gw_solver import SOLVERS, GWResult, check_objective, differentiable_value, solve_entropic_gw
from gwrep.ot.sinkhorn import FactoredCost
from gwrep.ot.utils import (batched, check_choice, check_costs, check_epsilon, check_input_pair, check_iterations,
                            check_marginal, default_tol, initial_plan, to_numpy)

__all__ = ["DenseGWCost", "entropic_gromov_wasserstein", "entropic_gromov_wasserstein2", "LOSS_FUNCTIONS",
           "SOLVERS"]

LOSS_FUNCTIONS = ("square_loss", "kl_loss")
_LOG_OFFSET = 1e-18  # POT's offset inside the logs of the KL loss


def _transform(C1: Tensor, C2: Tensor, loss_fun: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """f1(C1), f2(C2), h1(C1), h2(C2) of Proposition 1 for the chosen loss."""
    if loss_fun == "square_loss":
        return C1 ** 2, C2 ** 2, C1, 2 * C2
    return C1 * torch.log(C1 + _LOG_OFFSET) - C1, C2, C1, torch.log(C2 + _LOG_OFFSET)


class DenseGWCost:
    """The GW loss of dense (B, n, n) and (B, m, m) costs (Proposition 1, Eq. (6) of [12]).

    The constant term f1(C1) p 1^T + 1 q^T f2(C2)^T is kept as two vectors (alpha, beta);
    ``tensor_product(T)`` costs two matrix products, O(n^2 m + n m^2). The gradient is handed
    to the solver factored, (h1(C1) T) h2(C2)^T, so its second product builds the kernel.
    """

    def __init__(self, C1: Tensor, C2: Tensor, p: Tensor, q: Tensor, loss_fun: str, symmetric: bool):
        self._buffer: Tensor | None = None
        self._costs = (C1, C2)
        self.parts = [self._parts(C1, C2, p, q, loss_fun)]
        if not symmetric:
            self.parts.append(self._parts(C1.transpose(1, 2), C2.transpose(1, 2), p, q, loss_fun))

    @staticmethod
    def _parts(C1: Tensor, C2: Tensor, p: Tensor, q: Tensor, loss_fun: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        fC1, fC2, hC1, hC2 = _transform(C1, C2, loss_fun)
        alpha = torch.matmul(fC1, p[:, :, None])[:, :, 0]  # (B, n): f1(C1) p
        beta = torch.matmul(fC2, q[:, :, None])[:, :, 0]  # (B, m): f2(C2) q
        return alpha, beta, hC1, hC2

    def tensor_product(self, T: Tensor) -> Tensor:
        """L(C1, C2) (x) T = alpha 1^T + 1 beta^T - h1(C1) T h2(C2)^T, shape (B, n, m)."""
        alpha, beta, hC1, hC2 = self.parts[0]
        return torch.baddbmm(alpha[:, :, None] + beta[:, None, :], torch.matmul(hC1, T), hC2.transpose(1, 2),
                             alpha=-1.0)

    def gradient(self, T: Tensor) -> FactoredCost:
        """dL/dT = 2 L (x) T, or for asymmetric costs its sum with the transposed problem's (as POT)."""
        factor = 2.0 if len(self.parts) == 1 else 1.0
        if len(self.parts) == 1:  # h1(C1) T into a reused buffer: fresh n x m allocations are slow
            if self._buffer is None or self._buffer.shape != T.shape:
                self._buffer = torch.empty_like(T)
            L = torch.matmul(self.parts[0][2], T, out=self._buffer)
        else:
            L = torch.cat([torch.matmul(hC1, T) for _, _, hC1, _ in self.parts], dim=2)
        R = torch.cat([hC2 * -factor for _, _, _, hC2 in self.parts], dim=2)
        row = factor * sum(alpha for alpha, _, _, _ in self.parts)
        col = factor * sum(beta for _, beta, _, _ in self.parts)
        return FactoredCost(L, R, row, col)

    def loss(self, T: Tensor) -> Tensor:
        """L(T) = <L (x) T, T>, shape (B,)."""
        return (self.tensor_product(T) * T).sum((1, 2))

    def cross_inner(self, A: Tensor, T: Tensor) -> Tensor:
        """<A, h1(C1) T h2(C2)^T>, shape (B,)."""
        _, _, hC1, hC2 = self.parts[0]
        return (A * torch.matmul(torch.matmul(hC1, T), hC2.transpose(1, 2))).sum((1, 2))

    def hessian(self, Lam: Tensor) -> Tensor:
        """-(h1 Lam h2^T + h1^T Lam h2), shape (B, n, m) (Lam with zero marginals)."""
        if len(self.parts) == 1:
            _, _, hC1, hC2 = self.parts[0]
            return torch.matmul(torch.matmul(hC1, Lam), hC2.transpose(1, 2)).mul_(-2.0)
        return -sum(torch.matmul(torch.matmul(hC1, Lam), hC2.transpose(1, 2)) for _, _, hC1, hC2 in self.parts)

    def scale(self) -> str:
        """The costs' size, for error messages."""
        C1, C2 = (float(C.detach().abs().max()) for C in self._costs)
        return f"costs up to max|C1| = {C1:.3g}, max|C2| = {C2:.3g}"


_INNER_ALIASES = {"numItermax": "inner_max_iter", "stopThr": "inner_tol"}


def _inner_options(kwargs: dict[str, Any], dtype: torch.dtype) -> tuple[int, float]:
    """Inner Sinkhorn limits from ``inner_max_iter``/``inner_tol`` or POT's ``numItermax``/``stopThr``;
    the tolerance defaults to :func:`gwrep.ot.utils.default_tol` of the costs' dtype."""
    options: dict[str, Any] = {"inner_max_iter": 1000, "inner_tol": None}
    for key, value in kwargs.items():
        name = _INNER_ALIASES.get(key, key)
        if name not in options:
            raise ValueError(f"unknown keyword argument {key!r}; the inner Sinkhorn takes inner_max_iter "
                             "(POT: numItermax) and inner_tol (POT: stopThr)")
        options[name] = value
    return check_iterations("inner_max_iter", options["inner_max_iter"], "inner_tol",
                            default_tol(options["inner_tol"], dtype))


def _is_symmetric(C: Tensor) -> bool:
    """POT's symmetry test (``allclose``, atol 1e-10) in float64; in lower precision an asymmetry of a
    few units of round-off of the largest cost counts as symmetric too (``torch.cdist`` on float32
    points gives costs asymmetric by ~1e-7, which is rounding, not an asymmetric problem)."""
    atol = 1e-10
    if C.dtype != torch.float64:
        atol = max(atol, 32 * torch.finfo(C.dtype).eps * float(C.abs().max()))
    return bool(torch.allclose(C, C.transpose(1, 2), atol=atol))


def _solve_dense(C1: Any, C2: Any, p: Any, q: Any, loss_fun: str, epsilon: float, symmetric: bool | None,
                 G0: Any, max_iter: int, tol: float | None, solver: str, warmstart: bool, verbose: bool,
                 objective: str, kwargs: dict[str, Any]) -> tuple[GWResult, bool, bool]:
    """Check the inputs, solve on batched tensors, attach the differentiable value; also say whether
    the problem was batched and whether the costs came as numpy arrays (the results go back as numpy)."""
    check_choice("loss_fun", loss_fun, LOSS_FUNCTIONS)
    check_objective(objective, solver)
    C1, C2, as_numpy = check_input_pair(("C1", "C2"), (C1, C2), check_costs, "entropic GW")
    if loss_fun == "kl_loss" and bool((C1 < 0).any() or (C2 < 0).any()):
        raise ValueError("kl_loss needs non-negative costs; C1 or C2 has negative entries")
    epsilon = check_epsilon(epsilon)
    max_iter, tol = check_iterations("max_iter", max_iter, "tol", default_tol(tol, C1.dtype))
    inner_max_iter, inner_tol = _inner_options(kwargs, C1.dtype)
    C1b, was_batched = batched(C1)
    C2b, _ = batched(C2)
    B, n, m = C1b.shape[0], C1b.shape[1], C2b.shape[1]
    batch = B if was_batched else None
    p = check_marginal("p", p, n, batch, C1b)
    q = check_marginal("q", q, m, batch, C1b)
    if symmetric is None:  # POT: detect it, and solve the asymmetric problem when either cost is asymmetric
        symmetric = _is_symmetric(C1b.detach()) and _is_symmetric(C2b.detach())
    sym = bool(symmetric)

    def make_cost(A1: Tensor, A2: Tensor, w1: Tensor, w2: Tensor) -> DenseGWCost:
        return DenseGWCost(A1, A2, w1, w2, loss_fun, sym)

    T0 = initial_plan(G0, p.detach(), q.detach(), batch)
    result = solve_entropic_gw(make_cost(C1b.detach(), C2b.detach(), p.detach(), q.detach()), p.detach(),
                               q.detach(), epsilon, T0, max_iter, tol, solver, inner_max_iter, inner_tol, warmstart,
                               verbose, stacklevel=4)
    result.value = differentiable_value(make_cost, (C1b, C2b), result, p, q, epsilon, objective, solver,
                                        stacklevel=4)
    result.objective = objective
    return result, was_batched, as_numpy


def _pot_log(result: GWResult, was_batched: bool, as_numpy: bool) -> dict[str, Any]:
    res = result if was_batched else result.unbatched()
    log = {"err": res.history, "gw_dist": res.value, "n_iter": res.n_iter, "converged": res.converged,
           "inner_converged": res.inner_converged, "marginal_error": res.marginal_error, "stuck": res.stuck,
           "ok": res.ok, "inner_iter": res.inner_iter, "T": res.plan}
    return {key: to_numpy(value) for key, value in log.items()} if as_numpy else log


def entropic_gromov_wasserstein(C1: Tensor, C2: Tensor, p: Tensor | None = None, q: Tensor | None = None,
                                loss_fun: str = "square_loss", epsilon: float = 0.1, symmetric: bool | None = None,
                                G0: Tensor | None = None, max_iter: int = 1000, tol: float | None = None,
                                solver: str = "PGD", warmstart: bool = True, verbose: bool = False,
                                log: bool = False, **kwargs: Any) -> Tensor | tuple[Tensor, dict[str, Any]]:
    r"""Entropic Gromov-Wasserstein coupling between (C1, p) and (C2, q), as POT's.

    .. math::
        \mathbf{T}^* \in \mathop{\arg\min}_{\mathbf{T}} \sum_{i,j,k,l}
            L(\mathbf{C_1}_{i,k}, \mathbf{C_2}_{j,l}) \mathbf{T}_{i,j} \mathbf{T}_{k,l}
            - \varepsilon H(\mathbf{T})
        \quad \text{s.t.} \quad \mathbf{T} \mathbf{1} = \mathbf{p},\ \mathbf{T}^\top \mathbf{1} = \mathbf{q},
        \ \mathbf{T} \geq 0

    where

    - :math:`\mathbf{C_1}`, :math:`\mathbf{C_2}`: cost (similarity) matrices of the two spaces,
    - :math:`\mathbf{p}`, :math:`\mathbf{q}`: the weights of their points,
    - :math:`L`: the loss between costs (square or KL), :math:`H`: the entropy.

    Solved by projected gradient in the KL geometry [12]: ``T <- Sinkhorn_eps(grad)`` from
    ``T0 = p q^T``, stopping when ``||T_k - T_{k-1}||_F <= tol`` (checked every 10th step),
    exactly POT's iteration, with POT's conventions: asymmetric costs are detected
    (``symmetric=None``), numpy arrays in give numpy arrays out (tensors give tensors), and
    each inner Sinkhorn starts as POT's does (column update first, from constant scalings), so
    ``max_iter=1, numItermax=1`` gives POT's plan. Where gwrep differs on purpose:
    ``warmstart`` defaults to True (the inner Sinkhorn restarts from the last potentials: the
    same fixed point, far fewer inner iterations), the tolerances default to 1e-5 below
    float64 (see ``tol``), float32 costs asymmetric by round-off count as symmetric, and a
    result that is not trustworthy says so: a :class:`~gwrep.ot.ConvergenceWarning` each time
    and a flag in ``log`` (outer or last inner limit hit, marginals off, a plan stuck at its
    start), and a non-finite plan raises ``FloatingPointError`` naming epsilon and the cost scale.

    Parameters
    ----------
    C1 : Tensor or ndarray, shape (ns, ns) or (B, ns, ns)
        Cost matrix of the source space; a leading batch dimension solves B problems.
    C2 : Tensor or ndarray, shape (nt, nt) or (B, nt, nt)
        Cost matrix of the target space.
    p : Tensor, shape (ns,) or (B, ns), optional
        Source weights, strictly positive, summing to 1 (default uniform).
    q : Tensor, shape (nt,) or (B, nt), optional
        Target weights (default uniform).
    loss_fun : {"square_loss", "kl_loss"}, default "square_loss"
        The loss L between costs.
    epsilon : float, default 0.1
        Entropic regularisation > 0, in the units of the gradient (about cost squared).
    symmetric : bool, optional
        None: test the costs (as POT: ``allclose(C, C.T, atol=1e-10)``; in float32 a round-off
        asymmetry passes) and solve the asymmetric problem if either fails. True: trust that
        they are symmetric. False: solve the asymmetric problem (the gradient is the sum of the
        problem's and the transposed problem's, as POT).
    G0 : Tensor, shape (ns, nt) or (B, ns, nt), optional
        Initial plan (default p q^T).
    max_iter : int, default 1000
        Maximum number of outer iterations.
    tol : float, optional
        Stop threshold on ||T_k - T_{k-1}||_F. Default: 1e-9 in float64 (POT's default), 1e-5
        in lower precision, where round-off keeps the plan change above 1e-9 (POT's fixed
        1e-9 would run every float32 solve to max_iter); the fast path uses the same rule.
    solver : {"PGD", "PPA"}, default "PGD"
        Projected gradient [12] or proximal point [51] (gradient minus eps log T).
    warmstart : bool, default True
        Warm-start each inner Sinkhorn from the previous potentials (POT's default: False).
    verbose : bool, default False
        Print the error every check.
    log : bool, default False
        Also return a dict with ``gw_dist``, ``err`` (list), ``n_iter``, ``converged``,
        ``inner_converged``, ``marginal_error``, ``stuck``, ``ok`` (all four checks passed; see
        :class:`~gwrep.ot.GWResult`), ``inner_iter`` and ``T``.
    **kwargs
        Inner Sinkhorn limits: ``inner_max_iter`` (POT: ``numItermax``, default 1000) and
        ``inner_tol`` (POT: ``stopThr``; default as ``tol``, 1e-9 in float64, 1e-5 below).

    Returns
    -------
    T : Tensor or ndarray, shape (ns, nt) or (B, ns, nt)
        The coupling, of C1's type, dtype and device.
    log : dict
        Only with ``log=True``.

    References
    ----------
    .. [12] G. Peyre, M. Cuturi and J. Solomon, "Gromov-Wasserstein averaging of kernel and distance
       matrices", ICML 2016.
    .. [51] H. Xu, D. Luo, H. Zha and L. Carin, "Gromov-Wasserstein learning for graph matching and node
       embedding", ICML 2019.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(6, 2, generator=g, dtype=torch.float64)
    >>> C1 = torch.cdist(X, X) ** 2
    >>> C1 = C1 / C1.max()
    >>> perm = torch.tensor([3, 0, 5, 1, 4, 2])
    >>> C2 = C1[perm][:, perm]  # the same points, reordered
    >>> T = entropic_gromov_wasserstein(C1, C2, epsilon=0.05)
    >>> perm[T.argmax(dim=1)]  # each point is matched to its copy
    tensor([0, 1, 2, 3, 4, 5])
    """
    with torch.no_grad():  # the plan carries no gradient, so the value needs none
        result, was_batched, as_numpy = _solve_dense(C1, C2, p, q, loss_fun, epsilon, symmetric, G0, max_iter, tol,
                                                     solver, warmstart, verbose, "gw", kwargs)
    plan = result.plan if was_batched else result.plan[0]
    plan = to_numpy(plan) if as_numpy else plan
    return (plan, _pot_log(result, was_batched, as_numpy)) if log else plan


def entropic_gromov_wasserstein2(C1: Tensor, C2: Tensor, p: Tensor | None = None, q: Tensor | None = None,
                                 loss_fun: str = "square_loss", epsilon: float = 0.1, symmetric: bool | None = None,
                                 G0: Tensor | None = None, max_iter: int = 1000, tol: float | None = None,
                                 solver: str = "PGD", warmstart: bool = True, verbose: bool = False,
                                 log: bool = False, objective: str = "gw",
                                 **kwargs: Any) -> Tensor | tuple[Tensor, dict[str, Any]]:
    r"""Entropic Gromov-Wasserstein loss between (C1, p) and (C2, q), differentiable; as POT's.

    .. math::
        \mathbf{GW} = \sum_{i,j,k,l} L(\mathbf{C_1}_{i,k}, \mathbf{C_2}_{j,l})
            \mathbf{T}^*_{i,j} \mathbf{T}^*_{k,l}
        \quad \Big(\text{or}\ \ \mathbf{GW} + \varepsilon\, \mathrm{KL}(\mathbf{T}^* \,|\, \mathbf{p}\mathbf{q}^\top)
        \ \text{with}\ \texttt{objective="entropic\_optimum"}\Big)

    where

    - :math:`\mathbf{T}^*` is the plan of :func:`entropic_gromov_wasserstein` (same arguments),
    - :math:`L` the loss between costs; by default the entropy is not included (POT's ``gw_dist``).

    The returned value's autograd gradient is its derivative, w.r.t. C1, C2, p and q:

    - ``objective="gw"`` (default, POT's value): the GW loss of the entropic plan. Its gradient
      includes how the plan moves: implicit differentiation of the fixed point T* (an adjoint
      linear system solved by conjugate gradients in float64, :mod:`gwrep.ot.gw_solver`), where
      POT unrolls its iterations through autograd; the two agree (to 1e-11 in float64 at tight
      tolerances, tested). It is solved when the value is computed from inputs that require
      grad; on one CPU thread it added 0.5 s to a 2.3 s dense solve at n = 512 and, on the
      point-cloud path, 0.1 s / 0.7 s / 2.0 s to 0.5 s / 1.5 s / 1.0 s solves at n = 512 / 1024 /
      2048 (``benchmarks/gw_gradient.py``; POT's unrolled backward took 5.2 s where the solve
      and this gradient took 0.45 s, n = 128). It warns if the plan is not a strict local
      minimum, where the gradient does not exist. With ``solver="PPA"``,
      whose fixed points are stationary points of the unregularised loss, the gradient is the
      envelope gradient at that stationary point, exact once PPA has converged.
    - ``objective="entropic_optimum"``: the entropic optimum
      :math:`L(T^*) + \varepsilon\,\mathrm{KL}(T^* | p q^\top)`, differentiated by the envelope
      theorem (the plan held fixed for the costs, the dual potentials for the weights): no
      linear solve, so as cheap as the value. PGD only.

    p and q are differentiated as the function of p / sum(p) and q / sum(q) that the solver
    computes, so their gradients are defined up to nothing (POT's up to a constant).

    Parameters
    ----------
    C1, C2, p, q, loss_fun, epsilon, symmetric, G0, max_iter, tol, solver, warmstart, verbose, **kwargs
        As in :func:`entropic_gromov_wasserstein`; C1 (ns, ns) or (B, ns, ns), C2 (nt, nt) or (B, nt, nt).
    log : bool, default False
        Also return the log dict (with the plan under ``"T"``).
    objective : {"gw", "entropic_optimum"}, default "gw"
        Which value to return (above); not in POT, whose value is ``"gw"``.

    Returns
    -------
    gw_dist : Tensor or ndarray, shape () or (B,)
        The value, of C1's type (a 0-d numpy array for numpy costs, as POT).
    log : dict
        Only with ``log=True``.

    References
    ----------
    .. [12] G. Peyre, M. Cuturi and J. Solomon, "Gromov-Wasserstein averaging of kernel and distance
       matrices", ICML 2016.
    .. [14] M. Blondel, Q. Berthet, M. Cuturi et al., "Efficient and modular implicit
       differentiation", NeurIPS 2022 (implicit differentiation of a fixed point).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(6, 2, generator=g, dtype=torch.float64)
    >>> C1 = torch.cdist(X, X) ** 2
    >>> C1 = C1 / C1.max()
    >>> C2 = (2 * C1).requires_grad_()
    >>> gw = entropic_gromov_wasserstein2(C1, C2, epsilon=0.1)
    >>> round(gw.item(), 4)
    0.1713
    >>> gw.backward()
    >>> C2.grad.shape
    torch.Size([6, 6])
    """
    result, was_batched, as_numpy = _solve_dense(C1, C2, p, q, loss_fun, epsilon, symmetric, G0, max_iter, tol,
                                                 solver, warmstart, verbose, objective, kwargs)
    value = result.value if was_batched else result.value[0]
    value = to_numpy(value) if as_numpy else value
    return (value, _pot_log(result, was_batched, as_numpy)) if log else value
