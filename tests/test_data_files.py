"""Tests of gwrep/data/files.py: safe npz reading, headers, checksums."""
import gzip
import hashlib

import numpy as np
import pytest

from gwrep.data.files import KNOWN_MD5, KNOWN_SHA256, npz_headers, read_npz, require_dir, require_file, sha256, verify_checksums


def test_real_checksums(data_root):
    results = dict(verify_checksums(data_root))
    known = {p.name: s for p, s in results.items() if s != "unknown"}
    assert set(known) == set(KNOWN_SHA256) and set(known.values()) == {"OK"}
    f = data_root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    assert sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()


def test_mismatch_and_unknown(tmp_path):
    (tmp_path / "images_evaluation.npz").write_bytes(b"tampered")
    (tmp_path / "notes.txt").write_text("x")
    statuses = {p.name: s for p, s in verify_checksums(tmp_path)}
    assert statuses == {"images_evaluation.npz": "MISMATCH", "notes.txt": "unknown"}
    with pytest.raises(FileNotFoundError, match="missing"):
        verify_checksums(tmp_path / "missing")


def test_ungzipped_mnist_by_md5(tmp_path, data_root):
    """An ungzipped official MNIST file is checked against LeCun's md5; a changed byte is a mismatch."""
    name = "t10k-labels-idx1-ubyte"
    raw = gzip.decompress((data_root / "mnist" / f"{name}.gz").read_bytes())
    (tmp_path / name).write_bytes(raw)
    assert hashlib.md5(raw).hexdigest() == KNOWN_MD5[name]
    assert verify_checksums(tmp_path / name) == [(tmp_path / name, "OK")]
    tampered = bytearray(raw)
    tampered[100] ^= 1  # one label changed
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / name).write_bytes(bytes(tampered))
    assert verify_checksums(tmp_path / "bad") == [(tmp_path / "bad" / name, "MISMATCH")]


def test_npz_headers_and_reads(tmp_path, data_root):
    heads = npz_headers(data_root / "omniglot" / "images_evaluation.npz", required=("images", "labels"))
    assert heads["images"] == ((659, 20, 105, 105), np.dtype(bool))
    np.savez(tmp_path / "a.npz", x=np.arange(3))
    assert read_npz(tmp_path / "a.npz", ["x"])["x"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="a.npz: missing array.*'y'"):
        read_npz(tmp_path / "a.npz", ["y"])
    (tmp_path / "b.npz").write_bytes((tmp_path / "a.npz").read_bytes()[:60])
    for reader in (lambda p: npz_headers(p), lambda p: read_npz(p, ["x"])):
        with pytest.raises(ValueError, match="b.npz: not a readable .npz"):
            reader(tmp_path / "b.npz")
    np.savez(tmp_path / "pickled.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        read_npz(tmp_path / "pickled.npz", ["x"])  # never unpickles


def overwrite_middle(path, nbytes, seed=0):
    """Replace ``nbytes`` in the middle of ``path`` with seeded random bytes (a damaged copy, same length)."""
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + nbytes] = np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(raw))


def test_corrupt_middle_of_compressed_npz(tmp_path):
    x = np.random.default_rng(0).integers(0, 4, 200_000).astype(np.uint8)
    np.savez_compressed(tmp_path / "c.npz", x=x)
    assert npz_headers(tmp_path / "c.npz")["x"] == ((200_000,), np.dtype(np.uint8))
    overwrite_middle(tmp_path / "c.npz", 2000)
    assert npz_headers(tmp_path / "c.npz")["x"][0] == (200_000,)  # the header is intact, the data are not
    with pytest.raises(ValueError, match=r"c.npz: corrupt or truncated .npz \(error: Error -3"):  # zlib.error
        read_npz(tmp_path / "c.npz", ["x"])


def test_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="it is a folder"):
        require_file(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError, match="got a file"):
        require_dir(tmp_path / "f")
