"""Concrete factor data sets: grid renderers, array-backed sets, a dummy, a transformed view.

:class:`IndexedFactorData` extends :class:`~gwrep.data.base.FactorData` with numbered rows
(``num_rows``, ``row_factors``, ``row_observations``), which the torch ``Dataset`` view
(:class:`gwrep.data.views.FactorDataset`) walks. Index arithmetic lives in
:class:`~gwrep.data.space.FactorSpace`; images live in the subclasses
(after nmichlo/disent's ``StateSpace`` / ``ArrayGroundTruthData`` split).

>>> import numpy as np
>>> dummy = DummyFactorData((2, 3))
>>> dummy.sample_observations_from_factors(np.array([[1, 2]]), np.random.default_rng(0)).ravel().tolist()
[1.0, 1.0]
"""
from __future__ import annotations

import abc
import os
import sys
import warnings
from typing import Sequence

import numpy as np

from gwrep.data.base import FactorData
from gwrep.data.space import FactorSpace
from gwrep.data.transforms import ImageTransform

__all__ = ["IndexedFactorData", "FactorDataView", "RowIndexedFactorData", "GridFactorData", "ArrayFactorData", "DummyFactorData", "TransformedFactorData",
           "NotAFullGridWarning"]


class NotAFullGridWarning(UserWarning):
    """A factor data set holds only some tuples of its grid; factors are sampled among its rows.

    Metrics that only need factors and observations of sampled rows (MIG, DCI, SAP,
    Modularity) work on such a set; uses that fix one factor and vary the others (the
    BetaVAE and FactorVAE metrics, contact sheets) need a full grid.
    """


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _stacklevel_outside_package() -> int:
    """``stacklevel`` for a ``warnings.warn`` in the calling function: the first frame outside ``gwrep/data``.

    A warning raised deep inside :func:`gwrep.data.load` then points at the line that
    called it, however many loader frames lie between (Python 3.12's ``skip_file_prefixes``
    does this; we support 3.11).
    """
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame, level = frame.f_back, level + 1
    return level


class IndexedFactorData(FactorData):
    """A factor data set whose observations are numbered rows 0 to ``num_rows - 1``."""

    #: Index <-> factor arithmetic of the full grid ``factor_sizes``.
    space: FactorSpace

    @property
    @abc.abstractmethod
    def num_rows(self) -> int:
        """Number of rows (observations) the set holds."""

    @abc.abstractmethod
    def row_factors(self, rows: np.ndarray) -> np.ndarray:
        """Factor classes (n, K) int64 of ``rows`` (n,)."""

    def row_observations(self, rows: np.ndarray) -> np.ndarray:
        """Observations float32 (n, C, H, W) of ``rows`` (n,)."""
        return self.sample_observations_from_factors(self.row_factors(rows), np.random.default_rng(0))

    def _check_rows(self, rows) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= self.num_rows):
            raise ValueError(f"row index outside [0, {self.num_rows - 1}]: {rows[(rows < 0) | (rows >= self.num_rows)][0]}")
        return rows


class GridFactorData(IndexedFactorData):
    """A full factorial grid whose observations are computed from factors (rows = grid states).

    Subclasses set ``factor_names``, ``factor_sizes``, ``observation_shape`` and implement
    :meth:`render` on already validated factor arrays.
    """

    def __init__(self) -> None:
        self.space = FactorSpace(self.factor_sizes, self.factor_names)

    @property
    def num_rows(self) -> int:
        return self.space.num_states

    def row_factors(self, rows: np.ndarray) -> np.ndarray:
        return self.space.indices_to_factors(rows)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.space.sample_factors(n, rng)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.render(self.space.check_factors(factors))

    @abc.abstractmethod
    def render(self, factors: np.ndarray) -> np.ndarray:
        """Images float32 (n, C, H, W) in [0, 1] of valid factor classes (n, K)."""


class RowIndexedFactorData(IndexedFactorData):
    """Factor data whose rows are stored with their factors (images or clips held in arrays).

    Subclasses call :meth:`_index_rows` once and implement :meth:`_read_sorted`; this class
    maps factor tuples to rows, samples factors, and reads rows in sorted order (memory-mapped
    and h5py-like arrays read forward much faster).
    """

    factors: np.ndarray
    source: str
    is_full_grid: bool
    _row_of_state: np.ndarray

    def _index_rows(self, factor_sizes: Sequence[int], factor_names: Sequence[str] | None,
                    factors: np.ndarray) -> np.ndarray:
        """Set ``space``, the checked ``factors``, the row of each grid state and ``is_full_grid``; return the flat states."""
        self.space = FactorSpace(factor_sizes, factor_names)
        self.factor_sizes, self.factor_names = self.space.factor_sizes, self.space.factor_names
        try:
            self.factors = self.space.check_factors(factors)
        except ValueError as err:
            raise ValueError(f"{self.source}: {err}") from None
        flat = self.space.factors_to_indices(self.factors)
        self._row_of_state = np.full(self.space.num_states, -1, dtype=np.int64)
        self._row_of_state[flat] = np.arange(len(flat))
        self.is_full_grid = bool(len(flat) == self.space.num_states and (self._row_of_state >= 0).all())
        return flat

    @abc.abstractmethod
    def _read_sorted(self, rows: np.ndarray) -> np.ndarray:
        """Observations float32 (n, ...) of sorted ``rows`` (n,), n >= 1."""

    @property
    def num_rows(self) -> int:
        return len(self.factors)

    def row_factors(self, rows: np.ndarray) -> np.ndarray:
        return self.factors[self._check_rows(rows)]

    def row_observations(self, rows: np.ndarray) -> np.ndarray:
        rows = self._check_rows(rows)
        order = np.argsort(rows, kind="stable")
        out = np.empty((len(rows), *self.observation_shape), dtype=np.float32)
        if len(rows):
            out[order] = self._read_sorted(rows[order])
        return out

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.is_full_grid:
            return self.space.sample_factors(n, rng)
        return self.factors[rng.integers(0, self.num_rows, size=n)]

    def rows_of_factors(self, factors: np.ndarray) -> np.ndarray:
        """Row of each factor tuple (n,); ValueError if a tuple is not present."""
        rows = self._row_of_state[self.space.factors_to_indices(factors)]
        if (rows < 0).any():
            missing = self.space.check_factors(factors)[rows < 0][0].tolist()
            raise ValueError(f"{self.source}: factor tuple {missing} is not present (this set is not a full grid)")
        return rows

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.row_observations(self.rows_of_factors(factors))


class ArrayFactorData(RowIndexedFactorData):
    """Factor data held in arrays: ``images`` (N, H, W) or (N, C, H, W) and ``factors`` (N, K).

    When the rows cover the whole grid, :meth:`sample_factors` samples factors uniformly;
    otherwise (``is_full_grid`` False, e.g. the 20,000-image dSprites subset) it picks
    existing rows uniformly, so the factors are *not* independent, and construction warns
    with :class:`NotAFullGridWarning`. Observations for factor tuples absent from the
    rows raise ValueError.

    Parameters
    ----------
    images : array (N, H, W) or (N, C, H, W)
        uint8 images are scaled by ``scale`` (default 1/255; use 1 for {0, 1} images);
        float images must already lie in [0, 1].
    factors : int array (N, K)
        Factor classes of each row.
    factor_sizes, factor_names : sequences of length K
    source : str
        Where the arrays came from, for messages.
    warn : bool
        Warn with :class:`NotAFullGridWarning` when the rows are not the full grid (default True).
    full_grid_hint : str
        Appended to that warning, e.g. where the full grid of this set is found.
    """

    def __init__(self, images: np.ndarray, factors: np.ndarray, factor_sizes: Sequence[int],
                 factor_names: Sequence[str] | None = None, *, scale: float | None = None,
                 source: str = "arrays", warn: bool = True, full_grid_hint: str = "") -> None:
        self.source = source
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4:
            raise ValueError(f"{source}: images must have shape (N, H, W) or (N, C, H, W), got {images.shape}")
        if len(images) != len(factors):
            raise ValueError(f"{source}: {len(images)} images but {len(factors)} factor rows")
        if images.dtype == np.uint8:
            self._scale = 1.0 / 255.0 if scale is None else float(scale)
        elif np.issubdtype(images.dtype, np.floating) or images.dtype == bool:
            self._scale = 1.0 if scale is None else float(scale)
        else:
            raise ValueError(f"{source}: images must be uint8, bool or float, got dtype {images.dtype}")
        self.images = images
        self.observation_shape = tuple(int(s) for s in images.shape[1:])
        flat = self._index_rows(factor_sizes, factor_names, factors)
        if not self.is_full_grid and warn:
            warnings.warn(f"{source}: {len(np.unique(flat))} of {self.space.num_states} factor tuples are present; "
                          "sample_factors picks among existing rows, so factors are not independent. MIG, DCI, SAP "
                          "and Modularity work on it; the BetaVAE and FactorVAE metrics and contact sheets vary one "
                          f"factor alone and need a full grid{full_grid_hint}",
                          NotAFullGridWarning, stacklevel=_stacklevel_outside_package())

    def _read_sorted(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.images[rows], dtype=np.float32) * self._scale


class DummyFactorData(GridFactorData):
    """Test data whose observation is its factors: shape (K, 1, 1), value ``f_k / (s_k - 1)``.

    Unlike disentanglement_lib's ``DummyData``, the declared factor sizes are the ones sampled.
    """

    def __init__(self, factor_sizes: Sequence[int] = (3, 4, 5), factor_names: Sequence[str] | None = None) -> None:
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        self.factor_names = tuple(factor_names) if factor_names else tuple(f"f{k}" for k in range(len(self.factor_sizes)))
        self.observation_shape = (len(self.factor_sizes), 1, 1)
        super().__init__()

    def render(self, factors: np.ndarray) -> np.ndarray:
        denom = np.maximum(np.asarray(self.factor_sizes, dtype=np.float32) - 1, 1)
        return (factors / denom).astype(np.float32)[:, :, None, None]


class FactorDataView(IndexedFactorData):
    """An indexed factor data set with ``base``'s factors, rows and factor sampling, and observations of
    ``observation_shape`` that a subclass derives from ``base``'s (``row_observations``,
    ``sample_observations_from_factors``)."""

    def __init__(self, base: IndexedFactorData, observation_shape: tuple[int, ...]) -> None:
        self.base = base
        self.space = base.space
        self.factor_names, self.factor_sizes = base.factor_names, base.factor_sizes
        self.observation_shape = tuple(observation_shape)

    @property
    def num_rows(self) -> int:
        return self.base.num_rows

    def row_factors(self, rows: np.ndarray) -> np.ndarray:
        return self.base.row_factors(rows)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.base.sample_factors(n, rng)


class TransformedFactorData(FactorDataView):
    """``base`` with an :class:`~gwrep.data.transforms.ImageTransform` applied to every observation."""

    def __init__(self, base: IndexedFactorData, transform: ImageTransform) -> None:
        super().__init__(base, transform.output_shape(base.observation_shape))
        self.transform = transform

    def __getattr__(self, name: str):  # e.g. is_full_grid, source
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def row_observations(self, rows: np.ndarray) -> np.ndarray:
        return self.transform(self.base.row_observations(rows))

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.transform(self.base.sample_observations_from_factors(factors, rng))
