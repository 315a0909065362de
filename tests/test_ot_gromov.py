"""Tests for gwrep/ot/gromov.py: entropic GW between cost matrices, checked against POT.

The tests named ``test_pot_*`` re-express POT's own entropic GW tests (PythonOT/POT,
test/gromov/test_bregman.py, POT 0.9.x) against gwrep, with POT itself as the reference: POT
compares its numpy and torch backends there; here gwrep is compared with POT's numpy run on the
same inputs. Gradients: tests/test_ot_gw_solver.py.
"""
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
    (lambda a: dict(a, objective="plan"), "objective"),
    (lambda a: dict(a, objective="entropic_optimum", solver="PPA"), "needs solver='PGD'"),
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
        entropic_gromov_wasserstein2(**args)


# --------------------------------------------------------------- POT's own tests, re-expressed


def pot_reversed_clouds(n=10):
    """The problem of POT's test_entropic_gromov: a 2-d Gaussian sample and the same points reversed."""
    xs = ot.datasets.make_2D_samples_gauss(n, np.array([0, 0]), np.eye(2), random_state=42)
    xt = xs[::-1].copy()
    C1, C2 = ot.dist(xs, xs), ot.dist(xt, xt)
    return C1 / C1.max(), C2 / C2.max(), ot.unif(n), ot.unif(n)


def quiet(fn, *args, **kwargs):
    """Run a solve whose 10 outer iterations are too few to converge (as in POT's tests): gwrep warns."""
    with pytest.warns(ConvergenceWarning):
        return fn(*args, **kwargs)


@pytest.mark.filterwarnings("ignore::UserWarning:ot")
@pytest.mark.parametrize("loss_fun, atol", [("square_loss", 1e-6), ("kl_loss", 1e-5)])
def test_pot_entropic_gromov(loss_fun, atol):
    """POT's test_entropic_gromov (and test_entropic_gromov2, its value twin): numpy in gives numpy out
    (issue 24, case 4; gwrep returned torch tensors), the plan equals POT's, marginals hold to 1e-4.

    Ten outer iterations with inner solves that stop at their limit: the plans follow the inner
    iteration's path, so ``warmstart=False`` (POT's default) is passed, and kl_loss agrees to 1e-5
    (gwrep's inner update is over-relaxed: another path to the same limit)."""
    C1, C2, p, q = pot_reversed_clouds()
    G = ot.gromov.entropic_gromov_wasserstein(C1, C2, None, q, loss_fun, symmetric=None, G0=p[:, None] * q[None, :],
                                              epsilon=1e-2, max_iter=10)
    T, log = quiet(entropic_gromov_wasserstein, C1, C2, None, q, loss_fun, symmetric=None, G0=p[:, None] * q[None, :],
                   epsilon=1e-2, max_iter=10, warmstart=False, log=True)
    assert isinstance(T, np.ndarray) and T.dtype == np.float64
    assert isinstance(log["gw_dist"], np.ndarray) and not bool(log["ok"])  # not converged, and it says so
    np.testing.assert_allclose(T, G, atol=atol)
    np.testing.assert_allclose(T.sum(1), p, atol=1e-4)
    np.testing.assert_allclose(T.sum(0), q, atol=1e-4)
    gw = ot.gromov.entropic_gromov_wasserstein2(C1, C2, p, None, loss_fun, symmetric=True, max_iter=10, epsilon=1e-2)
    value = quiet(entropic_gromov_wasserstein2, C1, C2, p, None, loss_fun, symmetric=True, max_iter=10, epsilon=1e-2,
                  warmstart=False)
    assert isinstance(value, np.ndarray) and value.shape == ()
    np.testing.assert_allclose(value, gw, atol=1e-6)
    np.testing.assert_allclose(value, 0, atol=1e-1)


@pytest.mark.filterwarnings("ignore::UserWarning:ot")
def test_pot_entropic_proximal_gromov():
    """POT's test_entropic_proximal_gromov: PPA with one Sinkhorn iteration per step (numItermax=1, as Xu
    et al. suggest). The plan equals POT's to 1e-12 (issue 24, case 5: gwrep started each Sinkhorn from
    row-shifted potentials, POT from constant scalings, and one step then differed by 9e-3)."""
    C1, C2, p, q = pot_reversed_clouds()
    G = ot.gromov.entropic_gromov_wasserstein(C1, C2, None, q, "square_loss", symmetric=None, epsilon=1e-1,
                                              max_iter=10, solver="PPA", numItermax=1)
    T = quiet(entropic_gromov_wasserstein, C1, C2, None, q, "square_loss", symmetric=None, epsilon=1e-1, max_iter=10,
              solver="PPA", numItermax=1, warmstart=False)
    np.testing.assert_allclose(T, G, atol=1e-12)
    np.testing.assert_allclose(T.sum(1), p, atol=1e-4)
    np.testing.assert_allclose(T.sum(0), q, atol=1e-2)
    gw = ot.gromov.entropic_gromov_wasserstein2(C1, C2, p, q, "kl_loss", max_iter=10, epsilon=1e-1, solver="PPA")
    value = quiet(entropic_gromov_wasserstein2, C1, C2, p, q, "kl_loss", max_iter=10, epsilon=1e-1, solver="PPA",
                  warmstart=False)
    np.testing.assert_allclose(value, gw, atol=1e-6)
    np.testing.assert_allclose(value, 0, atol=1e-1)


@pytest.mark.parametrize("max_iter, inner", [(1, 1), (1, 1000), (3, 1)])
def test_first_sinkhorn_step_is_pots(max_iter, inner):
    """Issue 24, case 5: one outer step with one inner step gives POT's plan (9e-3 apart before); so do
    a converged first step and three steps of one inner iteration from POT's cold starts."""
    C1, C2, _, _ = random_problem(10, 8, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G = ot.gromov.entropic_gromov_wasserstein(C1, C2, epsilon=0.05, max_iter=max_iter, numItermax=inner)
        T = entropic_gromov_wasserstein(C1, C2, epsilon=0.05, max_iter=max_iter, numItermax=inner, warmstart=False)
    np.testing.assert_allclose(T, G, atol=1e-10)


@pytest.mark.filterwarnings("ignore::UserWarning:ot")
def test_pot_asymmetric_entropic_gromov():
    """POT's test_asymmetric_entropic_gromov: uniform [0, 10] costs, permuted. With ``symmetric=None``
    the asymmetry is detected and the asymmetric problem solved (issue 24, case 3: gwrep raised
    ValueError); the plans equal POT's, and the kl_loss value of the permuted copy is ~0."""
    rng = np.random.RandomState(0)
    C1 = rng.uniform(low=0.0, high=10, size=(10, 10))
    idx = np.arange(10)
    rng.shuffle(idx)
    C2 = C1[idx, :][:, idx]
    p = q = ot.unif(10)
    G = ot.gromov.entropic_gromov_wasserstein(C1, C2, p, q, "square_loss", symmetric=None, epsilon=1e-1, max_iter=5)
    T = quiet(entropic_gromov_wasserstein, C1, C2, p, q, "square_loss", symmetric=None, epsilon=1e-1, max_iter=5)
    T_asym = quiet(entropic_gromov_wasserstein, C1, C2, p, q, "square_loss", symmetric=False, epsilon=1e-1, max_iter=5)
    np.testing.assert_array_equal(T, T_asym)
    np.testing.assert_allclose(T, G, atol=1e-6)
    np.testing.assert_allclose(T.sum(1), p, atol=1e-4)
    np.testing.assert_allclose(T.sum(0), q, atol=1e-4)
    gw = ot.gromov.entropic_gromov_wasserstein2(C1, C2, None, None, "kl_loss", symmetric=False, max_iter=5,
                                                epsilon=1e-1)
    value = entropic_gromov_wasserstein2(C1, C2, None, None, "kl_loss", symmetric=None, max_iter=5, epsilon=1e-1)
    np.testing.assert_allclose(value, gw, atol=1e-6)
    np.testing.assert_allclose(value, 0, atol=1e-1)


@pytest.mark.parametrize("solver", ["PGD", "PPA"])
@pytest.mark.parametrize("kind", ["numpy64", "torch64", "torch32"])
def test_pot_entropic_gromov_dtype_device(solver, kind):
    """POT's test_entropic_gromov_dtype_device: plan and value keep the inputs' type (numpy stays numpy,
    issue 24 case 4), dtype and device, for both solvers, after two outer iterations."""
    xs = ot.datasets.make_2D_samples_gauss(5, np.array([0, 0]), np.eye(2), random_state=42)
    C1 = ot.dist(xs, xs)
    C1 /= C1.max()
    C2 = C1[::-1, ::-1].copy()
    p = q = ot.unif(5)
    if kind != "numpy64":
        dtype = torch.float64 if kind == "torch64" else torch.float32
        C1, C2, p, q = (torch.tensor(a, dtype=dtype) for a in (C1, C2, p, q))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        T = entropic_gromov_wasserstein(C1, C2, p, q, max_iter=2, solver=solver)
        value = entropic_gromov_wasserstein2(C1, C2, p, q, max_iter=2, solver=solver)
    for out in (T, value):
        assert type(out) is type(C1) and out.dtype == C1.dtype
        if isinstance(out, torch.Tensor):
            assert out.device == C1.device


def test_asymmetric_costs_are_detected_in_every_precision():
    """symmetric=None solves an asymmetric problem as asymmetric (POT's test: allclose, atol 1e-10); float32
    costs asymmetric by round-off stay symmetric (docs/design.md, "Entropic GW symmetry test")."""
    C1, C2, _, _ = as_torch(*random_problem(7, 6, seed=12))
    bump = torch.zeros_like(C1)
    bump[0, 1] = 0.3
    for dtype in (torch.float64, torch.float32):
        A1, A2 = (C1 + bump).to(dtype), C2.to(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            T = entropic_gromov_wasserstein(A1, A2, epsilon=0.05)
            T_asym = entropic_gromov_wasserstein(A1, A2, epsilon=0.05, symmetric=False)
            T_sym = entropic_gromov_wasserstein(A1, A2, epsilon=0.05, symmetric=True)
        torch.testing.assert_close(T, T_asym, atol=0, rtol=0)
        assert float((T - T_sym).abs().max()) > 1e-3  # the symmetric solver gives another plan
