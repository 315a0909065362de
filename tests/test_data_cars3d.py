"""Tests of gwrep/data/cars3d.py: Cars3D from MATLAB v5 files in the official layout (``im`` S x S x 3 x 24 x 4)."""
import numpy as np
import pytest
from PIL import Image

import gwrep.data as gd
from data_writers import lookup_representation, write_cars
from gwrep.data.cars3d import CARS3D_FACTORS, load_cars3d


def test_round_trip_images_and_factors(tmp_path):
    """Row (elevation e, azimuth a, object o) is im[:, :, :, a, e] of the o-th file (sorted names), fitted 128 -> 64
    by PIL Lanczos (dlib's thumbnail on a square image), /255, channels first."""
    ims = write_cars(tmp_path / "cars", 2, side=128)
    data = load_cars3d(tmp_path / "cars", num_objects=2)
    assert data.factor_names == CARS3D_FACTORS and data.factor_sizes == (4, 24, 2) and data.is_full_grid
    assert data.observation_shape == (3, 64, 64) and data.num_rows == 192
    for e, a, o in [(0, 0, 0), (3, 23, 1), (1, 5, 0), (2, 17, 1)]:
        expected = np.asarray(Image.fromarray(ims[o][:, :, :, a, e]).resize((64, 64), Image.LANCZOS)) / 255.0
        got = data.sample_observations_from_factors(np.array([[e, a, o]]), np.random.default_rng(0))[0]
        np.testing.assert_allclose(got.transpose(1, 2, 0), expected, atol=1e-7)
        row = (e * 24 + a) * 2 + o  # row-major over (elevation, azimuth, object)
        assert data.row_factors([row]).tolist() == [[e, a, o]]


def test_uncompressed_files_and_catalog(tmp_path):
    """savemat without compression reads the same; gwrep.data.load finds dlib's cars/ folder; a perfect
    representation scores MIG near 1; num_objects checks the file count."""
    from gwrep.eval.metrics.mig import compute_mig

    ims = write_cars(tmp_path / "cars", 3, compress=False)
    root = gd.dataset_root(tmp_path, "cars3d")
    assert root == str(tmp_path / "cars")
    with pytest.raises(ValueError, match=r"3 .mat files, expected 183 \(the official set"):
        gd.load("cars3d", root)
    ds = gd.load("cars3d", root, split="all", num_objects=3)
    image, target = ds[5]
    assert image.shape == (3, 64, 64) and target.tolist() == [0, 1, 2]
    np.testing.assert_allclose(image.numpy().transpose(1, 2, 0), ims[2][:, :, :, 1, 0] / 255.0, atol=1e-7)  # 64: as is
    data = gd.load_factor_data("cars3d", root, num_objects=None)
    assert compute_mig(lookup_representation(data), data, num_train=1000)["discrete_mig"] > 0.9


def _patch_first_dims(path, side: int) -> None:
    """Rewrite the first two dimensions of the (uncompressed) ``im`` in its array header."""
    raw = bytearray(path.read_bytes())
    # 128-byte file header, miMATRIX tag (8), array-flags sub-element (16), dimensions tag (8), then the int32 dims
    assert int.from_bytes(raw[152:156], "little") == 5 and int.from_bytes(raw[156:160], "little") == 20
    raw[160:168] = side.to_bytes(4, "little") * 2
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage, message", [
    ("missing_im", "missing variable 'im'; found ['img']"),
    ("wrong_shape", "wrong shape: 'im' is uint8 (64, 64, 3, 24, 3)"),
    ("wrong_dtype", "wrong shape: 'im' is double (64, 64, 3, 24, 4)"),
    ("truncated", "truncated: the compressed element at byte 128 declares"),
    ("declares_more", "the declared size does not fit the file: 'im' (100000, 100000, 3, 24, 4)"),
    ("not_mat", "not a MATLAB v5 .mat file"),
    ("v73", "MATLAB file version 0x0200 (v7.3 files are HDF5)"),
])
def test_bad_files_one_line(tmp_path, damage, message):
    import scipy.io

    folder = tmp_path / "cars"
    write_cars(folder, 2, compress=damage != "declares_more")
    path = folder / "car_002_mesh.mat"
    im = np.zeros((64, 64, 3, 24, 4), np.uint8)
    if damage == "missing_im":
        scipy.io.savemat(path, {"img": im})
    elif damage == "wrong_shape":
        scipy.io.savemat(path, {"im": im[..., :3]})
    elif damage == "wrong_dtype":
        scipy.io.savemat(path, {"im": im.astype(np.float64)})
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif damage == "declares_more":
        _patch_first_dims(path, 100_000)
    elif damage == "not_mat":
        path.write_bytes(b"x" * 300)
    elif damage == "v73":
        raw = bytearray(path.read_bytes())
        raw[124:126] = (0x0200).to_bytes(2, "little")
        path.write_bytes(bytes(raw))
    with pytest.raises(ValueError) as err:
        load_cars3d(folder, num_objects=2)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
