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


def debiased_with_our_sinkhorn(x, y, blur, a=None, b=None):
    """S_eps from three log-domain Sinkhorn solves with cost |x - y|^2 / 2 and eps = blur^2."""
    eps = blur ** 2

    def ot_eps(u, v, wu, wv):
        return sinkhorn_log(wu, wv, torch.cdist(u, v) ** 2 / 2, epsilon=eps, tol=1e-12, max_iter=20000).value

    return ot_eps(x, y, a, b) - 0.5 * ot_eps(x, x, a, a) - 0.5 * ot_eps(y, y, b, b)


def weights(n, seed):
    w = torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + 0.2
    return w / w.sum()


def test_sinkhorn_divergence_equals_three_sinkhorn_solves():
    x, y = clouds(0, n=12, m=10)
    value = sinkhorn_divergence(x, y, blur=1.0, scaling=0.95)
    assert float(value) == pytest.approx(float(debiased_with_our_sinkhorn(x, y, 1.0)), rel=1e-4)


def test_weighted_sinkhorn_divergence_equals_three_weighted_solves():
    x, y = clouds(4, n=12, m=10)
    a, b = weights(12, 0), weights(10, 1)
    value = sinkhorn_divergence(x, y, blur=1.0, scaling=0.95, a=a, b=b)
    expected = float(debiased_with_our_sinkhorn(x, y, 1.0, a, b))
    assert float(value) == pytest.approx(expected, rel=1e-4)
    assert abs(float(value) - float(sinkhorn_divergence(x, y, blur=1.0, scaling=0.95))) > 1e-2  # weights matter
    # one default side is uniform; (N,) weights are shared over a batch; lists keep float64
    uniform_b = torch.full((10,), 0.1, dtype=torch.float64)
    assert float(sinkhorn_divergence(x, y, blur=1.0, scaling=0.95, a=a)) == pytest.approx(
        float(sinkhorn_divergence(x, y, blur=1.0, scaling=0.95, a=a, b=uniform_b)), rel=1e-12)
    batch = sinkhorn_divergence(x.expand(2, 12, 2), y.expand(2, 10, 2), blur=1.0, scaling=0.95, a=a.tolist(), b=b)
    torch.testing.assert_close(batch, value.expand(2), rtol=1e-10, atol=0)


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
    for blur in (float("inf"), float("nan"), -0.1, "wide"):
        with pytest.raises(ValueError, match="blur must be a"):
            sinkhorn_divergence(x, y, blur=blur)
    for scaling in (0.0, 1.0, float("nan"), "fast"):
        with pytest.raises(ValueError, match="scaling must be"):
            sinkhorn_divergence(x, y, scaling=scaling)


@pytest.mark.parametrize("change, match", [
    (lambda a, b: (a * 1.1, b), "a must sum to 1"),
    (lambda a, b: (a, torch.cat([b[:-2], b[-2:-1] + b[-1:] + 0.1, -b[-1:] - 0.1])), "b must be strictly positive"),
    (lambda a, b: (torch.full_like(a, float("nan")), b), "a contains"),
    (lambda a, b: (a[:-1], b), r"a must have shape \(30,\)"),
    (lambda a, b: (a, b.long()), "b must have a floating dtype"),
])
def test_sinkhorn_divergence_bad_weights(change, match):
    x, y = clouds(5)
    a, b = change(weights(30, 2), weights(25, 3))
    with pytest.raises(ValueError, match=match):
        sinkhorn_divergence(x, y, a=a, b=b)


def test_sinkhorn_divergence_casts_weights_to_the_clouds_dtype():
    x, y = clouds(6, n=8, m=7)
    a = weights(8, 4)
    value = sinkhorn_divergence(x, y, blur=0.5, a=a.float())  # float32 weights, float64 clouds
    assert value.dtype == torch.float64
    assert float(value) == pytest.approx(float(sinkhorn_divergence(x, y, blur=0.5, a=a)), rel=1e-6)


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
