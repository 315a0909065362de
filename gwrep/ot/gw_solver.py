"""The entropic GW loop shared by the dense solver and the point-cloud fast path.

Projected gradient in the KL geometry (Peyre, Cuturi & Solomon 2016, Eq. (10) with step
1/epsilon): T <- Sinkhorn_eps(grad L(T)), from T0 = p q^T, the same iteration (and the same
stopping rule: ||T_k - T_{k-1}||_F <= tol, checked every 10th iteration) as POT's
``entropic_gromov_wasserstein``. A cost object supplies the gradient and the loss, so the
dense and low-rank cost representations share this one loop. The inner Sinkhorn is
warm-started from the previous potentials; at convergence T is the same fixed point.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from gwrep.ot.sinkhorn import FactoredCost, sinkhorn_scaling
from gwrep.ot.utils import ConvergenceWarning

__all__ = ["GWCost", "GWResult", "solve_entropic_gw"]


class GWCost(Protocol):
    """What the loop needs from a GW cost: L(T) = sum_ijkl L(C1_ik, C2_jl) T_ij T_kl (batched)."""

    def gradient(self, T: Tensor) -> FactoredCost:
        """dL/dT, shape (B, n, m), as a matrix product plus row and column terms."""

    def loss(self, T: Tensor) -> Tensor:
        """L(T), shape (B,)."""


@dataclass
class GWResult:
    """The outcome of an entropic GW solve (unbatched inputs give unbatched fields).

    Attributes
    ----------
    plan : Tensor, shape (B, n, m) or (n, m)
        The coupling T (detached).
    value : Tensor, shape (B,) or ()
        The GW loss L(T) without the entropy, differentiable (envelope theorem) w.r.t.
        the costs or points it was computed from.
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
    """

    plan: Tensor
    value: Tensor
    n_iter: Tensor
    err: Tensor
    converged: Tensor
    inner_iter: int
    history: list[Tensor]

    def unbatched(self) -> "GWResult":
        """Drop the leading batch dimension of a single problem."""
        return GWResult(self.plan[0], self.value[0], self.n_iter[0], self.err[0], self.converged[0],
                        self.inner_iter, [h[0] for h in self.history])


def solve_entropic_gw(cost: GWCost, p: Tensor, q: Tensor, epsilon: float, T0: Tensor, max_iter: int, tol: float,
                      solver: str = "PGD", inner_max_iter: int = 1000, inner_tol: float = 1e-9,
                      warmstart: bool = True, verbose: bool = False) -> GWResult:
    """Run the loop on (B, ...) inputs without autograd; ``value`` is filled in by the caller.

    ``solver="PPA"`` subtracts eps log T from the gradient (proximal point, Xu et al. 2019).
    Problems that converge are frozen, so a batch gives the same plans as a loop.
    """
    B, n, m = T0.shape
    with torch.no_grad():
        T = T0.clone()
        f = g = None
        done = torch.zeros(B, dtype=torch.bool, device=T.device)
        n_iter = torch.zeros(B, dtype=torch.long, device=T.device)
        err = torch.full((B,), float("inf"), dtype=T.dtype, device=T.device)
        history: list[Tensor] = []
        inner_total, inner_failed = 0, 0
        # two plan buffers used in turn and one kernel buffer, reused by every iteration
        spare, workspace = torch.empty_like(T), torch.empty_like(T)
        for cpt in range(max_iter):
            G = cost.gradient(T)
            if solver == "PPA":
                G.weight = T  # -eps log T in the cost = the kernel times T
            plan, f_new, g_new, inner, ok = sinkhorn_scaling(p, q, G, epsilon, f if warmstart else None,
                                                             g if warmstart else None, inner_max_iter, inner_tol,
                                                             out=spare, workspace=workspace)
            inner_total += int(inner.sum())
            inner_failed += int((~ok & ~done).sum())
            keep = done[:, None, None]
            T_new = torch.where(keep, T, plan, out=plan) if bool(done.any()) else plan
            f = f_new if f is None else torch.where(done[:, None], f, f_new)
            g = g_new if g is None else torch.where(done[:, None], g, g_new)
            n_iter += (~done).long()
            if cpt % 10 == 0:
                change = torch.sub(T_new, T, out=workspace)
                err = torch.where(done, err, torch.linalg.vector_norm(change, dim=(1, 2)))
                history.append(err.clone())
                done = done | (err <= tol)
                if verbose:
                    if cpt % 200 == 0:
                        print(f"{'It.':5s}|{'Err':12s}\n" + "-" * 19)
                    print(f"{cpt:5d}|{float(err.max()):8e}|")
            T, spare = T_new, T
            if bool(done.all()):
                break
    if not bool(done.all()):
        warnings.warn(f"entropic GW: {int((~done).sum())} of {B} problems did not reach tol={tol:g} in "
                      f"max_iter={max_iter} iterations (last plan change {float(err.max()):.3g}); raise max_iter "
                      "or epsilon", ConvergenceWarning, stacklevel=3)
    if inner_failed:
        warnings.warn(f"entropic GW: {inner_failed} inner Sinkhorn solves stopped at their limit "
                      f"({inner_max_iter} iterations) above inner_tol={inner_tol:g}; raise inner_max_iter "
                      "(POT: numItermax) or epsilon", ConvergenceWarning, stacklevel=3)
    mass_error = (T.sum((1, 2)) - 1).abs()
    if bool((mass_error > 1e-5).any()):
        warnings.warn(f"entropic GW: the plan's mass is off by {float(mass_error.max()):.3g}; raise epsilon",
                      ConvergenceWarning, stacklevel=3)
    value = T.new_full((B,), float("nan"))
    return GWResult(T, value, n_iter, err, done, inner_total, history)
