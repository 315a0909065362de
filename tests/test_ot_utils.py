"""Tests for gwrep/ot/utils.py: the shared input checks."""
import numpy as np
import pytest
import torch

from gwrep.ot.utils import as_tensor, check_costs, check_epsilon, check_marginal, default_tol


def test_marginals_default_to_uniform_and_broadcast_over_the_batch():
    like = torch.zeros(3, 4, 4, dtype=torch.float32)
    w = check_marginal("p", None, 4, 3, like)
    assert w.shape == (3, 4) and w.dtype == torch.float32 and torch.allclose(w.sum(1), torch.ones(3))
    w = check_marginal("p", torch.tensor([0.25, 0.25, 0.25, 0.25]), 4, 3, like)
    assert w.shape == (3, 4)


@pytest.mark.parametrize("w, match", [
    (torch.tensor([0.5, 0.6]), "p must sum to 1"),
    (torch.tensor([1.5, -0.5]), "strictly positive"),
    (torch.tensor([0.5, 0.5, 0.0]), "must have shape"),
    (torch.tensor([float("nan"), 0.5]), "p contains"),
])
def test_bad_marginals(w, match):
    with pytest.raises(ValueError, match=match):
        check_marginal("p", w, 2, None, torch.zeros(2, 2))


def test_other_checks():
    assert as_tensor("C", np.eye(2)).dtype == torch.float64  # numpy arrays are wrapped, dtype kept
    with pytest.raises(ValueError, match="floating dtype"):
        as_tensor("C", torch.eye(2, dtype=torch.long))
    with pytest.raises(ValueError, match="square"):
        check_costs("C1", torch.zeros(2, 3))
    for bad in (0.0, -1.0, float("inf"), "a"):
        with pytest.raises(ValueError, match="epsilon"):
            check_epsilon(bad)
    assert default_tol(None, torch.float64) == 1e-9 and default_tol(None, torch.float32) == 1e-5
    assert default_tol(1e-3, torch.float32) == 1e-3


def test_list_marginals_keep_the_costs_precision_and_are_renormalised():
    like = torch.zeros(5, 4, dtype=torch.float64)
    w = check_marginal("p", [0.2] * 5, 5, None, like)  # torch.as_tensor would make it float32: sum 1 + 1.5e-8
    assert w.dtype == torch.float64 and float(w.sum()) == 1.0
    w = check_marginal("p", np.full(5, 0.2) * (1 + 5e-7), 5, None, like)  # accepted, then renormalised
    assert abs(float(w.sum()) - 1.0) < 1e-15
    torch.testing.assert_close(w[0], torch.full((5,), 0.2, dtype=torch.float64), atol=1e-16, rtol=0)
    # a float32 tensor cast to float64 costs gets float32's tolerance, then sums to 1 in float64
    w = check_marginal("p", torch.full((5,), 0.2) * (1 + 5e-6), 5, None, like)
    assert w.dtype == torch.float64 and abs(float(w.sum()) - 1.0) < 1e-15
    with pytest.raises(ValueError, match="p must sum to 1"):
        check_marginal("p", np.full(5, 0.2) * (1 + 5e-6), 5, None, like)
    with pytest.raises(ValueError, match="floating dtype"):
        check_marginal("p", [1, 2], 2, None, torch.zeros(2, 2))
