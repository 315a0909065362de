"""Tests of gwrep/data/mnist.py: IDX parsing, the real files, splits, bad files."""
import gzip
import struct

import numpy as np
import pytest

from gwrep.data.mnist import build_dataset, read_idx, read_idx_header
from gwrep.data.transforms import ImageTransform
from test_data_files import overwrite_middle


def _idx(images=None, labels=None):
    """Raw IDX bytes of uint8 images (N, 28, 28) or labels (N,)."""
    arr = images if images is not None else labels
    return struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def _write_raw(folder, part="t10k", n=5, gz=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    for stem, arr in ((f"{part}-images-idx3-ubyte", _idx(images=images)), (f"{part}-labels-idx1-ubyte", _idx(labels=labels))):
        if gz:
            with gzip.open(folder / (stem + ".gz"), "wb") as fh:
                fh.write(arr)
        else:
            (folder / stem).write_bytes(arr)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_tiny_files_round_trip(tmp_path, gz):
    images, labels = _write_raw(tmp_path, gz=gz)
    ds = build_dataset(tmp_path, "test", ImageTransform(), seed=0)
    x, y = ds.get_batch(np.arange(5))
    np.testing.assert_allclose(x.numpy()[:, 0] * 255, images, atol=1e-3)
    np.testing.assert_array_equal(y.numpy(), labels)


def test_real_files(data_root):
    root = data_root / "mnist"
    assert read_idx_header(root / "train-images-idx3-ubyte.gz") == (60000, 28, 28)
    assert read_idx_header(root / "t10k-labels-idx1-ubyte.gz") == (10000,)
    sizes = {s: len(build_dataset(root, s, ImageTransform(), seed=0)) for s in ("train", "val", "test", "trainval")}
    assert sizes == {"train": 54000, "val": 6000, "test": 10000, "trainval": 60000}
    x, y = build_dataset(root, "test", ImageTransform(), seed=0).get_batch(np.arange(10000))
    assert x.shape == (10000, 1, 28, 28) and 0.1 < x.mean() < 0.2  # bright strokes on black
    big = build_dataset(root, "test", ImageTransform(64, 3), seed=0).get_batch([0, 1])[0]
    assert big.shape == (2, 3, 64, 64) and abs(big.mean() - x[:2].mean()) < 0.02
    assert np.bincount(y.numpy(), minlength=10).min() > 850  # every digit present
    assert y[:3].tolist() == [7, 2, 1]  # the canonical first test labels
    train, val = (build_dataset(root, s, ImageTransform(), seed=3) for s in ("train", "val"))
    assert not set(train.rows) & set(val.rows)


def test_bad_files(tmp_path, data_root):
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        build_dataset(tmp_path, "test", ImageTransform(), seed=0)
    with pytest.raises(FileNotFoundError, match="MNIST folder"):
        build_dataset(tmp_path / "nope", "test", ImageTransform(), seed=0)
    trunc = tmp_path / "t10k-labels-idx1-ubyte.gz"
    trunc.write_bytes((data_root / "mnist" / trunc.name).read_bytes()[:1000])
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: truncated or corrupt gzip file"):
        read_idx_header(trunc)  # not the size in the cut-off file's last 4 bytes
    short = tmp_path / "short-idx.gz"
    with gzip.open(short, "wb") as fh:  # a sound gzip stream holding too few IDX bytes
        fh.write(_idx(labels=np.arange(10, dtype=np.uint8))[:-3])
    with pytest.raises(ValueError, match=r"short-idx.gz: truncated or corrupt IDX file: header \(10,\) needs 18 "
                                         r"bytes, file decompresses to 15"):
        read_idx_header(short)
    raw = tmp_path / "raw-idx"
    raw.write_bytes(_idx(labels=np.arange(10, dtype=np.uint8))[:-3])
    with pytest.raises(ValueError, match="raw-idx: truncated"):
        read_idx(raw)
    raw.write_bytes(b"\x00\x00\x0d\x01" + bytes(20))  # float32 IDX, not unsigned bytes
    with pytest.raises(ValueError, match="magic"):
        read_idx_header(raw)
    raw.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="magic"):
        read_idx_header(raw)
    with pytest.raises(ValueError, match="split"):
        build_dataset(data_root / "mnist", "validation", ImageTransform(), seed=0)


def test_corrupt_middle_of_gz(tmp_path):
    """Bytes overwritten mid-file in a gzipped IDX: the header still reads, the data fail with the file named."""
    images = np.random.default_rng(0).integers(0, 4, (300, 28, 28), dtype=np.uint8)  # compressible
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(_idx(images=images))
    overwrite_middle(path, 2000)
    assert read_idx_header(path) == (300, 28, 28)  # intact header and ISIZE trailer
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz: corrupt or truncated IDX file"):
        read_idx(path)


def test_mismatched_counts(tmp_path):
    _write_raw(tmp_path, n=5)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(labels=np.zeros(4, np.uint8)))
    with pytest.raises(ValueError, match="4.*labels for 5 images"):
        build_dataset(tmp_path, "test", ImageTransform(), seed=0)
