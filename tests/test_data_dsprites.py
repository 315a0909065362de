"""Tests of gwrep/data/dsprites.py: the official dSprites file layout and the two subsets."""
import re
import warnings

import numpy as np
import pytest

from gwrep.data import load, load_factor_data
from gwrep.data.dsprites import DSPRITES_FILES, load_dsprites
from gwrep.data.factordata import NotAFullGridWarning

OFFICIAL = DSPRITES_FILES["official"]


def _fake_official(path, n=12, seed=0):
    """A tiny npz with the official keys and layout (colour column first, always 0)."""
    rng = np.random.default_rng(seed)
    classes = np.zeros((n, 6), np.int64)
    for k, size in enumerate((1, 3, 6, 40, 32, 32)):
        classes[:, k] = rng.integers(0, size, n)
    imgs = rng.integers(0, 2, (n, 64, 64)).astype(np.uint8)
    np.savez(path, imgs=imgs, latents_classes=classes, latents_values=classes.astype(float))
    return imgs, classes


def test_official_layout_drops_colour(tmp_path):
    imgs, classes = _fake_official(tmp_path / OFFICIAL)
    with pytest.warns(NotAFullGridWarning):
        data = load_dsprites(tmp_path)  # a folder holding the official file
    assert data.factor_sizes == (3, 6, 40, 32, 32) and data.factor_names[0] == "shape"
    np.testing.assert_array_equal(data.row_factors(np.arange(12)), classes[:, 1:])
    obs = data.sample_observations_from_factors(classes[[5, 2], 1:], np.random.default_rng(0))
    np.testing.assert_array_equal(obs[:, 0], imgs[[5, 2]])


def test_real_subsets(data_root):
    folder = data_root / "dsprites"
    with pytest.warns(NotAFullGridWarning, match="not independent"):
        subset = load_dsprites(folder, "subset")
    assert subset.num_rows == 20000 and subset.factor_sizes == (3, 6, 40, 32, 32) and not subset.is_full_grid
    sampled = subset.sample_factors(100, np.random.default_rng(0))
    rows = subset.rows_of_factors(sampled)  # every sampled tuple exists
    np.testing.assert_array_equal(subset.row_factors(rows), sampled)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grid = load_dsprites(folder / "dsprites_downsampled.npz")  # variant read from the file name
    assert grid.num_rows == 46080 and grid.factor_sizes == (3, 6, 10, 16, 16) and grid.is_full_grid
    x = grid.sample_observations(8, np.random.default_rng(0))
    assert x.shape == (8, 1, 64, 64) and set(np.unique(x).tolist()) <= {0.0, 1.0} and x.sum() > 0


def test_subset_warning_points_at_the_caller(data_root):
    """The warning names the uses that need the full grid and points at the user's line, not at a loader."""
    folder = data_root / "dsprites"
    for call in (lambda: load("dsprites", folder, variant="subset", split="all"),
                 lambda: load_factor_data("dsprites", folder, variant="subset", image_size=28),
                 lambda: load_dsprites(folder / "dsprites_subset.npz")):
        with pytest.warns(NotAFullGridWarning) as record:
            call()
        assert [w.filename for w in record] == [__file__]
        assert "BetaVAE and FactorVAE metrics" in str(record[0].message)
        assert "use variant=downsampled" in str(record[0].message)


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=OFFICIAL):
        load_dsprites(tmp_path)
    missing = tmp_path / "nope" / "dsprites_subset.npz"
    with pytest.raises(FileNotFoundError, match=f"dSprites file not found: {re.escape(str(missing))}$"):
        load("dsprites", missing)  # the path as given, no official file name appended
    with pytest.raises(FileNotFoundError, match=f"dSprites path .* not found: {re.escape(str(tmp_path / 'nope'))}$"):
        load_dsprites(tmp_path / "nope")
    (tmp_path / "dsprites_subset.npz").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="folder has dsprites_subset.npz .variant='subset'"):
        load_dsprites(tmp_path)
    (tmp_path / "dsprites_subset.npz").unlink()
    with pytest.raises(ValueError, match="variant"):
        load_dsprites(tmp_path, "full")
    bad = tmp_path / "trunc" / OFFICIAL
    bad.parent.mkdir()
    _fake_official(tmp_path / OFFICIAL)
    bad.write_bytes((tmp_path / OFFICIAL).read_bytes()[:3000])
    with pytest.raises(ValueError, match="trunc.*npz"):
        load_dsprites(bad)
    np.savez(tmp_path / "keys.npz", images=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(ValueError, match="missing array.*imgs"):
        load_dsprites(tmp_path / "keys.npz")
    np.savez(tmp_path / "shape.npz", imgs=np.zeros((2, 32, 32), np.uint8), latents_classes=np.zeros((2, 6), int))
    with pytest.raises(ValueError, match="imgs.*64, 64"):
        load_dsprites(tmp_path / "shape.npz")
    np.savez(tmp_path / "obj.npz", imgs=np.zeros((2, 64, 64), object), latents_classes=np.zeros((2, 6), int))
    with pytest.raises(ValueError, match="dtype object"):
        load_dsprites(tmp_path / "obj.npz")
    np.savez(tmp_path / "range.npz", imgs=np.zeros((1, 64, 64), np.uint8), latents_classes=[[0, 3, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="'shape'.*value 3"):
        load_dsprites(tmp_path / "range.npz")
    np.savez(tmp_path / "dsprites_subset.npz", imgs=np.zeros((1, 64, 64), np.uint8), latents_classes=np.zeros((1, 5), int))
    with pytest.raises(FileNotFoundError, match="metadata"):
        load_dsprites(tmp_path, "subset")
