"""Log-domain Sinkhorn for balanced entropic optimal transport, batched over a leading dimension.

Two solvers of one problem (Cuturi 2013; Peyre & Cuturi 2019, Sec. 4.2-4.4):

- :func:`sinkhorn_log` (public): every update is a log-sum-exp of the dual potentials, so
  no kernel ever under- or overflows, whatever ``epsilon``. Its value is differentiable.
- :func:`sinkhorn_scaling` (for the GW solvers): log-stabilised scaling iterations
  (Schmitzer 2019, "absorption"): the potentials live in the log domain, the kernel
  ``exp((f + g - M) / eps)`` is formed once per call and the inner iterations are two
  matrix-vector products, with the scalings absorbed into the potentials when they leave
  ``[1/tau, tau]``. Warm-started from the previous potentials it needs few iterations, and
  it falls back to :func:`sinkhorn_log`'s updates if the kernel underflows.

Both stop when the column-marginal error ``||T^T 1 - b||_2`` of a plan with exact rows is at
most ``tol``. The error comes almost for free from the next column update (``T^T 1 = b *
exp((g_old - g_new)/eps)``, or ``v * K^T u``), so :func:`sinkhorn_log` checks it every
iteration; the scaling solver checks every iteration from n m = 2^18 on, and below, where a
check's dozen vector operations cost as much as the two products, schedules its next check
where the error's geometric decay since the last check predicts the tolerance (at most 10
iterations ahead). Its column update is over-relaxed (omega = 1.5, Thibault et
al. 2021), which keeps the fixed point and the exact rows, and falls back to omega = 1 in a
call whose error ever grows.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from gwrep.ot.utils import (ConvergenceWarning, as_tensor, batched, check_epsilon, check_finite, check_iterations,
                            check_marginal, check_precision, default_tol)

__all__ = ["SinkhornResult", "FactoredCost", "ScaledKernel", "sinkhorn_log", "sinkhorn_scaling"]


@dataclass
class SinkhornResult:
    """What a Sinkhorn solve returns (unbatched inputs give unbatched fields).

    Attributes
    ----------
    plan : Tensor, shape (B, n, m) or (n, m)
        The transport plan T (detached).
    value : Tensor, shape (B,) or ()
        Entropic OT value <T, M> + eps KL(T | a b^T); differentiable w.r.t. M, a, b
        (envelope theorem: dvalue/dM = T, dvalue/da = f up to a constant).
    f, g : Tensor, shapes (B, n), (B, m)
        Dual potentials, T_ij = a_i b_j exp((f_i + g_j - M_ij) / eps).
    n_iter : Tensor, shape (B,) or ()
        Iterations run.
    err : Tensor, shape (B,) or ()
        Last measured column-marginal error ||T^T 1 - b||_2.
    converged : Tensor of bool, shape (B,) or ()
        Whether err <= tol was reached.
    """

    plan: Tensor
    value: Tensor
    f: Tensor
    g: Tensor
    n_iter: Tensor
    err: Tensor
    converged: Tensor


def sinkhorn_log(a: Any, b: Any, M: Any, epsilon: float, max_iter: int = 1000, tol: float | None = None,
                 f0: Tensor | None = None, g0: Tensor | None = None, warn: bool = True) -> SinkhornResult:
    r"""Solve balanced entropic OT with log-domain Sinkhorn iterations.

    .. math::
        \mathrm{OT}_\varepsilon(a, b) = \min_{T \geq 0,\ T 1 = a,\ T^\top 1 = b}
            \langle T, M \rangle + \varepsilon\, \mathrm{KL}(T \,|\, a b^\top)

    where

    - :math:`M` is the (n, m) cost matrix, :math:`a`, :math:`b` the marginals,
    - :math:`\varepsilon` the entropic regularisation,
    - the updates are :math:`f_i = -\varepsilon \log \sum_j b_j e^{(g_j - M_{ij})/\varepsilon}`
      and the same for :math:`g` with rows and columns swapped.

    Parameters
    ----------
    a : Tensor, shape (n,) or (B, n), optional
        Source weights (None: uniform); strictly positive, summing to 1.
    b : Tensor, shape (m,) or (B, m), optional
        Target weights (None: uniform).
    M : Tensor, shape (n, m) or (B, n, m)
        Cost matrix; a leading batch dimension solves B problems at once.
    epsilon : float
        Regularisation > 0, in the units of M.
    max_iter : int, default 1000
        Maximum number of (row, column) update pairs.
    tol : float, optional
        Stop when ||T^T 1 - b||_2 <= tol; default 1e-9 in float64 (POT's), 1e-5 in lower
        precision, whose round-off keeps the error above 1e-9 (as the GW solvers).
    f0, g0 : Tensor, shapes (n,), (m,) or batched (B, n), (B, m), optional
        Initial potentials (warm start, e.g. a previous result's f and g); zeros by default.
    warn : bool, default True
        Warn with :class:`ConvergenceWarning` when a problem hits ``max_iter``.

    Returns
    -------
    SinkhornResult
        Plan, differentiable value, potentials, iteration counts and errors.

    References
    ----------
    .. [1] M. Cuturi, "Sinkhorn distances: lightspeed computation of optimal transport", NeurIPS 2013.
    .. [2] G. Peyre and M. Cuturi, "Computational optimal transport", 2019, Remark 4.23 (log domain).

    Examples
    --------
    >>> import torch
    >>> M = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    >>> res = sinkhorn_log(None, None, M, epsilon=0.1)
    >>> res.plan
    tensor([[4.9998e-01, 2.2699e-05],
            [2.2699e-05, 4.9998e-01]], dtype=torch.float64)
    >>> bool(res.converged)
    True
    """
    M = as_tensor("M", M)
    check_precision("M", M, "sinkhorn_log")
    if M.dim() not in (2, 3):
        raise ValueError(f"M must be a matrix (n, m) or a batch (B, n, m), got shape {tuple(M.shape)}")
    check_finite("M", M)
    epsilon = check_epsilon(epsilon)
    max_iter, tol = check_iterations("max_iter", max_iter, "tol", default_tol(tol, M.dtype))
    Mb, was_batched = batched(M)
    B, n, m = Mb.shape
    batch = B if was_batched else None
    a = check_marginal("a", a, n, batch, Mb)
    b = check_marginal("b", b, m, batch, Mb)
    with torch.no_grad():
        f = _initial_potential("f0", f0, n, batch, Mb)
        g = _initial_potential("g0", g0, m, batch, Mb)
        f, g, n_iter, err, converged = _lse_iterations(a.detach().log(), b.detach().log(), Mb.detach(), epsilon,
                                                       f, g, max_iter, tol)
        plan = _plan_from_potentials(a.log(), b.log(), Mb.detach(), f, g, epsilon)
    if warn and not bool(converged.all()):
        warnings.warn(f"sinkhorn_log: {int((~converged).sum())} of {B} problems did not reach tol={tol:g} in "
                      f"max_iter={max_iter} iterations (largest error {float(err.max()):.3g}); "
                      "raise max_iter or epsilon", ConvergenceWarning, stacklevel=2)
    # Dual value with the potentials held fixed: exact gradients by the envelope theorem.
    live = a[:, :, None] * b[:, None, :] * torch.exp((f[:, :, None] + g[:, None, :] - Mb) / epsilon)
    value = (f * a).sum(-1) + (g * b).sum(-1) - epsilon * (live.sum((-2, -1)) - 1.0)
    result = SinkhornResult(plan, value, f, g, n_iter, err, converged)
    return result if was_batched else _unbatch(result)


def _initial_potential(name: str, value: Any, size: int, batch: int | None, like: Tensor) -> Tensor:
    """A warm-start potential as a detached (B, size) tensor of ``like``'s dtype (zeros when None);
    ValueError unless it is finite and (size,) or, for a batch, (B, size)."""
    B = 1 if batch is None else batch
    if value is None:
        return like.new_zeros(B, size)
    potential = as_tensor(name, value, like).detach()
    allowed = [(size,)] if batch is None else [(B, size)]
    if tuple(potential.shape) not in allowed:
        raise ValueError(f"{name} must have shape {allowed[0]}, got {tuple(potential.shape)}")
    check_finite(name, potential)
    return potential.to(like).expand(B, size).clone()


def _unbatch(result: SinkhornResult) -> SinkhornResult:
    return SinkhornResult(*(getattr(result, name)[0] for name in
                            ("plan", "value", "f", "g", "n_iter", "err", "converged")))


def _plan_from_potentials(loga: Tensor, logb: Tensor, M: Tensor, f: Tensor, g: Tensor, eps: float) -> Tensor:
    """T_ij = a_i b_j exp((f_i + g_j - M_ij) / eps), shape (B, n, m)."""
    return torch.exp((f[:, :, None] + g[:, None, :] - M) / eps + loga[:, :, None] + logb[:, None, :])


def _row_update(logb: Tensor, M: Tensor, g: Tensor, eps: float) -> Tensor:
    """f_i = -eps log sum_j b_j exp((g_j - M_ij)/eps): makes the row sums exactly a."""
    return -eps * torch.logsumexp(logb[:, None, :] + (g[:, None, :] - M) / eps, dim=2)


def _col_update(loga: Tensor, M: Tensor, f: Tensor, eps: float) -> Tensor:
    """g_j = -eps log sum_i a_i exp((f_i - M_ij)/eps): makes the column sums exactly b."""
    return -eps * torch.logsumexp(loga[:, :, None] + (f[:, :, None] - M) / eps, dim=1)


def _lse_iterations(loga: Tensor, logb: Tensor, M: Tensor, eps: float, f: Tensor, g: Tensor, max_iter: int,
                    tol: float) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Log-sum-exp Sinkhorn from (f, g); problems that converge are frozen (batched == looped)."""
    B = M.shape[0]
    b = logb.exp()
    f = _row_update(logb, M, g, eps)
    n_iter = torch.zeros(B, dtype=torch.long, device=M.device)
    err = torch.full((B,), math.inf, dtype=M.dtype, device=M.device)
    converged = torch.zeros(B, dtype=torch.bool, device=M.device)
    for _ in range(max_iter):
        g_new = _col_update(loga, M, f, eps)
        # column sums of the current plan are b * exp((g - g_new)/eps)
        err = torch.where(converged, err, torch.linalg.vector_norm(b * torch.expm1((g - g_new) / eps), dim=-1))
        converged = converged | (err <= tol)
        if bool(converged.all()):
            break
        keep = converged[:, None]
        g = torch.where(keep, g, g_new)
        f = torch.where(keep, f, _row_update(logb, M, g, eps))
        n_iter += (~converged).long()
    return f, g, n_iter, err, converged


_MIN_EXPONENT = {torch.float64: -1022.0, torch.float32: -126.0, torch.float16: -14.0, torch.bfloat16: -126.0}
_LN2 = math.log(2.0)
# checks cost a few vector operations: negligible next to two matrix-vector products from this size
_CHECK_EVERY_ITERATION_SIZE = 2 ** 18
_MAX_CHECK_GAP = 10
# over-relaxation of the column update, v <- v (b / v K^T u)^omega (Thibault et al. 2021): the same
# fixed point, about a third fewer iterations; dropped to 1 in a call whose error ever grows
_OMEGA = 1.5


@dataclass
class FactoredCost:
    """A (B, n, m) cost kept as M = L R^T + row 1^T + 1 col^T, minus eps log W when ``weight`` W is set.

    The GW gradients have this form (a matrix product plus a rank-2 constant), so the solver
    can build its kernel with one matrix product instead of materialising M first; the
    proximal-point gradient's -eps log T term becomes a product of the kernel with T.
    """

    L: Tensor  # (B, n, r), or the dense (B, n, m) part when R is None
    R: Tensor | None  # (B, m, r)
    row: Tensor  # (B, n)
    col: Tensor  # (B, m)
    weight: Tensor | None = None  # (B, n, m), the kernel is multiplied by it

    def dense(self, eps: float) -> Tensor:
        """M as a (B, n, m) tensor."""
        base = self.row[:, :, None] + self.col[:, None, :]
        M = base.add_(self.L) if self.R is None else torch.baddbmm(base, self.L, self.R.transpose(1, 2))
        return M if self.weight is None else M.sub_(eps * torch.log(self.weight))

    def log2_kernel(self, row_shift: Tensor, col_shift: Tensor, scale: float, out: Tensor) -> Tensor:
        """row_shift_i + col_shift_j - scale * (L R^T + row 1^T + 1 col^T)_ij into ``out``, one product."""
        r_vec = (row_shift - scale * self.row)[:, :, None]
        c_vec = (col_shift - scale * self.col)[:, :, None]
        if self.R is None:
            torch.add(r_vec, c_vec.transpose(1, 2), out=out)
            return out.add_(self.L, alpha=-scale)
        if self.L.shape[2] <= 64:  # thin factors: append the two vectors and do a single product
            left = torch.cat([self.L * -scale, r_vec, torch.ones_like(r_vec)], dim=2)
            right = torch.cat([self.R, torch.ones_like(c_vec), c_vec], dim=2)
            return torch.matmul(left, right.transpose(1, 2), out=out)
        torch.add(r_vec, c_vec.transpose(1, 2), out=out)
        return out.baddbmm_(self.L, self.R.transpose(1, 2), alpha=-scale)


@dataclass
class ScaledKernel:
    """A plan kept factored, T = diag(u) K diag(v), (B, n, m) with u (B, n) and v (B, m).

    Forming T costs two passes over n x m entries; a GW gradient of point clouds needs only
    T V for a thin V, which the factors give in one (:meth:`matmul`), so the GW loop forms T
    only where it measures a plan change or returns one.
    """

    K: Tensor
    u: Tensor
    v: Tensor

    def matmul(self, V: Tensor) -> Tensor:
        """T V, shape (B, n, r), for V of shape (B, m, r)."""
        return self.u[:, :, None] * torch.matmul(self.K, self.v[:, :, None] * V)

    def dense(self, out: Tensor | None = None) -> Tensor:
        """T itself (into ``out``, else in place of K)."""
        plan = torch.mul(self.K, self.u[:, :, None], out=self.K if out is None else out)
        return plan.mul_(self.v[:, None, :])  # normal numbers: see _kernel


def _dense_as_factored(M: Tensor) -> FactoredCost:
    return FactoredCost(M, None, M.new_zeros(M.shape[:2]), M.new_zeros(M.shape[0], M.shape[2]))


def _kernel(loga: Tensor, logb: Tensor, cost: FactoredCost, f: Tensor, g: Tensor, eps: float, tau: float,
            out: Tensor) -> Tensor:
    """Absorbed kernel a_i b_j exp((f_i + g_j - M_ij)/eps) as exp2 of one matrix product, into ``out``."""
    scale = 1.0 / (eps * _LN2)
    K = cost.log2_kernel(f * scale + loga / _LN2, g * scale + logb / _LN2, scale, out)
    # Subnormal numbers slow every later product by an order of magnitude. Entries are raised to
    # 2**floor, with floor high enough that u K v stays normal for scalings in [1/tau, tau]; the mass
    # this adds (n m 2**floor, about 1e-240 in float64) is far below any tolerance.
    floor = _MIN_EXPONENT[K.dtype] + 2 * math.log2(tau) + 1
    K = K.clamp_(min=floor).exp2_()
    return K if cost.weight is None else K.mul_(cost.weight)


def _flush_subnormal(T: Tensor) -> Tensor:
    """Raise entries below the smallest normal number to it, in place (see :func:`_kernel`); no mask
    is allocated, and the mass this adds (at most n m 2.2e-308 in float64) is far below any tolerance."""
    return T.clamp_(min=torch.finfo(T.dtype).tiny)


def _bmv(K: Tensor, x: Tensor) -> Tensor:
    """Batched matrix-vector product K @ x, (B, n, m) x (B, m) -> (B, n)."""
    return torch.matmul(K, x[:, :, None])[:, :, 0]


def _bmv_t(K: Tensor, x: Tensor) -> Tensor:
    """K^T @ x, (B, n, m) x (B, n) -> (B, m). One problem: a plain matrix-vector product (a third
    faster than the batched one on a 256 x 256 K, with the same result to the bit), so a batch and
    a loop over its problems give the same numbers."""
    if K.shape[0] == 1:
        return torch.mv(K[0].T, x[0])[None]
    return torch.matmul(K.transpose(1, 2), x[:, :, None])[:, :, 0]


def _check_gaps(err: Tensor, last_err: Tensor, gap: Tensor, tol: float) -> Tensor:
    """(B,) iterations to each problem's next check: where the geometric decay of its error since its
    last check (``gap`` iterations earlier) reaches ``tol``, between 1 and :data:`_MAX_CHECK_GAP`;
    1 for an error that did not fall."""
    decaying = (err > 0) & (err < last_err) & torch.isfinite(last_err)
    rate = torch.where(decaying, (err / last_err).log() / gap, -torch.ones_like(err))  # log per-iteration factor
    steps = torch.where(decaying, (torch.full_like(err, tol) / err).log() / rate, torch.ones_like(err))
    return steps.nan_to_num(1.0).ceil().clamp(1, _MAX_CHECK_GAP).long()


def sinkhorn_scaling(a: Tensor, b: Tensor, M: Tensor | FactoredCost, eps: float, f: Tensor | None = None,
                     g: Tensor | None = None, max_iter: int = 1000, tol: float = 1e-9, tau: float | None = None,
                     out: Tensor | None = None, workspace: Tensor | None = None,
                     materialize: bool = True) -> tuple[Tensor | ScaledKernel, Tensor, Tensor, Tensor, Tensor]:
    """Log-stabilised scaling Sinkhorn with absorption (Schmitzer 2019, Alg. 2), warm-startable.

    Helper of the GW solvers: trusts its (B, n)/(B, m) marginals and (B, n, m) cost (dense or
    :class:`FactoredCost`), runs without autograd and returns ``(plan, f, g, n_iter,
    converged)`` with potentials in the convention of :func:`sinkhorn_log`. ``tau``
    (default: dtype max ** 0.1) bounds the scalings before they are absorbed into f, g.
    Every call runs at least one full iteration, so warm starts cannot freeze a stale plan.
    ``out`` receives the plan and ``workspace`` holds the kernel (both (B, n, m)): reusing
    them across calls avoids page-faulting fresh n x m allocations, which costs more than
    the arithmetic at n in the thousands. With ``materialize=False`` the plan comes back as a
    :class:`ScaledKernel` over ``workspace`` (a dense tensor if the log-domain fallback ran).
    """
    with torch.no_grad():
        cost = _dense_as_factored(M) if isinstance(M, Tensor) else M
        B, n, m = a.shape[0], a.shape[1], b.shape[1]
        loga, logb = a.log(), b.log()
        if tau is None:
            tau = torch.finfo(a.dtype).max ** 0.1
        if workspace is None:
            workspace = a.new_empty(B, n, m)
        if f is None or g is None:
            # cold start, POT's first step: from constant row scalings u, the column update comes
            # first. Each column is shifted so that its largest kernel entry is 1 (no column of
            # K^T u underflows); the shift is absorbed by that update, so after one iteration the
            # plan is POT's (ot.sinkhorn from u = 1/n, v = 1/m) to round-off.
            f = a.new_zeros(B, n)
            exponent = cost.log2_kernel(loga / _LN2, logb / _LN2, 1.0 / (eps * _LN2), workspace)
            g = -eps * _LN2 * exponent.amax(dim=1)
        K = _kernel(loga, logb, cost, f, g, eps, tau, workspace)
        u, v = a.new_ones(B, n), a.new_ones(B, m)
        u_ok, v_ok = u, v  # scalings at the last check, all finite
        n_iter = torch.full((B,), max_iter, dtype=torch.long, device=a.device)
        converged = torch.zeros(B, dtype=torch.bool, device=a.device)
        frozen = False
        it = 0
        every_iteration = n * m >= _CHECK_EVERY_ITERATION_SIZE
        # each problem keeps its own check schedule and relaxation, so a batch gives its problems'
        # numbers alone: next check, error and iteration at its last check, omega
        due = torch.ones(B, dtype=torch.long, device=a.device)
        last_err = torch.full((B,), math.inf, dtype=a.dtype, device=a.device)
        last_check = torch.zeros(B, dtype=torch.long, device=a.device)
        omega = torch.full((B, 1), _OMEGA, dtype=a.dtype, device=a.device)
        next_check, relaxed, relax_all, relax_any = 1, omega != 1.0, True, True  # no synchronisation per iteration
        while True:
            Ktu = _bmv_t(K, u)
            if every_iteration or it == max_iter or it == next_check:
                every = every_iteration or it == max_iter
                # column error of diag(u) K diag(v), whose rows are exact (module docstring)
                err = torch.linalg.vector_norm(v * Ktu - b, dim=-1)
                check = None if every else due == it
                grew = err > last_err if every else check & (err > last_err)
                if bool(grew.any()):  # over-relaxation off for a problem whose error grew
                    omega = torch.where(grew[:, None], 1.0, omega)
                    relaxed = omega != 1.0
                    relax_all, relax_any = bool(relaxed.all()), bool(relaxed.any())
                newly = ~converged & (err <= tol) if every else check & ~converged & (err <= tol)
                n_iter = torch.where(newly, it, n_iter)
                converged = converged | newly
                n_converged = int(converged.sum())
                if n_converged == B or it == max_iter:
                    break
                frozen = n_converged > 0
                if every:
                    last_err = err
                else:
                    due = torch.where(check, it + _check_gaps(err, last_err, it - last_check, tol), due)
                    last_err = torch.where(check, err, last_err)
                    last_check = torch.where(check, it, last_check)
                    next_check = int(due[~converged].min())
                out_of_range = ~(((u >= 1 / tau) & (u <= tau)).all(1) & ((v >= 1 / tau) & (v <= tau)).all(1))
                if bool(out_of_range.any()):
                    if not (bool(torch.isfinite(u).all()) and bool(torch.isfinite(v).all())):
                        # the kernel underflowed: absorb the last finite scalings, finish in the log domain
                        f, g = f + eps * u_ok.log(), g + eps * v_ok.log()
                        M_dense = cost.dense(eps)
                        f, g, extra, _, converged = _lse_iterations(loga, logb, M_dense, eps, f, g,
                                                                    max_iter - it, tol)
                        plan = _flush_subnormal(_plan_from_potentials(loga, logb, M_dense, f, g, eps))
                        return plan, f, g, torch.where(converged, it + extra, n_iter), converged
                    # absorb the scalings of the problems out of range into their potentials and rebuild
                    # the kernel (the other problems' kernels come out the same)
                    absorb = out_of_range[:, None]
                    f, g = torch.where(absorb, f + eps * u.log(), f), torch.where(absorb, g + eps * v.log(), g)
                    K = _kernel(loga, logb, cost, f, g, eps, tau, workspace)
                    u, v = torch.where(absorb, 1.0, u), torch.where(absorb, 1.0, v)
                    due = torch.where(out_of_range, it + 1, due)
                    next_check = it + 1
                    continue
                u_ok, v_ok = u, v
            v_new = b / Ktu
            if it > 0 and relax_all:  # over-relaxed column update (the rows stay exact) until the error grows
                v_new = v * (v_new / v) ** omega
            elif it > 0 and relax_any:  # per problem
                v_new = torch.where(relaxed, v * (v_new / v) ** omega, v_new)
            u_new = a / _bmv(K, v_new)
            if frozen:
                v_new = torch.where(converged[:, None], v, v_new)
                u_new = torch.where(converged[:, None], u, u_new)
            u, v = u_new, v_new
            it += 1
        f, g = f + eps * u.log(), g + eps * v.log()
        plan = ScaledKernel(K, u, v)
        return (plan.dense(out) if materialize else plan), f, g, n_iter, converged
