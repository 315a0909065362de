"""Tests of gwrep/data/shapes3d.py: the procedural 3D Shapes renderer."""
import colorsys

import numpy as np
import pytest

from gwrep.data.shapes3d import SHAPES3D_VALUES, Shapes3D

RNG = np.random.default_rng


@pytest.fixture(scope="module")
def data():
    return Shapes3D()


def render(data, factors):
    return data.sample_observations_from_factors(np.asarray(factors), RNG(0))


def hue(pixel):
    return colorsys.rgb_to_hsv(*pixel)[0]


def test_shapes_range_and_determinism(data):
    assert data.factor_sizes == (10, 10, 10, 8, 4, 15) and data.observation_shape == (3, 64, 64)
    f = data.sample_factors(40, RNG(0))
    x = render(data, f)
    assert x.shape == (40, 3, 64, 64) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(x, render(Shapes3D(), f))


def test_floor_and_wall_carry_their_hues(data):
    img = render(data, [[3, 7, 0, 0, 2, 7]])[0].transpose(1, 2, 0)
    assert hue(img[63, 2]) == pytest.approx(SHAPES3D_VALUES["floor_hue"][3], abs=0.01)
    assert hue(img[1, 2]) == pytest.approx(SHAPES3D_VALUES["wall_hue"][7], abs=0.01)


def test_object_grows_with_scale(data):
    imgs = render(data, [[0, 0, 5, s, 0, 7] for s in range(8)]).transpose(0, 2, 3, 1)
    target = SHAPES3D_VALUES["object_hue"][5]
    area = [sum(abs(hue(p) - target) < 0.02 and p.max() > 0.05 for p in img.reshape(-1, 3)) for img in imgs]
    assert np.all(np.diff(area) > 0), area


def test_each_factor_changes_the_image(data):
    rng = RNG(1)
    for base in data.sample_factors(3, rng):
        for k, size in enumerate(data.factor_sizes):
            for value in range(size):
                if value == base[k]:
                    continue
                other = base.copy()
                other[k] = value
                diff = np.abs(np.subtract(*render(data, [base, other]))).max()
                assert diff > 0.02, (data.factor_names[k], base, value, diff)


def test_no_two_factor_tuples_give_the_same_image(data):
    # random tuples plus adversarial ones: round objects turned, floor/wall hues swapped, all hues equal
    f = np.concatenate([data.sample_factors(60, RNG(2)), [[1, 1, 1, 4, 2, o] for o in range(15)],
                        [[2, 6, 4, 3, 1, 0], [6, 2, 4, 3, 1, 0], [5, 5, 5, 0, 3, 14], [5, 5, 6, 0, 3, 14]]])
    f = np.unique(f, axis=0)
    x = render(data, f).reshape(len(f), -1)
    gaps = [np.abs(x[i + 1:] - x[i]).max(1).min() for i in range(len(x) - 1)]  # max-abs pixel gap of each pair
    assert min(gaps) > 0.02


def test_out_of_range_factors(data):
    with pytest.raises(ValueError, match="orientation"):
        render(data, [[0, 0, 0, 0, 0, 15]])
