"""Tests of gwrep/data/space.py: index <-> factor arithmetic of a factor grid."""
import numpy as np
import pytest

from gwrep.data.space import FactorSpace


def test_round_trip_and_numpy_order():
    space = FactorSpace((3, 6, 4, 2))
    idx = np.arange(space.num_states)
    factors = space.indices_to_factors(idx)
    assert factors.shape == (48 * 3, 4) and factors.dtype == np.int64
    np.testing.assert_array_equal(space.factors_to_indices(factors), idx)
    # agrees with numpy's row-major (last factor fastest) numbering
    np.testing.assert_array_equal(np.ravel_multi_index(factors.T, space.factor_sizes), idx)
    assert len({tuple(f) for f in factors}) == space.num_states


def test_sampling_is_seeded_and_in_range():
    space = FactorSpace((2, 5, 7))
    a = space.sample_factors(500, np.random.default_rng(1))
    b = space.sample_factors(500, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert a.min() == 0 and (a.max(0) == np.array([1, 4, 6])).all()


@pytest.mark.parametrize("bad, match", [([[0, 5]], "'b'.*value 5"), ([[-1, 0]], "'a'.*value -1"),
                                        ([[0, 1, 2]], "shape"), ([[0.5, 1]], "integer.*value 0.5"), ([[np.nan, 1]], "value nan"),
                                        ([["0", "1"]], "dtype <U1"), ([[0, None]], "dtype object")])
def test_bad_factors_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        FactorSpace((2, 5), ("a", "b")).factors_to_indices(bad)


def test_bad_sizes_and_indices_raise():
    with pytest.raises(ValueError, match="positive"):
        FactorSpace((3, 0))
    with pytest.raises(ValueError, match="names"):
        FactorSpace((3, 2), ("a",))
    with pytest.raises(ValueError, match="index 6"):
        FactorSpace((3, 2)).indices_to_factors([6])
