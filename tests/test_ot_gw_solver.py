"""Tests for gwrep/ot/gw_solver.py: the projected-gradient loop's iteration semantics."""
import numpy as np
import ot
import torch

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
