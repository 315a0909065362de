"""Tests for gwrep/ot/gw_solver.py: the projected-gradient loop's iteration semantics, the differentiable
value in both modes (gradients checked by float64 gradcheck, finite differences and POT's unrolled
autograd) and the checks that keep a failed solve from passing silently."""
import warnings

import numpy as np
import pytest
import ot
import torch

from gwrep.ot import ConvergenceWarning, entropic_gromov_wasserstein2
from gwrep.ot.gromov import DenseGWCost
from gwrep.ot.gw_solver import solve_entropic_gw


def costs(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    C = ot.dist(X, X)
    return torch.from_numpy(C / C.max())


def test_history_and_iteration_count_follow_pot():
    C1, C2 = costs(7, 0), costs(6, 1)
    p, q = torch.full((1, 7), 1 / 7, dtype=torch.float64), torch.full((1, 6), 1 / 6, dtype=torch.float64)
    cost = DenseGWCost(C1[None], C2[None], p, q, "square_loss", True)
    res = solve_entropic_gw(cost, p, q, 0.05, p[:, :, None] * q[:, None, :], max_iter=1000, tol=1e-9)
    _, log = ot.gromov.entropic_gromov_wasserstein(C1.numpy(), C2.numpy(), epsilon=0.05, log=True)
    # errors are measured at iterations 0, 10, 20, ... and the loop stops right after the first one <= tol
    assert int(res.n_iter[0]) == 10 * (len(res.history) - 1) + 1
    assert len(res.history) == len(log["err"])
    np.testing.assert_allclose([float(h[0]) for h in res.history[:2]], log["err"][:2], rtol=1e-4)
    assert float(res.err[0]) <= 1e-9 and bool(res.converged[0])


def test_converged_problems_are_frozen_in_a_batch():
    C1 = torch.stack([costs(6, 2), costs(6, 3)])
    C2 = torch.stack([costs(5, 4), costs(5, 5)])
    p, q = torch.full((2, 6), 1 / 6, dtype=torch.float64), torch.full((2, 5), 1 / 5, dtype=torch.float64)
    T0 = p[:, :, None] * q[:, None, :]
    res = solve_entropic_gw(DenseGWCost(C1, C2, p, q, "square_loss", True), p, q, 0.05, T0, 1000, 1e-9)
    counts = res.n_iter.tolist()
    for b in range(2):
        one = solve_entropic_gw(DenseGWCost(C1[b:b + 1], C2[b:b + 1], p[:1], q[:1], "square_loss", True), p[:1],
                                q[:1], 0.05, T0[:1], 1000, 1e-9)
        assert int(one.n_iter[0]) == counts[b]
        torch.testing.assert_close(one.plan[0], res.plan[b], atol=1e-13, rtol=0)


# ------------------------------------------------------------- one value, one gradient (issue 24)

def problem(n, m, seed):
    """Normalised squared-distance costs of two random clouds and non-uniform weights (numpy)."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, 2)), rng.standard_normal((m, 2))
    C1, C2 = ot.dist(X, X), ot.dist(Y, Y)
    p, q = rng.random(n) + 0.5, rng.random(m) + 0.5
    return C1 / C1.max(), C2 / C2.max(), p / p.sum(), q / q.sum()


TIGHT = {"tol": 1e-13, "inner_tol": 1e-14, "max_iter": 20000}  # finite differences need converged solves


def test_gradient_is_the_derivative_of_the_returned_value():
    """Issue 24, case 1: a central finite difference of the returned value along a symmetric direction
    equals its autograd derivative (it was off by 98%, 260% and 426% at these epsilons, sign flipped at
    0.05: the gradient was the entropic optimum's, the value the GW loss of the plan)."""
    C1, C2, _, _ = [torch.from_numpy(a) for a in problem(7, 6, seed=3)]
    D = torch.from_numpy(np.random.default_rng(0).standard_normal((7, 7)))
    D = D + D.T
    for eps in (0.1, 0.05, 0.02):
        A = C1.clone().requires_grad_()
        entropic_gromov_wasserstein2(A, C2, epsilon=eps, **TIGHT).backward()
        h = 1e-6
        plus = entropic_gromov_wasserstein2(C1 + h * D, C2, epsilon=eps, **TIGHT)
        minus = entropic_gromov_wasserstein2(C1 - h * D, C2, epsilon=eps, **TIGHT)
        finite = float(plus - minus) / (2 * h)
        assert float((A.grad * D).sum()) == pytest.approx(finite, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("objective", ["gw", "entropic_optimum"])
@pytest.mark.parametrize("eps", [0.1, 0.05, 0.02])
def test_gradcheck_costs_and_weights(objective, eps):
    """float64 gradcheck of the value w.r.t. C1, C2 (symmetric directions), p and q, in both modes at three
    epsilons (random-projection mode: one directional derivative per input set, a few solves)."""
    C1, C2, p, q = problem(5, 4, seed=1)
    inputs = [torch.tensor(a, requires_grad=True) for a in (C1 / 2, C2 / 2, p, q)]

    def value(A1, A2, p, q):
        return entropic_gromov_wasserstein2(A1 + A1.T, A2 + A2.T, p, q, epsilon=eps, objective=objective, **TIGHT)

    # eps 1e-7: a step of 1e-6 would move sum(p) off 1 by more than the 1e-6 the input check allows
    assert torch.autograd.gradcheck(value, inputs, eps=1e-7, atol=1e-5, rtol=1e-4, fast_mode=True)


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["gw", "entropic_optimum"])
def test_full_gradcheck(objective):
    """The full Jacobian, entry by entry, at epsilon 0.05 (4 and 3 points: 32 inputs, ~12 s a mode;
    the random-projection gradchecks above run by default)."""
    C1, C2, p, q = problem(4, 3, seed=2)
    inputs = [torch.tensor(a, requires_grad=True) for a in (C1 / 2, C2 / 2, p, q)]

    def value(A1, A2, p, q):
        return entropic_gromov_wasserstein2(A1 + A1.T, A2 + A2.T, p, q, epsilon=0.05, objective=objective, **TIGHT)

    assert torch.autograd.gradcheck(value, inputs, eps=1e-7, atol=1e-5, rtol=1e-4)


def test_gradients_equal_pots_unrolled_autograd():
    """Issue 24, case 2 (p and q had no gradient) and POT's reference: POT's torch backend differentiates
    by unrolling its iterations; the implicit gradient equals it for C1, C2 (symmetric part: both solvers
    assume symmetric costs) and for p, q up to the constant that a weight vector's gradient is defined
    up to (both centred by the weights)."""
    C1, C2, p, q = problem(7, 6, seed=3)
    ours = [torch.tensor(a, requires_grad=True) for a in (C1, C2, p, q)]
    pots = [torch.tensor(a, requires_grad=True) for a in (C1, C2, p, q)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT's Sinkhorn at stopThr 1e-13
        ot.gromov.entropic_gromov_wasserstein2(*pots, epsilon=0.05, tol=1e-12, max_iter=5000, numItermax=5000,
                                               stopThr=1e-13).backward()
    value = entropic_gromov_wasserstein2(*ours, epsilon=0.05, tol=1e-12, inner_tol=1e-13, max_iter=5000)
    value.backward()
    assert ours[2].grad is not None and ours[3].grad is not None
    for i, (mine, theirs) in enumerate(zip(ours, pots)):
        a, b = mine.grad, theirs.grad
        if i < 2:
            a, b = (a + a.T) / 2, (b + b.T) / 2
        else:
            w = mine.detach()
            a, b = a - (a * w).sum(), b - (b * w).sum()
        torch.testing.assert_close(a, b, atol=1e-9, rtol=0)


def test_entropic_optimum_is_the_objective_at_the_plan():
    """objective="entropic_optimum" returns L(T) + eps KL(T | p q^T) at the plan (computed here from the
    plan and POT's GW loss), which is below L(T') + eps KL(T') for other couplings T'."""
    C1, C2, p, q = problem(6, 5, seed=4)
    eps = 0.05
    value, log = entropic_gromov_wasserstein2(C1, C2, p, q, epsilon=eps, objective="entropic_optimum", log=True)
    T = log["T"]

    def objective(P):
        constC, hC1, hC2 = ot.gromov.init_matrix(C1, C2, p, q, "square_loss")
        return ot.gromov.gwloss(constC, hC1, hC2, P) + eps * np.sum(P * np.log(P / np.outer(p, q)))

    assert float(value) == pytest.approx(objective(T), rel=1e-8)  # POT's loss uses p, q; ours T's own marginals
    assert float(value) > float(entropic_gromov_wasserstein2(C1, C2, p, q, epsilon=eps))  # KL > 0
    rng = np.random.default_rng(0)
    for _ in range(5):  # a perturbed coupling, projected back onto the marginals
        other = ot.sinkhorn(p, q, -eps * np.log(T) + 0.01 * rng.standard_normal(T.shape), eps, stopThr=1e-12)
        assert objective(other) >= float(value) - 1e-12


def test_ppa_gradient_is_the_envelope_gradient_at_its_fixed_point():
    """PPA's fixed points are stationary points of L itself; at one, the value's gradient is dL/dC with
    the plan held (checked against finite differences of the converged PPA value)."""
    C1, C2, _, _ = [torch.from_numpy(a) for a in problem(6, 5, seed=5)]
    kw = {"epsilon": 0.05, "solver": "PPA", "tol": 1e-13, "inner_tol": 1e-14, "max_iter": 20000}
    D = torch.from_numpy(np.random.default_rng(1).standard_normal((6, 6)))
    D = D + D.T
    A = C1.clone().requires_grad_()
    entropic_gromov_wasserstein2(A, C2, **kw).backward()
    h = 1e-6
    finite = float(entropic_gromov_wasserstein2(C1 + h * D, C2, **kw) -
                   entropic_gromov_wasserstein2(C1 - h * D, C2, **kw)) / (2 * h)
    assert float((A.grad * D).sum()) == pytest.approx(finite, rel=1e-4, abs=1e-7)


def test_no_gradient_needed_no_adjoint_and_a_plain_value():
    """Inputs without requires_grad give a value without a graph (no adjoint solve), equal to the other."""
    C1, C2, p, q = [torch.from_numpy(a) for a in problem(6, 5, seed=6)]
    plain = entropic_gromov_wasserstein2(C1, C2, p, q, epsilon=0.05)
    live = entropic_gromov_wasserstein2(C1.clone().requires_grad_(), C2, p, q, epsilon=0.05)
    assert not plain.requires_grad and live.requires_grad
    assert float(plain) == float(live.detach())


# ------------------------------------------------------------- non-convergence is never silent (issue 24)

def unit_costs(n, m, seed, dtype):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((m, 2))
    C1, C2 = ot.dist(X, X), ot.dist(Y, Y)
    return torch.tensor(C1 / C1.max(), dtype=dtype), torch.tensor(C2 / C2.max(), dtype=dtype)


def test_a_plan_stuck_at_its_start_warns_and_is_flagged():
    """Issue 24, case 6: float32, epsilon 1e-6 on unit-scaled costs: the plan came back as the starting
    p q^T, with its value, and nothing said so. Now a warning says the plan never left its start and
    the log flags it (``stuck``, ``ok`` False)."""
    C1, C2 = unit_costs(10, 8, seed=0, dtype=torch.float32)
    with pytest.warns(ConvergenceWarning, match="never left its start"):
        value, log = entropic_gromov_wasserstein2(C1, C2, epsilon=1e-6, inner_max_iter=10, log=True)
    assert bool(log["stuck"]) and not bool(log["ok"])
    torch.testing.assert_close(log["T"], torch.full((10, 8), 1 / 80), atol=1e-9, rtol=0)
    # a start that is the answer is not flagged: with C2 = 0 every plan has the same loss, p q^T is optimal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, log = entropic_gromov_wasserstein2(C1.double(), torch.zeros(8, 8, dtype=torch.float64), epsilon=0.05,
                                              log=True)
    assert not bool(log["stuck"]) and bool(log["ok"])


@pytest.mark.parametrize("n, m, seed, inner", [(10, 8, 1, 1000), (20, 15, 0, 10)], ids=["nan", "mass-1e24"])
def test_nan_never_leaves_the_solver(n, m, seed, inner):
    """Issue 24, case 6: float32 at epsilon 1e-8 gave a NaN value and gradient with only convergence
    warnings (and at 1e-6 with 10 inner iterations a finite plan of mass 1e24, value 3.5e26); now an
    error names epsilon, the cost scale and the dtype."""
    C1, C2 = unit_costs(n, m, seed=seed, dtype=torch.float32)
    eps = 1e-8 if inner == 1000 else 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(FloatingPointError, match=rf"epsilon={eps:g}, costs up to max\|C1\| = 1, max\|C2\| = 1, "
                                                     r"float32.*raise epsilon"):
            entropic_gromov_wasserstein2(C1.requires_grad_(), C2, epsilon=eps, inner_max_iter=inner)


def test_marginals_off_warn_and_are_flagged():
    """One inner iteration leaves the columns off their marginal: a warning, and ``marginal_error`` above
    ``marginal_tol`` on the result (also the outer and inner limits are flagged)."""
    from gwrep.ot import gromov_wasserstein_points

    X = torch.from_numpy(np.random.default_rng(2).standard_normal((9, 3))) / 4
    with pytest.warns(ConvergenceWarning) as record:
        res = gromov_wasserstein_points(X, X[:, :2], epsilon=0.01, max_iter=1, inner_max_iter=1)
    messages = " | ".join(str(w.message) for w in record)
    assert "marginals are off" in messages and "did not reach tol" in messages and "the last one included" in messages
    assert float(res.marginal_error) > res.marginal_tol
    assert not bool(res.converged) and not bool(res.inner_converged) and not bool(res.ok)
    assert float((res.plan.sum(0) - 1 / 9).abs().sum()) == pytest.approx(float(res.marginal_error), rel=1e-12)


def test_batched_gradients_equal_looped_ones():
    """The adjoint solve is batched: a batch's gradients are its problems' gradients alone."""
    problems = [problem(6, 5, seed=s) for s in (7, 8)]
    C1 = torch.stack([torch.from_numpy(c1) for c1, _, _, _ in problems]).requires_grad_()
    C2 = torch.stack([torch.from_numpy(c2) for _, c2, _, _ in problems])
    p = torch.stack([torch.from_numpy(w) for _, _, w, _ in problems]).requires_grad_()
    entropic_gromov_wasserstein2(C1, C2, p, epsilon=0.05).sum().backward()
    for b in range(2):
        C1b, pb = C1[b].detach().clone().requires_grad_(), p[b].detach().clone().requires_grad_()
        entropic_gromov_wasserstein2(C1b, C2[b], pb, epsilon=0.05).backward()
        torch.testing.assert_close(C1.grad[b], C1b.grad, atol=1e-10, rtol=0)
        torch.testing.assert_close(p.grad[b], pb.grad, atol=1e-10, rtol=0)
