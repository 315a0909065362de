"""The factor data-set interface the disentanglement metrics and trainers use.

Modelled on disentanglement_lib's ``GroundTruthData``: a factor data set knows its
factor names and sizes, can sample factor values, and can produce the observations for
given factors. Factors are integer class indices ``0 <= f_k < factor_sizes[k]``;
observations are float32 images in [0, 1], NCHW. Every random draw takes an explicit
``numpy.random.Generator``.
"""
from __future__ import annotations

import abc

import numpy as np

__all__ = ["FactorData"]


class FactorData(abc.ABC):
    """Abstract ground-truth factor data set."""

    #: Name of each factor, e.g. ("shape", "scale", "orientation", "posX", "posY").
    factor_names: tuple[str, ...]
    #: Number of values of each factor.
    factor_sizes: tuple[int, ...]
    #: (C, H, W) of one observation.
    observation_shape: tuple[int, int, int]

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    @abc.abstractmethod
    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor tuples, int64 array of shape (n, num_factors)."""

    @abc.abstractmethod
    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Observations for ``factors`` (n, num_factors): float32 (n, C, H, W) in [0, 1]."""

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` factor tuples and their observations."""
        factors = self.sample_factors(n, rng)
        return factors, self.sample_observations_from_factors(factors, rng)

    def sample_observations(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` observations of random factors."""
        return self.sample(n, rng)[1]
