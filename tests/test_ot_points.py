"""Tests for gwrep/ot/points.py: the factored fast path for point clouds."""
import math
import warnings

import numpy as np
import pytest
import torch

from gwrep.ot import ConvergenceWarning, entropic_gromov_wasserstein2, gromov_wasserstein_points
from gwrep.ot.points import PointsGWCost, SquaredEuclideanCost


def clouds(n, m, d, k, seed, batch=None, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    shape = () if batch is None else (batch,)
    X = torch.randn(*shape, n, d, generator=g, dtype=dtype) + 3.0  # off-centre: the factors must centre
    Y = torch.randn(*shape, m, k, generator=g, dtype=dtype)
    return X / math.sqrt(2 * d), Y / math.sqrt(2 * k)


def test_factored_costs_equal_dense_ones():
    X, Y = clouds(9, 7, 3, 2, seed=0)
    p = torch.rand(1, 9, dtype=torch.float64)
    p = p / p.sum()
    cost = SquaredEuclideanCost(X[None])
    C = torch.cdist(X, X) ** 2
    torch.testing.assert_close(cost.U @ cost.V.transpose(1, 2), C[None], atol=1e-12, rtol=0)
    torch.testing.assert_close(cost.squared_row_sums(p)[0], (C ** 2) @ p[0], atol=1e-12, rtol=0)
    T = torch.rand(1, 9, 7, dtype=torch.float64)
    both = PointsGWCost(X[None], Y[None], p, torch.full((1, 7), 1 / 7, dtype=torch.float64))
    C2 = torch.cdist(Y, Y) ** 2
    torch.testing.assert_close(both.cross(T)[0], C @ T[0] @ C2, atol=1e-12, rtol=0)
    G = both.gradient(T).dense(0.1)[0]
    expected = 2 * ((C ** 2) @ p[0])[:, None] + 2 * ((C2 ** 2).mean(1))[None, :] - 4 * C @ T[0] @ C2
    torch.testing.assert_close(G, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("n, m, d, k", [(10, 8, 3, 2), (14, 12, 10, 3), (6, 9, 12, 2)])
def test_fast_path_equals_dense_path(n, m, d, k):
    X, Y = clouds(n, m, d, k, seed=n)
    p = torch.rand(n, dtype=torch.float64) + 0.5
    p = p / p.sum()
    fast = gromov_wasserstein_points(X, Y, p=p, epsilon=0.05)
    dense, log = entropic_gromov_wasserstein2(torch.cdist(X, X) ** 2, torch.cdist(Y, Y) ** 2, p=p, epsilon=0.05,
                                              log=True)
    assert float(fast.value) == pytest.approx(float(dense), rel=1e-9)
    torch.testing.assert_close(fast.plan, log["T"], atol=1e-10, rtol=0)
    assert bool(fast.converged) and int(fast.n_iter) == int(log["n_iter"])


def test_batched_equals_looped():
    X, Y = clouds(10, 8, 4, 2, seed=3, batch=3)
    batch = gromov_wasserstein_points(X, Y, epsilon=0.1)
    assert batch.plan.shape == (3, 10, 8) and batch.value.shape == (3,)
    for b in range(3):
        one = gromov_wasserstein_points(X[b], Y[b], epsilon=0.1)
        assert float(batch.value[b]) == pytest.approx(float(one.value), rel=1e-10)
        torch.testing.assert_close(batch.plan[b], one.plan, atol=1e-12, rtol=0)


@pytest.mark.parametrize("objective", ["gw", "entropic_optimum"])
def test_gradcheck_points_weights_and_epsilon(objective):
    """float64 gradcheck (random projection) of the value w.r.t. X, Y, p, q and a tensor epsilon, in both
    modes: the gradient is the derivative of the value returned (issue 24)."""
    X, Y = clouds(5, 4, 2, 3, seed=4)
    g = torch.Generator().manual_seed(0)
    p, q = torch.rand(5, generator=g, dtype=torch.float64) + 0.5, torch.rand(4, generator=g, dtype=torch.float64) + 0.5
    inputs = [t.requires_grad_() for t in (X, Y, p / p.sum(), q / q.sum(), torch.tensor(0.05, dtype=torch.float64))]

    def value(X, Y, p, q, eps):
        return gromov_wasserstein_points(X, Y, p, q, epsilon=eps, tol=1e-13, inner_tol=1e-14, max_iter=20000,
                                         objective=objective).value

    assert torch.autograd.gradcheck(value, inputs, eps=1e-7, atol=1e-5, rtol=1e-4, fast_mode=True)


def test_numpy_in_numpy_out():
    """numpy points give a result of numpy arrays (issue 24, case 4), equal to the torch result."""
    X, Y = clouds(8, 6, 3, 2, seed=8)
    res = gromov_wasserstein_points(X.numpy(), Y.numpy(), epsilon=0.05)
    ref = gromov_wasserstein_points(X, Y, epsilon=0.05)
    assert isinstance(res.plan, np.ndarray) and isinstance(res.value, np.ndarray) and isinstance(res.ok, np.bool_)
    np.testing.assert_array_equal(res.plan, ref.plan.numpy())
    assert float(res.value) == float(ref.value)


def test_permuted_rotated_copy_recovers_the_permutation():
    X, _ = clouds(10, 10, 3, 3, seed=5)
    X = X / torch.cdist(X, X).max()  # unit diameter, so epsilon is relative to costs <= 1
    g = torch.Generator().manual_seed(1)
    Q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    perm = torch.randperm(10, generator=g)
    Y = X[perm] @ Q.T + 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = gromov_wasserstein_points(X, Y, epsilon=0.05)
    assert torch.equal(perm[res.plan.argmax(1)], torch.arange(10))
    entropy = float(-(res.plan * res.plan.log()).sum())
    assert float(res.value) <= 0.05 * (entropy - math.log(10)) + 1e-9  # GW 0 up to the entropic term


def test_dtype_and_device_follow_inputs():
    X, Y = clouds(8, 6, 3, 2, seed=6, dtype=torch.float32)
    res = gromov_wasserstein_points(X, Y, epsilon=0.05)
    assert res.plan.dtype == torch.float32 and res.value.dtype == torch.float32 and res.plan.device == X.device
    assert bool(res.converged)  # the float32 default tolerance is reachable
    ref = gromov_wasserstein_points(X.double(), Y.double(), epsilon=0.05)
    assert float(res.value) == pytest.approx(float(ref.value), rel=1e-4)


def test_non_convergence_warns():
    X, Y = clouds(8, 6, 3, 2, seed=6)
    with pytest.warns(ConvergenceWarning, match="raise max_iter or epsilon"):
        gromov_wasserstein_points(X, Y, epsilon=0.01, max_iter=1)


@pytest.mark.parametrize("change, match", [
    (lambda a: dict(a, X=a["X"][0]), "X must be points"),
    (lambda a: dict(a, Y=a["Y"].expand(2, 6, 2)), "mismatched batch"),
    (lambda a: dict(a, Y=a["Y"].float()), "dtype"),
    (lambda a: dict(a, p=torch.full((8,), 0.2, dtype=torch.float64)), "p must sum to 1"),
    (lambda a: dict(a, epsilon=0), "epsilon"),
    (lambda a: dict(a, X=a["X"].clone().fill_(float("inf"))), "X contains"),
    (lambda a: dict(a, solver="sinkhorn"), "solver"),
    (lambda a: dict(a, G0=torch.ones(8, 5, dtype=torch.float64)), "G0 must have shape"),
])
def test_bad_inputs_raise_value_error(change, match):
    X, Y = clouds(8, 6, 3, 2, seed=7)
    with pytest.raises(ValueError, match=match):
        gromov_wasserstein_points(**change({"X": X, "Y": Y, "epsilon": 0.1}))
