"""Tests of gwrep/data/factordata.py: array-backed, dummy and transformed factor sets."""
import numpy as np
import pytest

from gwrep.data.factordata import ArrayFactorData, DummyFactorData, NotAFullGridWarning, TransformedFactorData
from gwrep.data.space import FactorSpace
from gwrep.data.transforms import ImageTransform


def _grid_arrays(sizes=(2, 3, 4)):
    factors = FactorSpace(sizes).indices_to_factors(np.arange(np.prod(sizes)))
    images = np.zeros((len(factors), 4, 4), np.uint8)
    images[:, 0, : len(sizes)] = factors * 10  # image encodes its factors
    return images, factors


def test_full_grid_lookup_matches_rows():
    images, factors = _grid_arrays()
    perm = np.random.default_rng(0).permutation(len(factors))  # rows in any order
    data = ArrayFactorData(images[perm], factors[perm], (2, 3, 4), ("a", "b", "c"))
    assert data.is_full_grid and data.num_rows == 24 and data.observation_shape == (1, 4, 4)
    rng = np.random.default_rng(3)
    f = data.sample_factors(50, rng)
    obs = data.sample_observations_from_factors(f, rng)
    np.testing.assert_allclose(obs[:, 0, 0, :3] * 255, f * 10)
    np.testing.assert_array_equal(data.row_factors(np.arange(24)), factors[perm])


def test_partial_grid_warns_and_samples_existing_rows():
    images, factors = _grid_arrays()
    keep = np.arange(0, 24, 3)
    with pytest.warns(NotAFullGridWarning, match="8 of 24"):
        data = ArrayFactorData(images[keep], factors[keep], (2, 3, 4))
    assert not data.is_full_grid
    sampled = data.sample_factors(200, np.random.default_rng(0))
    present = {tuple(f) for f in factors[keep]}
    assert {tuple(f) for f in sampled} <= present
    with pytest.raises(ValueError, match="not present"):
        data.sample_observations_from_factors(factors[1:2], np.random.default_rng(0))


def test_array_checks():
    images, factors = _grid_arrays()
    with pytest.raises(ValueError, match="24 images but 23"):
        ArrayFactorData(images, factors[:-1], (2, 3, 4))
    with pytest.raises(ValueError, match="outside"):
        ArrayFactorData(images, factors + 1, (2, 3, 4))
    with pytest.raises(ValueError, match="dtype"):
        ArrayFactorData(images.astype(np.int32), factors, (2, 3, 4))
    with pytest.raises(ValueError, match="row index"):
        ArrayFactorData(images, factors, (2, 3, 4)).row_observations([24])


def test_dummy_observations_are_factors():
    data = DummyFactorData((3, 1, 5))
    f = data.sample_factors(100, np.random.default_rng(0))
    assert f.max(0).tolist() == [2, 0, 4]  # declared sizes are what it samples
    obs = data.sample_observations_from_factors(f, np.random.default_rng(0))
    np.testing.assert_allclose(obs[:, :, 0, 0], f / np.array([2, 1, 4]))


def test_transformed_view_resizes_and_keeps_factors():
    images, factors = _grid_arrays()
    base = ArrayFactorData(np.repeat(np.repeat(images, 16, 1), 16, 2), factors, (2, 3, 4))  # 64x64
    data = TransformedFactorData(base, ImageTransform(image_size=28, channels=3))
    assert data.observation_shape == (3, 28, 28) and data.factor_sizes == (2, 3, 4) and data.is_full_grid
    obs = data.sample_observations_from_factors(factors[:5], np.random.default_rng(0))
    assert obs.shape == (5, 3, 28, 28) and obs.dtype == np.float32
    np.testing.assert_array_equal(obs[:, 0], obs[:, 2])  # gray copied to three channels
    np.testing.assert_array_equal(data.row_factors(np.arange(5)), factors[:5])
