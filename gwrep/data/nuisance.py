"""Nuisances: what varies in an observation beyond its factors, drawn at random per image.

Two kinds, both as disentanglement_lib draws them (Locatello et al. 2019):

- pixel nuisances (the colour, noise or background patch of Color-, Noisy- and
  Scream-dSprites, :mod:`gwrep.data.dsprites_variants`): each image takes its own seeded
  ``numpy.random.Generator``. A row of a data set uses :func:`row_generators`
  (``default_rng([seed, row])``, so a row's image is the same in every epoch, process and
  worker, reproducible from ``(seed, row)``); the metrics' ``sample_observations_from_factors``
  uses :func:`drawn_generators`, one generator per image seeded from the caller's
  generator, so every draw gets fresh nuisances as in dlib.
- stored nuisance factors (SmallNORB's toy instance): :class:`NuisanceFactorData` keeps
  only the ``latent`` factors as ground truth and picks, for a latent tuple, one of the rows
  that have it uniformly at random (dlib's ``SplitDiscreteStateSpace``: on a full grid, each
  nuisance factor uniform).

Observations of such sets are random given their factors, so they set
``random_observations = True``: a cache of one code per factor tuple
(``gwrep.eval.metrics.utils.CodeCache``) would freeze the nuisance and is refused.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from gwrep.data.factordata import IndexedFactorData, NotAFullGridWarning, _stacklevel_outside_package
from gwrep.data.space import FactorSpace

__all__ = ["row_generators", "drawn_generators", "NuisanceFactorData"]


def row_generators(seed: int, rows: np.ndarray) -> list[np.random.Generator]:
    """One generator per row, ``default_rng([seed, row])``: a row's nuisances depend on ``(seed, row)`` only.

    >>> a, b = row_generators(0, np.array([7, 7]))
    >>> float(a.random()) == float(b.random())
    True
    """
    return [np.random.default_rng([int(seed), int(row)]) for row in np.asarray(rows, dtype=np.int64).reshape(-1)]


def drawn_generators(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """``n`` generators seeded from ``rng`` (one 63-bit draw each): fresh nuisances per call, reproducible from ``rng``."""
    return [np.random.default_rng(int(key)) for key in rng.integers(0, 2**63 - 1, size=n, dtype=np.int64)]


class NuisanceFactorData(IndexedFactorData):
    """Rows with factors of which only ``latent`` are ground truth; the others are nuisances picked at random.

    ``base`` holds the rows with all their factors (e.g. SmallNORB's category, instance,
    elevation, azimuth, lighting). The set's factors are ``base``'s at ``latent``; a row's
    target is its latent factors; the observation of a latent tuple is a row with those latent
    factors, chosen uniformly among them with the caller's generator. When some latent tuple
    has no row, ``is_full_grid`` is False, :meth:`sample_factors` picks among existing rows
    and construction warns with :class:`~gwrep.data.factordata.NotAFullGridWarning`.
    """

    random_observations = True

    def __init__(self, base: IndexedFactorData, latent: Sequence[int], *, warn: bool = True,
                 full_grid_hint: str = "") -> None:
        latent = tuple(int(k) for k in latent)
        if not latent or sorted(set(latent)) != sorted(latent) or min(latent) < 0 or max(latent) >= base.num_factors:
            raise ValueError(f"latent must be distinct factor indices in [0, {base.num_factors - 1}], got {latent}")
        self.base, self.latent = base, latent
        self.nuisance_names = tuple(n for k, n in enumerate(base.factor_names) if k not in latent)
        self.space = FactorSpace([base.factor_sizes[k] for k in latent], [base.factor_names[k] for k in latent])
        self.factor_sizes, self.factor_names = self.space.factor_sizes, self.space.factor_names
        self.observation_shape = base.observation_shape
        self.source = getattr(base, "source", type(base).__name__)
        states = self.space.factors_to_indices(base.row_factors(np.arange(base.num_rows))[:, latent])
        self._rows_by_state = np.argsort(states, kind="stable")  # rows grouped by latent tuple
        counts = np.bincount(states, minlength=self.space.num_states)
        self._first = np.concatenate(([0], np.cumsum(counts)[:-1]))  # position of each tuple's first row
        self._count = counts
        self.is_full_grid = bool((counts > 0).all())
        if not self.is_full_grid and warn:
            warnings.warn(f"{self.source}: {int((counts > 0).sum())} of {self.space.num_states} tuples of the factors "
                          f"{self.factor_names} are present; sample_factors picks among existing rows, so factors are "
                          "not independent, and the BetaVAE and FactorVAE metrics and contact sheets (which vary one "
                          f"factor alone) need a full grid{full_grid_hint}",
                          NotAFullGridWarning, stacklevel=_stacklevel_outside_package())

    @property
    def num_rows(self) -> int:
        return self.base.num_rows

    def row_factors(self, rows: np.ndarray) -> np.ndarray:
        return self.base.row_factors(rows)[:, self.latent]

    def row_observations(self, rows: np.ndarray) -> np.ndarray:
        return self.base.row_observations(rows)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.is_full_grid:
            return self.space.sample_factors(n, rng)
        return self.row_factors(rng.integers(0, self.num_rows, size=n))

    def sample_rows(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A row for each latent tuple (n, K): uniform among the rows that have it; ValueError if none does."""
        states = self.space.factors_to_indices(factors)
        counts = self._count[states]
        if (counts == 0).any():
            missing = self.space.check_factors(factors)[counts == 0][0].tolist()
            raise ValueError(f"{self.source}: factor tuple {missing} is not present (this set is not a full grid)")
        pick = rng.integers(0, counts) if len(states) else np.zeros(0, dtype=np.int64)
        return self._rows_by_state[self._first[states] + pick]

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.base.row_observations(self.sample_rows(factors, rng))
