"""Tests of gwrep/data/shapes3d_h5.py: DeepMind's 3dshapes.h5 layout, read lazily."""
import pickle

import h5py
import numpy as np
import pytest

from gwrep.data import load
from gwrep.data.factordata import NotAFullGridWarning
from gwrep.data.shapes3d import SHAPES3D_VALUES, Shapes3D
from gwrep.data.shapes3d_h5 import H5Images, load_shapes3d_h5

VALUES = list(SHAPES3D_VALUES.values())


def _write(path, n=30, seed=0, labels=None, images=None):
    rng = np.random.default_rng(seed)
    classes = Shapes3D().sample_factors(n, rng)
    with h5py.File(path, "w") as f:
        f["images"] = rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8) if images is None else images
        f["labels"] = np.stack([VALUES[k][classes[:, k]] for k in range(6)], 1) if labels is None else labels
    return classes


def test_lazy_rows_and_classes(tmp_path):
    classes = _write(tmp_path / "3dshapes.h5")
    with pytest.warns(NotAFullGridWarning):
        data = load_shapes3d_h5(tmp_path)
    np.testing.assert_array_equal(data.row_factors(np.arange(30)), classes)
    rows = np.array([7, 2, 7, 29])  # unsorted, repeated
    obs = data.row_observations(rows)
    with h5py.File(tmp_path / "3dshapes.h5") as f:
        expected = f["images"][()][rows].transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_allclose(obs, expected, atol=1e-6)
    again = pickle.loads(pickle.dumps(data))  # what DataLoader workers get
    np.testing.assert_array_equal(again.row_observations(rows), obs)


def test_reads_only_what_is_asked(tmp_path, monkeypatch):
    """Building the set reads no image; one item reads one row of 'images'; a batch one sorted, de-duplicated read."""
    _write(tmp_path / "3dshapes.h5")
    reads, original = [], h5py.Dataset.__getitem__

    def recording(self, selection, *args, **kwargs):
        if self.name == "/images":
            reads.append(np.asarray(selection).tolist())
        return original(self, selection, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", recording)
    with pytest.warns(NotAFullGridWarning):
        ds = load("shapes3d-h5", tmp_path, split="all")
    data = ds.base
    assert reads == [] and isinstance(data.images, H5Images)
    held = [v for obj in (data, data.images) for v in vars(obj).values() if isinstance(v, np.ndarray)]
    assert all(v.ndim <= 2 for v in held)  # factor tables only, no image array
    image, factors = ds[7]
    assert reads == [[7]] and image.shape == (3, 64, 64)
    np.testing.assert_array_equal(factors.numpy(), data.row_factors([7])[0])
    data.row_observations(np.array([9, 2, 9]))
    assert reads == [[7], [2, 9]]


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="3dshapes.h5"):
        load_shapes3d_h5(tmp_path)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="text.h5.*HDF5"):
        load_shapes3d_h5(tmp_path / "text.h5")
    _write(tmp_path / "good.h5")
    (tmp_path / "trunc.h5").write_bytes((tmp_path / "good.h5").read_bytes()[:5000])
    with pytest.raises(ValueError, match="trunc.h5"):
        load_shapes3d_h5(tmp_path / "trunc.h5")
    with h5py.File(tmp_path / "nolabels.h5", "w") as f:
        f["images"] = np.zeros((2, 64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="missing.*labels"):
        load_shapes3d_h5(tmp_path / "nolabels.h5")
    _write(tmp_path / "shape.h5", n=2, images=np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(N, 64, 64, 3\)"):
        load_shapes3d_h5(tmp_path / "shape.h5")
    _write(tmp_path / "text_labels.h5", n=2, labels=np.array([[b"red"] * 6] * 2))
    with pytest.raises(ValueError, match="text_labels.h5: array 'labels' has dtype .S3"):
        load_shapes3d_h5(tmp_path / "text_labels.h5")  # not "not a readable HDF5 file"
    labels = np.array([[v[0] for v in VALUES]] * 2)
    labels[1, 3] = 2.0  # scale off the grid
    _write(tmp_path / "value.h5", n=2, labels=labels)
    with pytest.raises(ValueError, match="'scale' of row 1 is 2.0"):
        load_shapes3d_h5(tmp_path / "value.h5")
