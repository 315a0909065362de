"""Tests for gwrep/ot/gwae.py: GWAE's L_GW estimator and the coupling-based GW loss."""
import math
import warnings

import numpy as np
import ot
import pytest
import torch

from gwrep.ot import coupled_gw_loss, gwae_gw_loss


def authors_l_gw(x2s, zs, log_coef):
    """The authors' computation (models/gwae.py of the GWAE code), transcribed."""
    n = x2s.shape[0]
    scale_z = torch.clamp(zs.std(dim=0).mean(), min=1e-8)
    dx = (x2s[:, None, ...] - x2s[None, :, ...]).view(n, n, -1).norm(p=2, dim=2)
    dz = ((zs[:, None, :] - zs[None, :, :]) * (log_coef.exp() / scale_z)).norm(p=2, dim=2)
    return (dz - dx).abs().mean()


def test_l_gw_equals_the_authors_formula():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(9, 1, 6, 6, generator=g, dtype=torch.float64)
    z = torch.randn(9, 4, generator=g, dtype=torch.float64)
    log_beta = torch.tensor(math.log(2.5), dtype=torch.float64)
    assert float(gwae_gw_loss(x, z, log_beta)) == pytest.approx(float(authors_l_gw(x, z, log_beta)), rel=1e-12)


def test_l_gw_is_zero_for_a_scaled_isometry_and_has_gradients():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(10, 3, generator=g, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(5, 5, generator=g, dtype=torch.float64))
    beta = 1.7
    x = torch.cat([z, torch.zeros(10, 2, dtype=torch.float64)], 1) @ Q * (beta / float(z.std(0).mean()))
    assert float(gwae_gw_loss(x, z, math.log(beta))) < 1e-12
    log_beta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    x.requires_grad_()
    z.requires_grad_()
    assert torch.autograd.gradcheck(gwae_gw_loss, (x, z, log_beta))


@pytest.mark.parametrize("args, match", [
    ((torch.rand(4, 3), torch.rand(5, 2), 0.0), "mismatched batch"),
    ((torch.rand(1, 3), torch.rand(1, 2), 0.0), "at least 2"),
    ((torch.rand(4, 3), torch.rand(4, 2, 1), 0.0), "z must have shape"),
    ((torch.full((4, 3), float("nan")), torch.rand(4, 2), 0.0), "x_decoded contains"),
    ((torch.rand(4, 3), torch.rand(4, 2), torch.zeros(2)), "log_beta"),
])
def test_l_gw_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        gwae_gw_loss(*args)


def pot_reference(x, z, log_beta, epsilon):
    """GW between C^X / c and C^Z / c at POT's entropic plan, regularised by epsilon times both mean costs.

    POT's (non-log) Sinkhorn underflows on large costs, so its plan is computed on C^Z / (c m_Z) with
    epsilon m_X: the same plan (the objective's T-dependent part is linear in the scale of C^Z)."""
    X = x.flatten(1).numpy()
    Z = (z * (math.exp(log_beta) / z.std(0).mean())).numpy()
    C1, C2 = ot.dist(X, X), ot.dist(Z, Z)
    C1, C2 = C1 / C1.mean(), C2 / C1.mean()
    p, q = ot.unif(len(X)), ot.unif(len(Z))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reference must converge too
        T = ot.gromov.entropic_gromov_wasserstein(C1, C2 / C2.mean(), p, q, epsilon=epsilon * C1.mean())
    return (C1 ** 2 @ p) @ p + (C2 ** 2 @ q) @ q - 2 * np.sum((C1 @ T @ C2) * T)


def test_coupled_loss_equals_pot_on_the_normalised_costs():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(12, 1, 4, 4, generator=g, dtype=torch.float64)
    z = torch.randn(10, 3, generator=g, dtype=torch.float64)
    log_beta = 0.4
    value = coupled_gw_loss(x, z, epsilon=0.5, log_beta=log_beta)
    assert float(value) == pytest.approx(pot_reference(x, z, log_beta, 0.5), rel=1e-6)


@pytest.mark.parametrize("log_beta", [0.0, math.log(2.5)])
def test_coupled_loss_defaults_converge_on_low_dimensional_data(log_beta):
    """Pixel-like data in R^3 (mean cost 0.5) against unit-std codes in R^2 (mean cost ~4 beta^2): with
    epsilon relative to the data costs alone, the inner Sinkhorn hit its limit hundreds of times."""
    g = torch.Generator().manual_seed(5)
    x, z = torch.rand(20, 3, generator=g, dtype=torch.float64), torch.randn(20, 2, generator=g, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = coupled_gw_loss(x, z, log_beta=log_beta)
    assert float(value) == pytest.approx(pot_reference(x, z, log_beta, 0.5), rel=1e-6)


def test_coupled_loss_plan_does_not_depend_on_the_latent_scale():
    """epsilon scales with the latent costs, so scaling beta by k scales C^Z by k^2 and leaves the plan:
    the loss is then sum (C^X - k^2 C^Z)^2 T T at one T, a quadratic in k^2 fixed by three values."""
    g = torch.Generator().manual_seed(6)
    x, z = torch.rand(12, 3, generator=g, dtype=torch.float64), torch.randn(12, 2, generator=g, dtype=torch.float64)
    values = [float(coupled_gw_loss(x, z, log_beta=math.log(k))) for k in (1.0, 2.0, 3.0, 4.0)]
    squares = torch.tensor([1.0, 4.0, 9.0, 16.0], dtype=torch.float64)
    design = torch.stack([torch.ones(4, dtype=torch.float64), squares, squares ** 2], 1)
    coef = torch.linalg.lstsq(design[:3], torch.tensor(values[:3], dtype=torch.float64)[:, None]).solution
    assert float(design[3] @ coef) == pytest.approx(values[3], rel=1e-7)


def test_dtype_mismatch_is_an_error_not_a_cast():
    x, z = torch.rand(6, 3, dtype=torch.float64), torch.rand(6, 2, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"x \(torch.float64, cpu\) and z \(torch.float32, cpu\) differ in dtype"):
        coupled_gw_loss(x, z)
    with pytest.raises(ValueError, match="x_decoded .* and z .* differ in dtype"):
        gwae_gw_loss(x, z, 0.0)


def test_coupled_loss_is_differentiable_and_prefers_isometries():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(16, 2, generator=g, dtype=torch.float64)
    x_iso = torch.cat([z, torch.zeros(16, 3, dtype=torch.float64)], 1).requires_grad_()
    x_far = torch.randn(16, 5, generator=g, dtype=torch.float64)
    log_beta = z.std(0).mean().log().requires_grad_()
    zr = z.clone().requires_grad_()
    iso = coupled_gw_loss(x_iso, zr, log_beta=log_beta)
    assert float(iso.detach()) < 0.5 * float(coupled_gw_loss(x_far, z, log_beta=float(log_beta.detach())))
    iso.backward()
    for grad in (x_iso.grad, zr.grad, log_beta.grad):
        assert grad is not None and torch.isfinite(grad).all()


def test_coupled_loss_in_float32_converges_quietly():
    g = torch.Generator().manual_seed(4)
    x, z = torch.rand(32, 3, 8, 8, generator=g), torch.randn(32, 6, generator=g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = coupled_gw_loss(x, z)
    assert value.dtype == torch.float32 and math.isfinite(float(value))


def test_coupled_loss_bad_inputs():
    with pytest.raises(ValueError, match="x must be a batch"):
        coupled_gw_loss(torch.rand(1, 3), torch.rand(4, 2))
    with pytest.raises(ValueError, match="epsilon"):
        coupled_gw_loss(torch.rand(4, 3), torch.rand(4, 2), epsilon=-1)
    with pytest.raises(ValueError, match="identical"):
        coupled_gw_loss(torch.ones(4, 3), torch.rand(4, 2))


@pytest.mark.parametrize("objective", ["gw", "entropic_optimum"])
def test_coupled_loss_gradient_is_the_derivative_of_its_value(objective):
    """float64 gradcheck w.r.t. x, z and log_beta in both modes: the normalising mean cost c and the
    scaled epsilon stay in the graph, so the gradient is the returned value's (issue 24: the value was
    the GW loss of the plan, the gradient the entropic optimum's with c and epsilon detached)."""
    g = torch.Generator().manual_seed(7)
    x = torch.rand(6, 3, generator=g, dtype=torch.float64).requires_grad_()
    z = torch.randn(5, 2, generator=g, dtype=torch.float64).requires_grad_()
    log_beta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)

    def loss(x, z, log_beta):
        return coupled_gw_loss(x, z, epsilon=0.3, log_beta=log_beta, tol=1e-13, inner_tol=1e-14, max_iter=20000,
                               objective=objective)

    assert torch.autograd.gradcheck(loss, (x, z, log_beta), eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=True)


def test_coupled_entropic_optimum_adds_the_entropy_at_the_same_plan():
    """objective="entropic_optimum" is the "gw" value plus eps KL(T | p q^T) at the same plan, eps the
    scaled epsilon (epsilon times the mean normalised latent cost)."""
    from gwrep.ot import gromov_wasserstein_points

    g = torch.Generator().manual_seed(8)
    x, z = torch.rand(10, 4, generator=g, dtype=torch.float64), torch.randn(9, 2, generator=g, dtype=torch.float64)
    gw = coupled_gw_loss(x, z, epsilon=0.4)
    optimum = coupled_gw_loss(x, z, epsilon=0.4, objective="entropic_optimum")
    c = 2 * ((x - x.mean(0)) ** 2).sum(1).mean()
    zs = z / z.std(0).mean() / c.sqrt()
    eps = 0.4 * 2 * ((zs - zs.mean(0)) ** 2).sum(1).mean()
    T = gromov_wasserstein_points(x / c.sqrt(), zs, epsilon=float(eps)).plan
    kl = float((T * (T * 90).log()).sum())
    assert float(optimum) == pytest.approx(float(gw) + float(eps) * kl, rel=1e-9)
