"""Tests of gwrep/data/nuisance.py: per-image generators and NuisanceFactorData."""
import numpy as np
import pytest

from gwrep.data import ArrayFactorData, NotAFullGridWarning, NuisanceFactorData
from gwrep.data.nuisance import drawn_generators, row_generators


def _data(rows: np.ndarray) -> NuisanceFactorData:
    """Observations are the row index (so a picked row is visible); factor 1 of (2, 3, 2) is the nuisance."""
    images = np.arange(len(rows), dtype=np.float32).reshape(-1, 1, 1, 1) / 100
    return NuisanceFactorData(ArrayFactorData(images, rows, (2, 3, 2), ("a", "n", "b"), warn=False), (0, 2))


def test_generators():
    a = [g.random() for g in row_generators(4, np.array([0, 9]))]
    assert a == [g.random() for g in row_generators(4, np.array([0, 9]))] and a[0] != a[1]
    assert a[1] != row_generators(5, np.array([9]))[0].random()
    first = [g.random() for g in drawn_generators(np.random.default_rng(1), 3)]
    assert first == [g.random() for g in drawn_generators(np.random.default_rng(1), 3)] and len(set(first)) == 3


def test_full_grid_picks_the_nuisance_uniformly():
    grid = np.stack(np.meshgrid(range(2), range(3), range(2), indexing="ij"), -1).reshape(-1, 3)
    data = _data(grid)
    assert data.factor_sizes == (2, 2) and data.factor_names == ("a", "b") and data.nuisance_names == ("n",)
    assert data.is_full_grid and data.num_rows == 12
    np.testing.assert_array_equal(data.row_factors([5]), [[0, 1]])
    factors = np.repeat([[1, 0]], 3000, axis=0)
    rows = np.round(data.sample_observations_from_factors(factors, np.random.default_rng(0)).ravel() * 100).astype(int)
    assert set(rows) == {6, 8, 10}  # the rows with a = 1, b = 0 (n = 0, 1, 2)
    assert np.abs(np.bincount(rows)[[6, 8, 10]] - 1000).max() < 90  # 3.5 sd of binomial(3000, 1/3)
    assert set(map(tuple, data.sample_factors(200, np.random.default_rng(0)))) == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_partial_grid_warns_and_names_missing_tuples():
    with pytest.warns(NotAFullGridWarning, match=r"3 of 4 tuples of the factors \('a', 'b'\)"):
        data = _data(np.array([[0, 0, 0], [0, 2, 1], [1, 1, 0]]))
    assert not data.is_full_grid
    assert set(map(tuple, data.sample_factors(100, np.random.default_rng(0)))) == {(0, 0), (0, 1), (1, 0)}
    with pytest.raises(ValueError, match=r"factor tuple \[1, 1\] is not present"):
        data.sample_observations_from_factors(np.array([[0, 0], [1, 1]]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="latent must be distinct factor indices"):
        NuisanceFactorData(data.base, (0, 0))
