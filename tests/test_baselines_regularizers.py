"""Tests for gwrep.baselines.regularizers (baselines/regularizers.py): hand values and brute force."""
import math

import numpy as np
import pytest
import torch

from gwrep.baselines.regularizers import (covariance_of_mean, dip_ii_covariance, dip_penalty, linear_capacity,
                                          log_importance_weights, pairwise_log_density, permute_dims,
                                          tc_decomposition)


def _codes(b=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(b, d, generator=g, dtype=torch.float64)
    logvar = torch.randn(b, d, generator=g, dtype=torch.float64) * 0.5 - 0.5
    z = mean + logvar.mul(0.5).exp() * torch.randn(b, d, generator=g, dtype=torch.float64)
    return z, mean, logvar


def _normal_pdf(x, mu, var):
    return math.exp(-0.5 * (x - mu) ** 2 / var) / math.sqrt(2 * math.pi * var)


def _brute_force_tc(z, mean, logvar, n_data, estimator):
    """Chen et al.'s estimators written as explicit loops over the batch (python floats)."""
    z, mean, var = z.tolist(), mean.tolist(), logvar.exp().tolist()
    b, d = len(z), len(z[0])
    m = b - 1

    def weight(i, j):
        if estimator == "mws":
            return 1.0 / (n_data * b)
        if i == j:
            return 1.0 / n_data
        if j == (i + 1) % b:
            return (n_data - m) / (n_data * m)
        return 1.0 / m

    mi = tc = dwkl = 0.0
    for i in range(b):
        q_joint = 0.0
        q_marg = [0.0] * d
        for j in range(b):
            dens = [_normal_pdf(z[i][k], mean[j][k], var[j][k]) for k in range(d)]
            q_joint += weight(i, j) * math.prod(dens)
            for k in range(d):
                q_marg[k] += weight(i, j) * dens[k]
        log_q_cond = sum(math.log(_normal_pdf(z[i][k], mean[i][k], var[i][k])) for k in range(d))
        log_p = sum(math.log(_normal_pdf(z[i][k], 0.0, 1.0)) for k in range(d))
        log_marg = sum(math.log(q) for q in q_marg)
        mi += (log_q_cond - math.log(q_joint)) / b
        tc += (math.log(q_joint) - log_marg) / b
        dwkl += (log_marg - log_p) / b
    return {"mutual_information": mi, "total_correlation": tc, "dimensionwise_kl": dwkl}


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_tc_decomposition_matches_double_loop(estimator):
    z, mean, logvar = _codes()
    got = tc_decomposition(z, mean, logvar, dataset_size=50, estimator=estimator)
    want = _brute_force_tc(z, mean, logvar, 50, estimator)
    for key in want:
        assert float(got[key]) == pytest.approx(want[key], rel=1e-9, abs=1e-9), key


def test_tc_parts_sum_to_sampled_kl():
    z, mean, logvar = _codes(b=6, d=4, seed=3)
    parts = tc_decomposition(z, mean, logvar, dataset_size=100, estimator="mss")
    log_q = torch.distributions.Normal(mean, logvar.mul(0.5).exp()).log_prob(z).sum(1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    assert float(sum(parts.values())) == pytest.approx(float((log_q - log_p).mean()), rel=1e-10)


def test_tc_of_separated_codes_is_the_estimator_constant():
    # Tiny variances and far-apart means: only j = i contributes, so MWS gives (D - 1) log(N B).
    b, d, n = 4, 3, 20
    mean = torch.arange(b * d, dtype=torch.float64).view(b, d) * 10.0
    logvar = torch.full((b, d), -10.0, dtype=torch.float64)
    tc = tc_decomposition(mean.clone(), mean, logvar, n, "mws")["total_correlation"]
    assert float(tc) == pytest.approx((d - 1) * math.log(n * b), rel=1e-9)


def test_mws_logs_values_shifted_by_log_n_from_the_batch_average():
    """MWS's weights 1 / (N B) make log q(z) the batch-average estimate minus log N: the logged
    MI is log N higher, TC (D - 1) log N higher, dimension-wise KL D log N lower (docstring)."""
    b, d, n = 5, 3, 50
    z, mean, logvar = _codes(b, d, seed=1)
    got = tc_decomposition(z, mean, logvar, n, "mws")
    pairs = pairwise_log_density(z, mean, logvar)  # (B, B, D)
    log_qz = torch.logsumexp(pairs.sum(2), 1) - math.log(b)  # (1 / B) sum_j q(z_i | x_j)
    log_qzd = torch.logsumexp(pairs, 1) - math.log(b)  # (B, D)
    log_q_given_x = torch.diagonal(pairs).sum(0)  # (B,)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z)
    average = {"mutual_information": (log_q_given_x - log_qz).mean(),
               "total_correlation": (log_qz - log_qzd.sum(1)).mean(),
               "dimensionwise_kl": (log_qzd - log_p).sum(1).mean()}
    shift = {"mutual_information": math.log(n), "total_correlation": (d - 1) * math.log(n),
             "dimensionwise_kl": -d * math.log(n)}
    for key in shift:
        assert float(got[key] - average[key]) == pytest.approx(shift[key], rel=1e-9), key


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_importance_weights_rows_sum_to_one_and_are_unbiased(estimator):
    b, n = 6, 40
    w = log_importance_weights(b, n, estimator, dtype=torch.float64).exp()
    row_sum = 1.0 if estimator == "mss" else 1.0 / n
    np.testing.assert_allclose(w.sum(1).numpy(), row_sum, rtol=1e-12)
    if estimator == "mss":
        # Expected weight of any other data point, over random batches: (weights on others) / (N - 1) = 1/N.
        assert float(w[0, 1:].sum()) / (n - 1) == pytest.approx(1.0 / n)
        assert torch.allclose(torch.diagonal(w), torch.full((b,), 1.0 / n, dtype=torch.float64))


@pytest.mark.parametrize("bad, match", [
    ({"batch_size": 1, "dataset_size": 10, "estimator": "mws"}, "at least 2"),
    ({"batch_size": 8, "dataset_size": 4, "estimator": "mss"}, "dataset_size"),
    ({"batch_size": 4, "dataset_size": 10, "estimator": "iwae"}, r"\['mws', 'mss'\]"),
])
def test_importance_weights_reject(bad, match):
    with pytest.raises(ValueError, match=match):
        log_importance_weights(**bad)


def test_pairwise_log_density_entry():
    z, mean, logvar = _codes(b=3, d=2)
    got = pairwise_log_density(z, mean, logvar)
    assert got.shape == (3, 3, 2)
    want = math.log(_normal_pdf(float(z[2, 1]), float(mean[0, 1]), float(logvar[0, 1].exp())))
    assert float(got[2, 0, 1]) == pytest.approx(want, rel=1e-12)


def test_covariance_of_mean_matches_numpy():
    mean = torch.randn(7, 3, dtype=torch.float64)
    np.testing.assert_allclose(covariance_of_mean(mean).numpy(), np.cov(mean.numpy().T, bias=True), rtol=1e-12)


def test_dip_ii_covariance_adds_mean_variance_on_diagonal_only():
    mean = torch.tensor([[1.0, 0.0], [0.0, 2.0], [2.0, 1.0]], dtype=torch.float64)
    logvar = torch.log(torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=torch.float64))
    want = np.cov(mean.numpy().T, bias=True) + np.diag([3.0, 4.0])  # E[sigma^2] per dimension
    np.testing.assert_allclose(dip_ii_covariance(mean, logvar).numpy(), want, rtol=1e-12)
    # The II covariance differs from the I covariance only on the diagonal.
    diff = dip_ii_covariance(mean, logvar) - covariance_of_mean(mean)
    assert torch.count_nonzero(diff - torch.diag(torch.diagonal(diff))) == 0


def test_dip_penalty_hand_value():
    cov = torch.tensor([[1.5, -0.2, 0.1], [-0.2, 0.5, 0.3], [0.1, 0.3, 1.0]])
    off = 2 * (0.2 ** 2 + 0.1 ** 2 + 0.3 ** 2)
    diag = 0.5 ** 2 + 0.5 ** 2 + 0.0
    assert float(dip_penalty(cov, 2.0, 7.0)) == pytest.approx(2.0 * off + 7.0 * diag, rel=1e-6)
    assert float(dip_penalty(torch.eye(4), 3.0, 3.0)) == 0.0


def test_linear_capacity_schedule():
    assert [linear_capacity(s, 25.0, 100000) for s in (0, 1, 50000, 100000, 200000)] == [
        0.0, 25.0 / 100000, 12.5, 25.0, 25.0]
    assert linear_capacity(torch.tensor(30), 5.0, 60) == 2.5


def test_permute_dims_keeps_every_marginal_and_breaks_rows():
    z = torch.arange(40.0).view(10, 4)
    out = permute_dims(z, torch.Generator().manual_seed(0))
    for d in range(4):
        assert sorted(out[:, d].tolist()) == z[:, d].tolist()
    assert not torch.equal(out, z)
    assert not all(out[i].tolist() in z.tolist() for i in range(10))  # rows are mixed across inputs
    same = permute_dims(z, torch.Generator().manual_seed(0))
    assert torch.equal(out, same)


def test_permute_dims_columns_are_independent():
    z = torch.arange(200.0)[:, None].repeat(1, 2)  # two identical columns
    out = permute_dims(z, torch.Generator().manual_seed(1))
    assert not torch.equal(out[:, 0], out[:, 1])
    assert sorted(out[:, 0].tolist()) == z[:, 0].tolist()
