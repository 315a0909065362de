"""Tests for gwrep/ot/divergences.py: Sinkhorn divergence (geomloss) and IMQ-kernel MMD."""
import numpy as np
import pytest
import torch

from gwrep.ot import mmd_imq, sinkhorn_divergence, sinkhorn_log
from gwrep.ot.divergences import WAE_IMQ_SCALES


def clouds(seed, n=30, m=25, d=2, batch=None):
    g = torch.Generator().manual_seed(seed)
    shape = () if batch is None else (batch,)
    return (torch.randn(*shape, n, d, generator=g, dtype=torch.float64),
            torch.randn(*shape, m, d, generator=g, dtype=torch.float64) * 0.7 + 0.5)


def debiased_with_our_sinkhorn(x, y, blur):
    """S_eps from three log-domain Sinkhorn solves with cost |x - y|^2 / 2 and eps = blur^2."""
    eps = blur ** 2

    def ot_eps(u, v):
        return sinkhorn_log(None, None, torch.cdist(u, v) ** 2 / 2, epsilon=eps, tol=1e-12, max_iter=20000).value

    return ot_eps(x, y) - 0.5 * ot_eps(x, x) - 0.5 * ot_eps(y, y)


def test_sinkhorn_divergence_equals_three_sinkhorn_solves():
    x, y = clouds(0, n=12, m=10)
    value = sinkhorn_divergence(x, y, blur=1.0, scaling=0.95)
    assert float(value) == pytest.approx(float(debiased_with_our_sinkhorn(x, y, 1.0)), rel=1e-4)


def test_sinkhorn_divergence_properties():
    x, y = clouds(1, batch=3)
    values = sinkhorn_divergence(x, y, blur=0.1)
    assert values.shape == (3,) and bool((values > 0).all())
    torch.testing.assert_close(values, sinkhorn_divergence(y, x, blur=0.1), rtol=1e-6, atol=1e-9)
    assert float(sinkhorn_divergence(x[0], x[0])) == pytest.approx(0.0, abs=1e-8)
    x.requires_grad_()
    sinkhorn_divergence(x, y).sum().backward()
    assert torch.isfinite(x.grad).all() and float(x.grad.abs().sum()) > 0


def test_sinkhorn_divergence_bad_inputs():
    x, y = clouds(2)
    with pytest.raises(ValueError, match="share the batch size and dimension"):
        sinkhorn_divergence(x, y[:, :1])
    with pytest.raises(ValueError, match="blur"):
        sinkhorn_divergence(x, y, blur=0)
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        sinkhorn_divergence(x, y, p=3)


def mmd_loop(x, y, base):
    """Unbiased MMD^2 with the IMQ kernel, written out with loops (WAE code's definition)."""
    n = len(x)
    total = 0.0
    for s in WAE_IMQ_SCALES:
        c = s * base

        def k(u, v):
            return c / (c + float(((u - v) ** 2).sum()))

        within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        cross = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) * 2 / n ** 2
        total += within - cross
    return total


def test_mmd_imq_equals_the_loop_and_detects_a_shift():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(7, 3, generator=g, dtype=torch.float64), torch.randn(7, 3, generator=g, dtype=torch.float64)
    assert float(mmd_imq(x, y)) == pytest.approx(mmd_loop(x.numpy(), y.numpy(), base=2 * 3), rel=1e-12)
    assert float(mmd_imq(x, y, scale=0.5)) == pytest.approx(mmd_loop(x.numpy(), y.numpy(), base=0.5), rel=1e-12)
    x_big, y_big = torch.randn(200, 3, generator=g), torch.randn(200, 3, generator=g)
    assert abs(float(mmd_imq(x_big, y_big))) < 0.05 < float(mmd_imq(x_big, y_big + 1.5))


def test_mmd_imq_bad_inputs():
    with pytest.raises(ValueError, match="same size"):
        mmd_imq(torch.rand(5, 2), torch.rand(4, 2))
    with pytest.raises(ValueError, match="scale"):
        mmd_imq(torch.rand(5, 2), torch.rand(5, 2), scale=-1.0)
    with pytest.raises(ValueError, match="x contains"):
        mmd_imq(torch.full((5, 2), float("nan")), torch.rand(5, 2))
    assert np.isfinite(float(mmd_imq(torch.rand(5, 2), torch.rand(5, 2))))
