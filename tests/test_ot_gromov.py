"""Tests for gwrep/ot/gromov.py: entropic GW between cost matrices, checked against POT."""
import warnings

import numpy as np
import ot
import pytest
import torch

from gwrep.ot import ConvergenceWarning, entropic_gromov_wasserstein, entropic_gromov_wasserstein2


def random_problem(n, m, seed, uniform=True, dims=(3, 2)):
    """Normalised squared-distance matrices of random clouds, with (non-)uniform weights."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, dims[0])), rng.standard_normal((m, dims[1]))
    C1, C2 = ot.dist(X, X), ot.dist(Y, Y)
    C1, C2 = C1 / C1.max(), C2 / C2.max()
    if uniform:
        p, q = ot.unif(n), ot.unif(m)
    else:
        p, q = rng.random(n) + 0.5, rng.random(m) + 0.5
        p, q = p / p.sum(), q / q.sum()
    return C1, C2, p, q


def as_torch(*arrays):
    return [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]


@pytest.mark.parametrize("n, m", [(6, 5), (12, 9), (16, 13)])
@pytest.mark.parametrize("loss_fun, eps", [("square_loss", 0.02), ("kl_loss", 0.5)])
@pytest.mark.parametrize("uniform", [True, False])
def test_values_equal_pot(n, m, loss_fun, eps, uniform):
    C1, C2, p, q = random_problem(n, m, seed=n + m, uniform=uniform)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # both solvers must converge for the comparison to mean anything
        T_ref, log_ref = ot.gromov.entropic_gromov_wasserstein(C1, C2, p, q, loss_fun, epsilon=eps, log=True)
        T, log = entropic_gromov_wasserstein(*as_torch(C1, C2, p, q), loss_fun, epsilon=eps, log=True)
    assert float(log["gw_dist"]) == pytest.approx(float(log_ref["gw_dist"]), rel=1e-6)
    np.testing.assert_allclose(T.numpy(), T_ref, atol=1e-8)
    # the plan's marginals hold to the inner tolerance
    assert float(torch.linalg.vector_norm(T.sum(0) - torch.from_numpy(q))) <= 1e-9
    assert float(torch.linalg.vector_norm(T.sum(1) - torch.from_numpy(p))) <= 1e-9


def test_value_twin_matches_log_and_pot():
    C1, C2, p, q = random_problem(10, 8, seed=1)
    value = entropic_gromov_wasserstein2(*as_torch(C1, C2, p, q), epsilon=0.02)
    reference = ot.gromov.entropic_gromov_wasserstein2(C1, C2, p, q, epsilon=0.02)
    assert value.shape == () and float(value) == pytest.approx(reference, rel=1e-6)


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")  # POT's PPA takes log(0)
def test_asymmetric_costs_and_ppa_match_pot():
    rng = np.random.default_rng(3)
    C1, C2 = rng.random((7, 7)), rng.random((6, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T_ref = ot.gromov.entropic_gromov_wasserstein(C1, C2, epsilon=0.1, symmetric=False)
        T = entropic_gromov_wasserstein(*as_torch(C1, C2), epsilon=0.1, symmetric=False)
    np.testing.assert_allclose(T.numpy(), T_ref, atol=1e-8)
    C1, C2, _, _ = random_problem(8, 7, seed=4)
    T_ref = ot.gromov.entropic_gromov_wasserstein(C1, C2, epsilon=0.05, solver="PPA")
    T = entropic_gromov_wasserstein(*as_torch(C1, C2), epsilon=0.05, solver="PPA")
    np.testing.assert_allclose(T.numpy(), T_ref, atol=1e-7)


@pytest.mark.parametrize("p", [[0.2] * 5, np.full(5, 0.2) * (1 + 5e-7)], ids=["list", "sum-1+5e-7"])
def test_marginals_off_by_round_off_converge_to_pots_value(p):
    """Marginals whose sum is off by round-off are renormalised: no inner solve hits its limit."""
    C1, C2, _, _ = random_problem(5, 4, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, log = entropic_gromov_wasserstein2(*as_torch(C1, C2), p, [0.25] * 4, epsilon=0.02, log=True)
    assert bool(log["converged"]) and value.dtype == torch.float64
    reference = ot.gromov.entropic_gromov_wasserstein2(C1, C2, ot.unif(5), ot.unif(4), epsilon=0.02)
    assert float(value) == pytest.approx(reference, rel=1e-8)


def test_pot_inner_keywords_and_cold_start_reach_the_same_plan():
    C1, C2, _, _ = [torch.from_numpy(a) for a in random_problem(9, 7, seed=5)]
    T = entropic_gromov_wasserstein(C1, C2, epsilon=0.03)
    T_cold = entropic_gromov_wasserstein(C1, C2, epsilon=0.03, warmstart=False, numItermax=2000, stopThr=1e-10)
    torch.testing.assert_close(T, T_cold, atol=1e-8, rtol=0)


def test_batched_equals_looped():
    problems = [random_problem(8, 6, seed=s) for s in range(3)]
    C1 = torch.stack([torch.from_numpy(c1) for c1, _, _, _ in problems])
    C2 = torch.stack([torch.from_numpy(c2) for _, c2, _, _ in problems])
    values, log = entropic_gromov_wasserstein2(C1, C2, epsilon=0.03, log=True)
    assert values.shape == (3,) and log["T"].shape == (3, 8, 6)
    for b in range(3):
        value_b, log_b = entropic_gromov_wasserstein2(C1[b], C2[b], epsilon=0.03, log=True)
        assert float(values[b]) == pytest.approx(float(value_b), rel=1e-10)
        torch.testing.assert_close(log["T"][b], log_b["T"], atol=1e-12, rtol=0)
        assert int(log["n_iter"][b]) == int(log_b["n_iter"])


def entropy_term(T, eps):
    return eps * (T * torch.log(T)).sum()


def test_gradient_is_the_envelope_gradient():
    """d/dC of the entropic optimum L(T*) + eps sum T* log T* equals dL/dC at T* (float64 gradcheck)."""
    C1, C2, _, _ = random_problem(4, 3, seed=7)
    A1, A2 = torch.from_numpy(C1 / 2).requires_grad_(), torch.from_numpy(C2 / 2).requires_grad_()
    eps = 0.05

    def optimum(A1, A2):
        value, log = entropic_gromov_wasserstein2(A1 + A1.T, A2 + A2.T, epsilon=eps, tol=1e-13, inner_tol=1e-14,
                                                  max_iter=5000, log=True)
        return value + entropy_term(log["T"], eps)  # the plan is detached: its term has no gradient

    assert torch.autograd.gradcheck(optimum, (A1, A2), eps=1e-6, atol=1e-6, rtol=1e-4)


def test_isometric_copy_gives_zero_and_the_permutation():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2))
    C1 = ot.dist(X, X)
    C1 /= C1.max()
    perm = rng.permutation(8)
    C2 = C1[perm][:, perm]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, log = entropic_gromov_wasserstein2(*as_torch(C1, C2), epsilon=0.05, log=True)
        other = entropic_gromov_wasserstein2(*as_torch(C1, random_problem(8, 8, seed=9)[1]), epsilon=0.05)
    T = log["T"]
    np.testing.assert_array_equal(perm[T.argmax(1).numpy()], np.arange(8))
    # zero up to the entropic term: comparing with the permutation plan P/n (GW 0, entropy log n),
    # optimality gives L(T) - eps H(T) <= -eps log n
    assert float(value) <= 0.05 * (float(-(T * T.log()).sum()) - np.log(8)) + 1e-9
    assert float(value) < 0.5 * float(other)


def test_dtype_and_device_follow_inputs():
    C1, C2, _, _ = random_problem(6, 5, seed=2)
    C1, C2 = torch.tensor(C1, dtype=torch.float32), torch.tensor(C2, dtype=torch.float32)
    T, log = entropic_gromov_wasserstein(C1, C2, epsilon=0.05, tol=1e-6, inner_tol=1e-6, log=True)
    assert T.dtype == torch.float32 and T.device == C1.device and log["gw_dist"].dtype == torch.float32
    T64 = entropic_gromov_wasserstein(C1.double(), C2.double(), epsilon=0.05)
    torch.testing.assert_close(T.double(), T64, atol=1e-5, rtol=0)


def test_float32_defaults_converge_and_equal_the_fast_path():
    """The dense path's default tolerances follow the dtype (1e-5 in float32) as the fast path's do;
    with a fixed 1e-9 a float32 20x15 solve ran all 1000 outer iterations."""
    from gwrep.ot import gromov_wasserstein_points

    rng = np.random.default_rng(11)
    X, Y = torch.tensor(rng.standard_normal((20, 3)) / 3, dtype=torch.float32), \
        torch.tensor(rng.standard_normal((15, 2)) / 2, dtype=torch.float32)
    C1, C2 = torch.cdist(X, X) ** 2, torch.cdist(Y, Y) ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, log = entropic_gromov_wasserstein2(C1, C2, epsilon=0.05, log=True)
        fast = gromov_wasserstein_points(X, Y, epsilon=0.05)
    assert bool(log["converged"]) and int(log["n_iter"]) < 1000 and value.dtype == torch.float32
    assert float(value) == pytest.approx(float(fast.value), rel=1e-4)
    torch.testing.assert_close(log["T"], fast.plan, atol=1e-5, rtol=0)


def test_non_convergence_warns_naming_the_fix():
    C1, C2, _, _ = as_torch(*random_problem(6, 5, seed=2))
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        entropic_gromov_wasserstein(C1, C2, epsilon=0.02, max_iter=2)
    with pytest.warns(ConvergenceWarning) as record:
        entropic_gromov_wasserstein(C1, C2, epsilon=0.02, max_iter=3, inner_max_iter=1)
    assert any("raise inner_max_iter (POT: numItermax)" in str(w.message) for w in record)


@pytest.mark.parametrize("change, match", [
    (lambda a: dict(a, C1=a["C1"][:, :-1]), "square"),
    (lambda a: dict(a, C1=a["C1"] + torch.triu(torch.ones_like(a["C1"]), 1)), "C1 is not symmetric"),
    (lambda a: dict(a, p=a["p"] * 0.9), "p must sum to 1"),
    (lambda a: dict(a, q=a["q"][:-1]), "q must have shape"),
    (lambda a: dict(a, epsilon=0.0), "epsilon"),
    (lambda a: dict(a, epsilon=-1.0), "epsilon"),
    (lambda a: dict(a, C2=a["C2"].clone().fill_(float("nan"))), "C2 contains"),
    (lambda a: dict(a, C2=a["C2"].expand(2, 5, 5)), "mismatched batch"),
    (lambda a: dict(a, loss_fun="l1"), "loss_fun"),
    (lambda a: dict(a, solver="BCD"), "solver"),
    (lambda a: dict(a, loss_fun="kl_loss", C1=-a["C1"]), "non-negative"),
    (lambda a: dict(a, numIter=3), "numItermax"),
    (lambda a: dict(a, max_iter=0), "max_iter"),
])
def test_bad_inputs_raise_value_error(change, match):
    C1, C2, p, q = as_torch(*random_problem(6, 5, seed=2))
    args = change({"C1": C1, "C2": C2, "p": p, "q": q, "epsilon": 0.1})
    with pytest.raises(ValueError, match=match):
        entropic_gromov_wasserstein(**args)
