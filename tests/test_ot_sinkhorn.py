"""Tests for gwrep/ot/sinkhorn.py: log-domain and log-stabilised scaling Sinkhorn."""
import warnings

import numpy as np
import ot
import pytest
import torch

from gwrep.ot import ConvergenceWarning, sinkhorn_log
from gwrep.ot.sinkhorn import FactoredCost, sinkhorn_scaling


def problem(n, m, seed, batch=None):
    g = torch.Generator().manual_seed(seed)
    shape = () if batch is None else (batch,)
    x, y = torch.randn(*shape, n, 2, generator=g, dtype=torch.float64), torch.randn(*shape, m, 2, generator=g,
                                                                                    dtype=torch.float64)
    a = torch.rand(*shape, n, generator=g, dtype=torch.float64) + 0.5
    b = torch.rand(*shape, m, generator=g, dtype=torch.float64) + 0.5
    M = torch.cdist(x, y) ** 2
    return a / a.sum(-1, keepdim=True), b / b.sum(-1, keepdim=True), M / M.amax((-2, -1), keepdim=True)


def test_plan_equals_pot_and_marginals_hold():
    a, b, M = problem(12, 9, seed=0)
    res = sinkhorn_log(a, b, M, epsilon=0.1, tol=1e-12)
    ref = ot.sinkhorn(a.numpy(), b.numpy(), M.numpy(), 0.1, stopThr=1e-12, numItermax=10000)
    np.testing.assert_allclose(res.plan.numpy(), ref, atol=1e-11)
    assert bool(res.converged)
    assert float(torch.linalg.vector_norm(res.plan.sum(0) - b)) <= 1e-12
    torch.testing.assert_close(res.plan.sum(1), a, atol=1e-14, rtol=0)
    # the value is the primal objective <T, M> + eps KL(T | a b^T)
    T = res.plan
    primal = (T * M).sum() + 0.1 * (T * (T / (a[:, None] * b[None, :])).log()).sum()
    assert float(res.value) == pytest.approx(float(primal), rel=1e-10)


def test_log_domain_survives_tiny_epsilon():
    a, b, M = problem(6, 5, seed=1)
    shifted = M + 2.0  # the same problem (plans ignore constants), but exp(-M / eps) is 0 everywhere
    assert float(torch.exp(-shifted / 2e-3).max()) == 0.0
    res = sinkhorn_log(a, b, shifted, epsilon=2e-3, max_iter=20000)
    assert torch.isfinite(res.plan).all() and bool(res.converged)
    torch.testing.assert_close(res.plan, sinkhorn_log(a, b, M, epsilon=2e-3, max_iter=20000).plan, atol=1e-10,
                               rtol=0)


def test_scaling_variant_agrees_with_log_domain_and_warm_starts():
    a, b, M = problem(15, 11, seed=2, batch=2)
    ref = sinkhorn_log(a, b, M, epsilon=0.05, tol=1e-11)
    plan, f, g, n_iter, ok = sinkhorn_scaling(a, b, M, 0.05, tol=1e-11)
    torch.testing.assert_close(plan, ref.plan, atol=1e-10, rtol=0)
    assert bool(ok.all())
    # warm-started from the solution, one iteration suffices
    _, _, _, n_again, _ = sinkhorn_scaling(a, b, M, 0.05, f, g, tol=1e-10)
    assert int(n_again.max()) == 1
    # a factored cost gives the same plan as its dense form
    L, R = torch.randn(2, 15, 3, dtype=torch.float64), torch.randn(2, 11, 3, dtype=torch.float64)
    cost = FactoredCost(L, R, M[:, :, 0], M[:, 0, :])
    plan_f = sinkhorn_scaling(a, b, cost, 0.5, tol=1e-11)[0]
    plan_d = sinkhorn_log(a, b, cost.dense(0.5), epsilon=0.5, tol=1e-11).plan
    torch.testing.assert_close(plan_f, plan_d, atol=1e-10, rtol=0)


def test_scaling_variant_absorbs_and_falls_back_on_underflow():
    a, b, M = problem(10, 8, seed=3, batch=1)
    ref = sinkhorn_log(a, b, M + 1.0, epsilon=1e-3, tol=1e-10, max_iter=20000)
    plan, _, _, _, ok = sinkhorn_scaling(a, b, M + 1.0, 1e-3, tol=1e-10, max_iter=20000)
    assert bool(ok.all())
    torch.testing.assert_close(plan, ref.plan, atol=1e-9, rtol=0)


@pytest.mark.parametrize("a", [[0.2] * 5, np.full(5, 0.2) * (1 + 5e-7)], ids=["list", "sum-1+5e-7"])
def test_marginals_off_by_round_off_converge_to_pots_plan(a):
    """A list (float32 in torch.as_tensor: sum 1 + 1.5e-8) or a sum off by 5e-7 used to leave a
    column error no iteration removes; the weights are now renormalised."""
    _, _, M = problem(5, 4, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sinkhorn_log(a, None, M, 0.1)
    assert bool(res.converged) and res.plan.dtype == torch.float64
    ref = ot.sinkhorn(np.full(5, 0.2), ot.unif(4), M.numpy(), 0.1, stopThr=1e-12, numItermax=10000)
    np.testing.assert_allclose(res.plan.numpy(), ref, atol=1e-10)


def test_batched_equals_looped():
    a, b, M = problem(8, 6, seed=4, batch=3)
    res = sinkhorn_log(a, b, M, epsilon=0.05)
    for i in range(3):
        one = sinkhorn_log(a[i], b[i], M[i], epsilon=0.05)
        torch.testing.assert_close(res.plan[i], one.plan, atol=1e-15, rtol=0)
        assert int(res.n_iter[i]) == int(one.n_iter)


def test_value_gradient_is_the_plan():
    a, b, M = problem(5, 4, seed=5)
    M.requires_grad_()
    assert torch.autograd.gradcheck(lambda M: sinkhorn_log(a, b, M, epsilon=0.2, tol=1e-14, max_iter=10000).value,
                                    (M,), eps=1e-6, atol=1e-7)


def test_dtype_follows_and_non_convergence_warns():
    a, b, M = problem(6, 5, seed=6)
    res = sinkhorn_log(a.float(), b.float(), M.float(), epsilon=0.1)  # default tol: 1e-5 in float32
    assert res.plan.dtype == torch.float32 and res.value.dtype == torch.float32 and bool(res.converged)
    with pytest.warns(ConvergenceWarning, match="raise max_iter or epsilon"):
        sinkhorn_log(a, b, M, epsilon=0.01, max_iter=2)


def test_warm_start_from_a_result_needs_no_iteration():
    a, b, M = problem(7, 5, seed=8, batch=2)
    res = sinkhorn_log(a, b, M, epsilon=0.1)
    again = sinkhorn_log(a, b, M, epsilon=0.1, f0=res.f, g0=res.g)
    assert again.n_iter.tolist() == [0, 0]
    torch.testing.assert_close(again.plan, res.plan, atol=1e-12, rtol=0)
    one = sinkhorn_log(a[0], b[0], M[0], epsilon=0.1, f0=res.f[0], g0=res.g[0])
    assert int(one.n_iter) == 0


@pytest.mark.parametrize("args, match", [
    (dict(epsilon=0.0), "epsilon"),
    (dict(f0=torch.zeros(2, dtype=torch.float64)), r"f0 must have shape \(3,\), got \(2,\)"),
    (dict(g0=torch.zeros(1, 3, dtype=torch.float64)), r"g0 must have shape \(2,\)"),
    (dict(g0=torch.full((2,), float("nan"), dtype=torch.float64)), "g0 contains"),
    (dict(M=torch.ones(3)), "M must be a matrix"),
    (dict(a=torch.tensor([0.5, 0.6, 0.1], dtype=torch.float64)), "a must sum to 1"),
    (dict(b=torch.tensor([1.0, 0.0], dtype=torch.float64)), "strictly positive"),
    (dict(M=torch.full((3, 2), float("nan"), dtype=torch.float64)), "M contains"),
    (dict(max_iter=0), "max_iter"),
])
def test_bad_inputs_raise_value_error(args, match):
    kwargs = dict(a=None, b=None, M=torch.rand(3, 2, dtype=torch.float64), epsilon=0.1) | args
    with pytest.raises(ValueError, match=match):
        sinkhorn_log(**kwargs)
