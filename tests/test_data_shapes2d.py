"""Tests of gwrep/data/shapes2d.py: the procedural dSprites renderer."""
import numpy as np
import pytest

from gwrep.data.shapes2d import Shapes2D

RNG = np.random.default_rng


@pytest.fixture(scope="module")
def data():
    return Shapes2D()


def render(data, factors):
    return data.sample_observations_from_factors(np.asarray(factors), RNG(0))


def test_shapes_sizes_and_binary(data):
    assert data.factor_sizes == (3, 6, 40, 32, 32) and data.space.num_states == 737280
    f = data.sample_factors(300, RNG(0))
    x = render(data, f)
    assert x.shape == (300, 1, 64, 64) and x.dtype == np.float32
    assert set(np.unique(x).tolist()) == {0.0, 1.0}
    assert (x.sum(axis=(1, 2, 3)) > 0).all()


def test_deterministic(data):
    f = data.sample_factors(50, RNG(1))
    np.testing.assert_array_equal(render(data, f), render(Shapes2D(), f[::-1])[::-1])


def test_square_and_ellipse_oracles(data):
    # as dSprites at scale 1, orientation 0: a 19x19 square and a 25x15 ellipse centred at pixel 16 + pos
    img = render(data, [[0, 5, 0, 16, 16]])[0, 0]
    rows, cols = np.nonzero(img)
    assert img.sum() == 361 and (rows.min(), rows.max(), cols.min(), cols.max()) == (23, 41, 23, 41)
    rows, cols = np.nonzero(render(data, [[1, 5, 0, 0, 31]])[0, 0])
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (4, 28, 40, 54)


def test_each_factor_changes_the_image(data):
    rng = RNG(2)
    for base in data.sample_factors(20, rng):
        base[0] = 2  # the heart has no rotational symmetry
        for k, size in enumerate(data.factor_sizes):
            other = base.copy()
            other[k] = (base[k] + rng.integers(1, size)) % size
            assert not np.array_equal(*render(data, [base, other])), (k, base, other)


def test_position_scale_and_no_clipping(data):
    base = np.array([2, 3, 7, 0, 0])
    xs = render(data, [[*base[:3], px, 0] for px in range(32)])[:, 0]
    cols = [np.nonzero(x.any(0))[0].mean() for x in xs]
    assert np.all(np.diff(cols) > 0.9)  # posX moves right, at least ~1 px per class
    ys = render(data, [[*base[:3], 0, py] for py in range(32)])[:, 0]
    assert np.all(np.diff([np.nonzero(y.any(1))[0].mean() for y in ys]) > 0.9)  # posY moves down
    corners = render(data, [[*base[:3], 0, 0], [*base[:3], 31, 31], [*base[:3], 16, 9]])
    assert len(set(corners.sum(axis=(1, 2, 3)).tolist())) == 1  # never clipped at the border
    areas = render(data, [[1, s, 5, 16, 16] for s in range(6)]).sum(axis=(1, 2, 3))
    assert np.all(np.diff(areas) > 0)


def test_out_of_range_factors(data):
    with pytest.raises(ValueError, match="orientation"):
        render(data, [[0, 0, 40, 0, 0]])
    with pytest.raises(ValueError, match="shape"):
        render(data, [[0, 0, 0]])


def test_replicates_real_dsprites(data, data_root):
    from gwrep.data.dsprites import load_dsprites

    with pytest.warns(UserWarning):
        real = load_dsprites(data_root / "dsprites" / "dsprites_subset.npz")
    rows = np.arange(0, real.num_rows, 4)
    f, target = real.row_factors(rows), real.row_observations(rows)[:, 0]
    ours = render(data, f)[:, 0]
    iou = np.minimum(ours, target).sum((1, 2)) / np.maximum(ours, target).sum((1, 2))
    assert all(iou[f[:, 0] == k].mean() > 0.8 for k in range(3))
