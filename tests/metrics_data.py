"""Tiny factor data and representations shared by the tests of ``gwrep.eval.metrics``.

Not a test module: ``tests/test_metrics_*.py`` import it. The factor data is
:class:`gwrep.data.DummyFactorData` (re-exported here as ``IdentityFactorData``): its
observations are the factors, (K, 1, 1) images ``f_k / (s_k - 1)``, as disentanglement_lib's
``IdentityObservationsData``, so reference representations are easy to write.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from gwrep.data import DummyFactorData as IdentityFactorData
from gwrep.data.base import FactorData

__all__ = ["IdentityFactorData", "identity", "permuted_rescaled", "noise", "factor_grid"]


def identity(x: np.ndarray) -> np.ndarray:
    """The factors themselves (rescaled to [0, 1])."""
    return x.reshape(x.shape[0], -1).astype(np.float64)


def permuted_rescaled(num_factors: int, seed: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """The factors with dimensions permuted, scaled by +-[0.5, 5] and shifted."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(num_factors)
    scale = rng.uniform(0.5, 5.0, num_factors) * rng.choice([-1.0, 1.0], num_factors)
    shift = rng.normal(size=num_factors)
    return lambda x: identity(x)[:, perm] * scale + shift


def noise(num_codes: int, seed: int = 2) -> Callable[[np.ndarray], np.ndarray]:
    """Codes independent of the observations: standard normal, from a generator seeded once."""
    rng = np.random.default_rng(seed)
    return lambda x: rng.normal(size=(x.shape[0], num_codes))


def factor_grid(data: FactorData, repeats: int = 1) -> np.ndarray:
    """Every factor combination ``repeats`` times, (repeats * prod(sizes), K): factors exactly independent."""
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in data.factor_sizes], indexing="ij"), -1)
    return np.tile(grid.reshape(-1, data.num_factors), (repeats, 1)).astype(np.int64)
