"""The entropic GW loop shared by the dense solver and the point-cloud fast path, its checks,
and the differentiable value in its two modes.

Projected gradient in the KL geometry (Peyre, Cuturi & Solomon 2016, Eq. (10) with step
1/epsilon): T <- Sinkhorn_eps(grad L(T)), from T0 = p q^T, the same iteration (and the same
stopping rule: ||T_k - T_{k-1}||_F <= tol, checked every 10th iteration) as POT's
``entropic_gromov_wasserstein``. A cost object supplies the gradient and the loss, so the
dense and low-rank cost representations share this one loop. The inner Sinkhorn is
warm-started from the previous potentials; at convergence T is the same fixed point.

A fixed point T* of that loop is a stationary point of the entropic objective on the couplings
Pi(p, q),

    F(T) = L(T) + eps KL(T | p q^T),   i.e.   grad L(T*) + eps log T* = alpha 1^T + 1 beta^T,

which is what the two differentiable values build on (:func:`differentiable_value`):

- ``objective="gw"`` (POT's value): V = L(T*). Its exact gradient by implicit differentiation
  of the stationarity condition: the adjoint system (H + eps diag(1/T*)) Lam = grad L(T*) + sep.,
  Lam with zero marginals (H the Hessian of L), is solved by conjugate gradients in the
  T*-weighted inner product, then dV/dtheta = dL/dtheta - <Lam, d grad L / dtheta> and dV/dp, dV/dq
  are the separable parts' vectors (:func:`_adjoint`).
- ``objective="entropic_optimum"``: V = F(T*), the entropic optimum; its gradient by the
  envelope theorem is dL/dtheta at T* and the dual potentials for p and q (no linear solve).

The adjoint is solved in float64 whatever the inputs' precision (the Schur complement of the
marginal constraints loses digits fast in float32).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, ClassVar, Protocol, Sequence

import torch
from torch import Tensor

from gwrep.ot.sinkhorn import FactoredCost, ScaledKernel, sinkhorn_log, sinkhorn_scaling
from gwrep.ot.utils import ConvergenceWarning, check_choice, to_numpy

__all__ = ["GWCost", "GWResult", "OBJECTIVES", "check_objective", "solve_entropic_gw", "differentiable_value"]

#: The differentiable values a GW solver can return (see the module docstring).
OBJECTIVES = ("gw", "entropic_optimum")
SOLVERS = ("PGD", "PPA")


def check_objective(objective: str, solver: str) -> None:
    """ValueError for an unknown objective or solver, or the entropic optimum asked of PPA."""
    check_choice("solver", solver, SOLVERS)
    check_choice("objective", objective, OBJECTIVES)
    if objective == "entropic_optimum" and solver == "PPA":
        raise ValueError("objective='entropic_optimum' needs solver='PGD': PPA's fixed points are stationary "
                         "points of the unregularised GW loss, not of the entropic objective")


class GWCost(Protocol):
    """What the loop needs from a GW cost: L(T) = sum_ijkl L(C1_ik, C2_jl) T_ij T_kl (batched), with
    L(a, b) = f1(a) + f2(b) - h1(a) h2(b) (Peyre et al. 2016, Proposition 1)."""

    def gradient(self, T: Tensor) -> FactoredCost:
        """dL/dT, shape (B, n, m), as a matrix product plus row and column terms (with the
        marginals the cost was built with standing for T's)."""

    def loss(self, T: Tensor) -> Tensor:
        """L(T), shape (B,)."""

    def cross_inner(self, A: Tensor, T: Tensor) -> Tensor:
        """<A, h1(C1) T h2(C2)^T>, shape (B,): the part of the bilinear form that is not a marginal term."""

    def hessian(self, Lam: Tensor) -> Tensor:
        """-(h1 Lam h2^T + h1^T Lam h2), shape (B, n, m): the Hessian of L applied to a Lam with zero
        marginals (the marginal terms of L contribute nothing there)."""

    def scale(self) -> str:
        """The size of the costs in words, for error messages."""


@dataclass
class GWResult:
    """The outcome of an entropic GW solve (unbatched inputs give unbatched fields).

    Attributes
    ----------
    plan : Tensor, shape (B, n, m) or (n, m)
        The coupling T (detached).
    value : Tensor, shape (B,) or ()
        The value chosen by ``objective``, differentiable w.r.t. the costs or points and the
        weights it was computed from (see :func:`differentiable_value`).
    n_iter : Tensor, shape (B,) or ()
        Outer (projected-gradient) iterations run.
    err : Tensor, shape (B,) or ()
        Last measured ||T_k - T_{k-1}||_F.
    converged : Tensor of bool, shape (B,) or ()
        err <= tol reached within max_iter.
    inner_iter : int
        Total inner Sinkhorn iterations (all outer steps, whole batch).
    history : list of Tensor
        The measured errors, one (B,) tensor per check (POT's ``log["err"]``).
    inner_converged : Tensor of bool, shape (B,) or ()
        The last inner Sinkhorn solve met its tolerance.
    marginal_error : Tensor, shape (B,) or ()
        max(||T 1 - p||_1, ||T^T 1 - q||_1) of the returned plan.
    marginal_tol : float
        The marginal error above which the plan counts as off its marginals.
    stuck : Tensor of bool, shape (B,) or ()
        The plan never left its start although one exact (float64, log-domain) step moves it:
        the iteration stalled in round-off, the start is not the answer.
    f, g : Tensor, shapes (B, n), (B, m) or unbatched
        Potentials of the last inner solve (T = p q^T exp((f + g - grad L) / eps)).
    objective : str
        Which value ``value`` holds: ``"gw"`` or ``"entropic_optimum"``.
    """

    plan: Tensor
    value: Tensor
    n_iter: Tensor
    err: Tensor
    converged: Tensor
    inner_iter: int
    history: list[Tensor]
    inner_converged: Tensor
    marginal_error: Tensor
    marginal_tol: float
    stuck: Tensor
    f: Tensor
    g: Tensor
    objective: str = "gw"
    _fields: ClassVar[tuple[str, ...]] = ("plan", "value", "n_iter", "err", "converged", "inner_converged",
                                          "marginal_error", "stuck", "f", "g")

    @property
    def ok(self) -> Tensor:
        """converged, the last inner solve converged, marginals within ``marginal_tol``, not stuck."""
        return self.converged & self.inner_converged & (self.marginal_error <= self.marginal_tol) & ~self.stuck

    def numpy(self) -> "GWResult":
        """The same result with numpy arrays for tensors (for numpy inputs)."""
        fields = {name: to_numpy(getattr(self, name)) for name in self._fields}
        return GWResult(**fields, inner_iter=self.inner_iter, history=to_numpy(self.history),
                        marginal_tol=self.marginal_tol, objective=self.objective)

    def unbatched(self) -> "GWResult":
        """Drop the leading batch dimension of a single problem."""
        fields = {name: getattr(self, name)[0] for name in self._fields}
        return GWResult(**fields, inner_iter=self.inner_iter, history=[h[0] for h in self.history],
                        marginal_tol=self.marginal_tol, objective=self.objective)


def _kernel_cost(cost: GWCost, T: Tensor, solver: str) -> FactoredCost:
    """The cost handed to the inner Sinkhorn at plan T: grad L(T), minus eps log T for PPA."""
    G = cost.gradient(T)
    if solver == "PPA":
        G.weight = T  # -eps log T in the cost = the kernel times T
    return G


def solve_entropic_gw(cost: GWCost, p: Tensor, q: Tensor, epsilon: float, T0: Tensor, max_iter: int, tol: float,
                      solver: str = "PGD", inner_max_iter: int = 1000, inner_tol: float = 1e-9,
                      warmstart: bool = True, verbose: bool = False, name: str = "entropic GW",
                      stacklevel: int = 3) -> GWResult:
    """Run the loop on (B, ...) inputs without autograd; ``value`` is filled in by the caller.

    ``solver="PPA"`` subtracts eps log T from the gradient (proximal point, Xu et al. 2019).
    Problems that converge are frozen, so a batch gives the same plans as a loop. Warnings point
    ``stacklevel`` frames up (the caller of the public function). Every way
    the result can be wrong is flagged on it and warned about (:class:`ConvergenceWarning`):
    the outer or the last inner limit reached, marginals off, a plan stuck at its start; a
    non-finite plan raises FloatingPointError naming epsilon and the cost scale.
    """
    B, n, m = T0.shape
    with torch.no_grad():
        T: Tensor | ScaledKernel = T0.clone()
        f = g = None
        done = torch.zeros(B, dtype=torch.bool, device=T0.device)
        inner_ok = torch.ones(B, dtype=torch.bool, device=T0.device)
        n_iter = torch.zeros(B, dtype=torch.long, device=T0.device)
        err = torch.full((B,), float("inf"), dtype=T0.dtype, device=T0.device)
        history: list[Tensor] = []
        inner_total, inner_failed = 0, 0
        # two plan buffers used in turn and one kernel buffer, reused by every iteration
        buffers, workspace = (T, torch.empty_like(T0)), torch.empty_like(T0)
        # a cost that takes factored plans gets them; the plan is formed where a check compares two
        # (iterations 9 and 0 mod 10), a frozen problem is kept, or the loop may end. The gradient is
        # taken from the factors except after a check, whose plan difference overwrites the kernel:
        # the same rule for every problem, so a batch computes what its problems alone would
        scaled = getattr(cost, "scaled_plans", False) and solver == "PGD"
        grad_source: Tensor | ScaledKernel = T
        for cpt in range(max_iter):
            dense_plan = not scaled or cpt % 10 in (0, 9) or cpt == max_iter - 1 or bool(done.any())
            out = buffers[1] if T is buffers[0] else buffers[0]
            result, f_new, g_new, inner, ok = sinkhorn_scaling(p, q, _kernel_cost(cost, grad_source, solver), epsilon,
                                                               f if warmstart else None, g if warmstart else None,
                                                               inner_max_iter, inner_tol, workspace=workspace, out=out,
                                                               materialize=not scaled)
            factors = result if isinstance(result, ScaledKernel) else None
            plan = result.dense(out) if factors is not None and dense_plan else result
            inner_total += int(inner.sum())
            inner_failed += int((~ok & ~done).sum())
            inner_ok = torch.where(done, inner_ok, ok)
            keep = done[:, None, None]
            T_new = torch.where(keep, T, plan, out=plan) if bool(done.any()) else plan
            f = f_new if f is None else torch.where(done[:, None], f, f_new)
            g = g_new if g is None else torch.where(done[:, None], g, g_new)
            n_iter += (~done).long()
            if cpt % 10 == 0:
                change = torch.sub(T_new, T, out=workspace)
                err = torch.where(done, err, torch.linalg.vector_norm(change, dim=(1, 2)))
                history.append(err.clone())
                if not bool(torch.isfinite(err).all()):
                    T = T_new
                    break  # the plan holds NaN or inf: raised below
                done = done | (err <= tol)
                if verbose:
                    if cpt % 200 == 0:
                        print(f"{'It.':5s}|{'Err':12s}\n" + "-" * 19)
                    print(f"{cpt:5d}|{float(err.max()):8e}|")
            grad_source = factors if factors is not None and cpt % 10 != 0 else T_new
            T = T_new
            if bool(done.all()):
                break
        _check_finite_plan(T, cost, epsilon, name)
        r_err = (T.sum(2) - p).abs().sum(1)
        c_err = (T.sum(1) - q).abs().sum(1)
        marginal_error = torch.maximum(r_err, c_err)
        marginal_tol = max(10.0 * math.sqrt(max(n, m)) * inner_tol, 100 * torch.finfo(T.dtype).eps)
        moved = torch.linalg.vector_norm(torch.sub(T, T0, out=workspace), dim=(1, 2))
        stuck = _stuck_at_start(cost, moved <= tol, T0, p, q, epsilon, tol, solver)
    if not bool(done.all()):
        warnings.warn(f"{name}: {int((~done).sum())} of {B} problems did not reach tol={tol:g} in "
                      f"max_iter={max_iter} iterations (last plan change {float(err.max()):.3g}); raise max_iter "
                      "or epsilon", ConvergenceWarning, stacklevel=stacklevel)
    if inner_failed:
        warnings.warn(f"{name}: {inner_failed} inner Sinkhorn solves stopped at their limit "
                      f"({inner_max_iter} iterations) above inner_tol={inner_tol:g}"
                      f"{', the last one included' if not bool(inner_ok.all()) else ''}; raise inner_max_iter "
                      "(POT: numItermax) or epsilon", ConvergenceWarning, stacklevel=stacklevel)
    off = marginal_error > marginal_tol
    if bool(off.any()):
        warnings.warn(f"{name}: the plan's marginals are off by {float(marginal_error.max()):.3g} (L1, tolerance "
                      f"{marginal_tol:.3g}) in {int(off.sum())} of {B} problems; raise epsilon or inner_max_iter",
                      ConvergenceWarning, stacklevel=stacklevel)
    if bool(stuck.any()):
        warnings.warn(f"{name}: in {int(stuck.sum())} of {B} problems the plan never left its start, which is not "
                      f"a fixed point (one exact float64 step moves it): epsilon={epsilon:g} is below what "
                      f"{str(T.dtype).replace('torch.', '')} resolves for {cost.scale()}; raise epsilon or use float64",
                      ConvergenceWarning, stacklevel=stacklevel)
    value = T.new_full((B,), float("nan"))
    return GWResult(T, value, n_iter, err, done, inner_total, history, inner_ok, marginal_error, marginal_tol,
                    stuck, f, g)


def _check_finite_plan(T: Tensor, cost: GWCost, epsilon: float, name: str) -> None:
    """NaN never leaves the solver: a non-finite plan, or one whose mass is off by more than half (every
    inner solve ends on a row update, so its mass is 1 unless the scalings broke down), is an error
    naming epsilon and the cost scale."""
    mass = T.sum((1, 2))
    bad = ~torch.isfinite(mass) | ((mass - 1).abs() > 0.5)
    if bool(bad.any()):
        raise FloatingPointError(
            f"{name}: the plan has NaN or infinite entries or a mass far from 1 ({float(mass[bad][0]):.3g}) in "
            f"{int(bad.sum())} of {T.shape[0]} problems "
            f"(epsilon={epsilon:g}, {cost.scale()}, {str(T.dtype).replace('torch.', '')}): epsilon is too small "
            "for costs of this scale in this precision; raise epsilon, scale the costs to about [0, 1], or use float64")


def _stuck_at_start(cost: GWCost, unchanged: Tensor, T0: Tensor, p: Tensor, q: Tensor, epsilon: float, tol: float,
                    solver: str) -> Tensor:
    """(B,) bool: the plan ended within tol of its start (``unchanged``) although one exact
    projected-gradient step from the start (log-domain Sinkhorn in float64) moves it by more than
    10 tol. Legitimate unchanged plans (constant costs; epsilon so large the start is the answer)
    are not flagged."""
    stuck = torch.zeros_like(unchanged)
    if not bool(unchanged.any()):
        return stuck
    idx = unchanged.nonzero()[:, 0]
    M = _kernel_cost(cost, T0, solver).dense(epsilon)[idx].double()
    # a start that is the answer has a separable gradient, whose rank-one kernel the first iteration
    # solves exactly: a few hundred iterations tell the two cases apart, converged or not
    step = sinkhorn_log(p[idx].double(), q[idx].double(), M, epsilon, max_iter=200, tol=1e-12, warn=False)
    moved = torch.linalg.vector_norm(step.plan - T0[idx].double(), dim=(1, 2)) > 10 * max(tol, 1e-12)
    stuck[idx] = moved.to(stuck.device)
    return stuck


# ----------------------------------------------------------------------------------------------
# The differentiable value


class _Projector:
    """The T-weighted orthogonal projection onto W = {Psi : T o Psi has zero marginals}.

    Its complement is the separable matrices x 1^T + 1 y^T, found from the marginal equations
    (T o (R - x 1^T - 1 y^T)) 1 = 0 and its transpose by eliminating the longer side: the Schur
    complement S = diag(c) - T^T diag(1/r) T (r, c the marginals of T) is factorised once per
    plan, O(n m k + k^3) for k = min(n, m); each projection is then O(n m + k^2). S is singular
    along 1 (x + t, y - t is the same matrix); a rank-one term fixes the constant.
    """

    def __init__(self, T: Tensor):
        self.transpose = T.shape[1] < T.shape[2]
        self.T = T.transpose(1, 2) if self.transpose else T  # (B, n, k), k <= n
        self.r, self.c = self.T.sum(2), self.T.sum(1)
        k = self.T.shape[2]
        S = torch.diag_embed(self.c) - torch.matmul(self.T.transpose(1, 2) / self.r[:, None, :], self.T)
        S = S + (self.c.mean(1) / k)[:, None, None]
        chol, info = torch.linalg.cholesky_ex(S)
        self._chol: Tensor | None = chol if bool((info == 0).all()) else None
        if self._chol is None:  # numerically semi-definite: a pseudo-inverse by eigendecomposition
            w, self._V = torch.linalg.eigh(S)
            self._w_inv = torch.where(w > 1e-13 * w.amax(1, keepdim=True), 1.0 / w, torch.zeros_like(w))

    def _solve(self, rhs: Tensor) -> Tensor:
        if self._chol is not None:
            return torch.cholesky_solve(rhs[:, :, None], self._chol)[:, :, 0]
        coef = torch.matmul(self._V.transpose(1, 2), rhs[:, :, None])[:, :, 0] * self._w_inv
        return torch.matmul(self._V, coef[:, :, None])[:, :, 0]

    def split(self, R: Tensor) -> tuple[Tensor, Tensor]:
        """(x, y) with R - x 1^T - 1 y^T in W, shapes (B, n), (B, m)."""
        R = R.transpose(1, 2) if self.transpose else R
        W = self.T * R
        rr, cc = W.sum(2), W.sum(1)
        y = self._solve(cc - torch.matmul(self.T.transpose(1, 2), (rr / self.r)[:, :, None])[:, :, 0])
        x = (rr - torch.matmul(self.T, y[:, :, None])[:, :, 0]) / self.r
        return (y, x) if self.transpose else (x, y)

    def __call__(self, R: Tensor) -> Tensor:
        x, y = self.split(R)
        return R - x[:, :, None] - y[:, None, :]


def _t_inner(T: Tensor, A: Tensor, B: Tensor) -> Tensor:
    """sum T o A o B per problem, shape (B,)."""
    return (T * A * B).sum((1, 2))


def _adjoint(cost: GWCost, T: Tensor, epsilon: float, tol: float = 1e-11,
             max_iter: int = 2000) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Solve the adjoint system of V = L(T*) at the stationary plan T* (float64 cost and plan).

    Finds Lam with zero marginals and vectors (a, b) such that
    (H + eps diag(1/T)) Lam - grad L(T) = a 1^T + 1 b^T, writing Lam = T o Psi: conjugate
    gradients on Psi in W with the T-weighted inner product, where the operator
    Psi -> eps Psi + P_W H (T o Psi) is symmetric, and positive definite at a strict local
    minimum of F (its eigenvalues lie in eps (1 - rho, 1 + rho) when the projected-gradient
    loop contracts at rate rho). Returns (Lam, a, b, relative residual).
    """
    project = _Projector(T)
    G = cost.gradient(T).dense(epsilon)
    rhs = project(G)
    psi = torch.zeros_like(T)
    res = rhs.clone()
    d = res.clone()
    rz = _t_inner(T, res, res)
    norm0 = rz.sqrt().clamp_min(torch.finfo(T.dtype).tiny)
    active = rz.sqrt() > tol * norm0
    for _ in range(max_iter):
        if not bool(active.any()):
            break
        Ad = epsilon * d + project(cost.hessian(T * d))
        dAd = _t_inner(T, d, Ad)
        active = active & (dAd > 0)  # negative curvature: T is not a strict local minimum
        alpha = torch.where(active, rz / torch.where(active, dAd, torch.ones_like(dAd)), torch.zeros_like(rz))
        psi = psi + alpha[:, None, None] * d
        res = res - alpha[:, None, None] * Ad
        rz_new = _t_inner(T, res, res)
        beta = torch.where(active, rz_new / torch.where(active, rz, torch.ones_like(rz)), torch.zeros_like(rz))
        d = res + beta[:, None, None] * d
        rz = torch.where(active, rz_new, rz)
        active = active & (rz.sqrt() > tol * norm0)
    Lam = T * psi
    R = cost.hessian(Lam) + epsilon * psi - G
    a, b = project.split(R)
    scale = _t_inner(T, rhs, rhs).sqrt().clamp_min(torch.finfo(T.dtype).tiny)
    residual = _t_inner(T, project(R), project(R)).sqrt() / scale
    return Lam, a, b, residual


def _live(value: Tensor) -> Tensor:
    """``value`` minus its detached self: zero, with value's gradient."""
    return value - value.detach()


def differentiable_value(make_cost: Callable[..., GWCost], params: Sequence[Tensor], result: GWResult,
                         p: Tensor, q: Tensor, epsilon: float | Tensor, objective: str, solver: str,
                         name: str = "entropic GW", stacklevel: int = 3) -> Tensor:
    """The (B,) value of ``objective`` at ``result.plan``, with its exact gradient w.r.t. ``params``
    (the tensors the costs are made of, e.g. C1, C2 or X, Y), the weights ``p``, ``q`` and, when
    it is a tensor, ``epsilon``.

    ``make_cost(*params, p, q)`` builds the cost; it is called with T's own marginals, so p and q
    reach the value only through the constraints. p and q are the normalised weights (their
    gradient is that of the value as a function of w / sum(w)).

    - ``"gw"``: L(T*). PGD: implicit differentiation (:func:`_adjoint`); dV/deps = -<Lam, log T*>;
      warns when the adjoint solve does not converge. PPA, whose fixed points are stationary
      points of L itself (independent of eps): the envelope theorem at that point, with the
      multipliers f + eps log p and g + eps log q.
    - ``"entropic_optimum"``: F = L(T*) + eps KL(T* | p q^T) with the envelope gradient (PGD only):
      dF/dtheta = dL/dtheta at T*, dF/deps = KL, dF/dp = f and dF/dq = g up to constants.
    """
    T, f, g = result.plan, result.f, result.g
    r, c = T.sum(2), T.sum(1)
    eps = float(epsilon.detach()) if isinstance(epsilon, Tensor) else float(epsilon)
    live_eps = epsilon if isinstance(epsilon, Tensor) else T.new_tensor(eps)
    grad_needed = torch.is_grad_enabled() and any(t.requires_grad for t in (*params, p, q, live_eps))
    if not grad_needed:
        with torch.no_grad():
            value = make_cost(*params, r, c).loss(T)
            return value + eps * _kl(T, p, q) if objective == "entropic_optimum" else value
    live = make_cost(*params, r, c)
    value = live.loss(T)
    if objective == "entropic_optimum":
        return value + live_eps * _kl(T, p, q) + _live((f * p).sum(1) + (g * q).sum(1))
    if solver == "PPA":
        alpha, beta = f + eps * p.detach().log(), g + eps * q.detach().log()
        return value + _live((alpha * p).sum(1) + (beta * q).sum(1))
    with torch.no_grad():
        exact = make_cost(*(t.detach().double() for t in params), r.double(), c.double())
        Lam, a, b, residual = _adjoint(exact, T.double(), eps)
        eps_term = torch.xlogy(Lam, T.double()).sum((1, 2))  # <Lam, log T>: how the fixed point moves with eps
        Lam, a, b, eps_term = Lam.to(T.dtype), a.to(T.dtype), b.to(T.dtype), eps_term.to(T.dtype)
    if bool((residual > 1e-6).any()) or not bool(torch.isfinite(residual).all()):
        warnings.warn(f"{name}: the implicit gradient's adjoint solve stopped at relative residual "
                      f"{float(residual.max()):.3g}: the plan is not a strict local minimum of the entropic "
                      "objective (or not converged); its gradient is inexact. objective='entropic_optimum' "
                      "has an exact envelope gradient", ConvergenceWarning, stacklevel=stacklevel)
    # <Lam, grad_T L(T)> as a function of the costs (the marginal terms vanish: Lam has none)
    directional = -(live.cross_inner(Lam, T) + live.cross_inner(T, Lam))
    return (value - _live(directional) - _live((a * p).sum(1) + (b * q).sum(1))
            - _live(live_eps * torch.ones_like(eps_term)) * eps_term)


def _kl(T: Tensor, p: Tensor, q: Tensor) -> Tensor:
    """KL(T | p q^T) = sum T log(T / (p q^T)), shape (B,), live in p and q (T is a plan of mass 1)."""
    return (torch.xlogy(T, T).sum((1, 2)) - (T.sum(2) * p.log()).sum(1) - (T.sum(1) * q.log()).sum(1))
