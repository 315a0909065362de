"""Tests of gwrep/data/mpi3d.py: MPI3D from npz files in the official layout (``images`` (N, 64, 64, 3) uint8)."""
import io
import pickle
import zipfile

import numpy as np
import pytest

import gwrep.data as gd
from data_writers import lookup_representation, write_mpi3d
from gwrep.data import binary
from gwrep.data.mpi3d import MPI3D_FACTORS, load_mpi3d, mpi3d_grid

SIZES = (2, 2, 2, 2, 2, 2, 3)  # a tiny grid of 192 images; the official one is (6, 6, 2, 3, 3, 40, 40)


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_images_and_factors(tmp_path, compress):
    """Row i is the grid state i in row-major order (the official README's index formula); images /255, channels
    first. A stored member is memory-mapped (the official 12.7 GB files), a deflated one decompressed."""
    images = write_mpi3d(tmp_path / "mpi3d_toy.npz", SIZES, compress=compress)
    data = load_mpi3d(tmp_path, "toy", factor_sizes=SIZES)
    assert data.factor_names == MPI3D_FACTORS and data.factor_sizes == SIZES and data.num_rows == 192
    assert isinstance(data.images._array, np.memmap) != compress
    factors = np.array([[1, 1, 0, 1, 1, 0, 2], [0, 0, 1, 0, 0, 1, 1]])
    index = factors @ np.array([96, 48, 24, 12, 6, 3, 1])  # strides of SIZES
    got = data.sample_observations_from_factors(factors, np.random.default_rng(0))
    np.testing.assert_allclose(got, images[index].transpose(0, 3, 1, 2) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(data.row_factors(index), factors)
    again = pickle.loads(pickle.dumps(data))  # a DataLoader worker: a memory map travels as its opener
    np.testing.assert_array_equal(again.row_observations(index), got)


def test_grid_inferred_or_checked(tmp_path):
    assert mpi3d_grid(1_036_800, None, "f") == (6, 6, 2, 3, 3, 40, 40)
    write_mpi3d(tmp_path / "mpi3d_real.npz", SIZES)
    with pytest.raises(ValueError, match=r"mpi3d_real.npz: 192 images match no published MPI3D grid .*give factor_sizes"):
        load_mpi3d(tmp_path / "mpi3d_real.npz", "real")
    with pytest.raises(ValueError, match=r"mpi3d_real.npz: factor_sizes \(2, 2, 2, 2, 2, 2, 2\) make a grid of 128 rows; "
                                         r"the file has 192 images"):
        load_mpi3d(tmp_path, "real", factor_sizes=(2, 2, 2, 2, 2, 2, 2))
    with pytest.raises(ValueError, match="factor_sizes must be 7 positive sizes"):
        load_mpi3d(tmp_path, "real", factor_sizes=(72,))


def test_catalog_names_metrics_and_train(tmp_path):
    """mpi3d-toy / -realistic / -real through gwrep.data (dlib's mpi3d_<variant>/ folders), factor_sizes from a
    command-line list, the MIG of a perfect representation, and two training steps."""
    from gwrep.cli import main
    from gwrep.eval.metrics.mig import compute_mig

    for variant in ("toy", "realistic", "real"):
        (tmp_path / f"mpi3d_{variant}").mkdir()
        write_mpi3d(tmp_path / f"mpi3d_{variant}" / f"mpi3d_{variant}.npz", SIZES, seed=len(variant))
        root = gd.dataset_root(tmp_path, f"mpi3d-{variant}")
        assert root == str(tmp_path / f"mpi3d_{variant}")
        ds = gd.load(f"mpi3d-{variant}", root, split="all", factor_sizes=list(SIZES))
        assert len(ds) == 192 and ds.image_shape == (3, 64, 64) and ds[191][1].tolist() == [1, 1, 1, 1, 1, 1, 2]
    data = gd.load_factor_data("mpi3d-real", tmp_path / "mpi3d_real", factor_sizes=SIZES, image_size=28)
    assert data.observation_shape == (3, 28, 28)
    assert compute_mig(lookup_representation(data), data, num_train=500)["discrete_mig"] > 0.9
    assert main(["train", "--model", "vae", "--data", "mpi3d-toy", "--data-root", str(tmp_path), "--data-option",
                 "factor_sizes=[2,2,2,2,2,2,3]", "--steps", "2", "--image-size", "28", "--batch-size", "8",
                 "--eval-every", "0", "--no-figures", "--no-progress", "--out", str(tmp_path / "run")]) == 0


def _npz_with_header(path, shape, data: bytes, compress: bool = False) -> None:
    """An npz whose images.npy declares ``shape`` uint8 but holds ``data``."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "|u1", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        zf.writestr("images.npy", head.getvalue() + data)


@pytest.mark.parametrize("damage, message", [
    ("wrong_shape", "array 'images' must have shape (N, 64, 64, 3), got (192, 64, 64, 1)"),
    ("wrong_dtype", "array 'images' has dtype float32, expected uint8"),
    ("missing", "missing array 'images'; found ['imgs']"),
    ("declares_more", "array 'images' declares shape (1000000, 64, 64, 3) uint8 (12,288,000,000 bytes) but its "
                      "member holds 1,000 bytes"),
    ("truncated", "not a readable .npz file"),
    ("object_dtype", "(Python objects); expected numbers"),
    ("ratio", "more than deflate can produce"),
])
def test_bad_files_one_line(tmp_path, monkeypatch, damage, message):
    path = tmp_path / "mpi3d_toy.npz"
    images = write_mpi3d(path, SIZES, compress=damage == "ratio")
    if damage == "wrong_shape":
        np.savez(path, images=images[..., :1])
    elif damage == "wrong_dtype":
        np.savez(path, images=images.astype(np.float32))
    elif damage == "missing":
        np.savez(path, imgs=images)
    elif damage == "declares_more":
        _npz_with_header(path, (1_000_000, 64, 64, 3), bytes(1000))
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: 64 * 64 * 3 * 10])
    elif damage == "object_dtype":
        np.savez(path, images=np.array([None, 1], dtype=object))
    elif damage == "ratio":
        monkeypatch.setattr(binary, "DEFLATE_MAX_RATIO", 0.5)  # random bytes do not deflate: ratio about 1
    with pytest.raises(ValueError) as err:
        load_mpi3d(path, factor_sizes=SIZES)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
