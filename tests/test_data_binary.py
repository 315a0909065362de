"""Tests of gwrep/data/binary.py: the size-checked NORB, npz and MAT readers."""
import zipfile

import numpy as np
import pytest

from data_writers import write_norb_matrix
from gwrep.data.binary import ChannelsLast, mat_capacity, npz_array, read_norb_header, read_norb_matrix


@pytest.mark.parametrize("magic, dtype, shape", [
    (0x1E3D4C51, "<f4", (7,)), (0x1E3D4C53, "<f8", (3, 2)), (0x1E3D4C56, "<i2", (2, 3, 4)),
    (0x1E3D4C55, "u1", (2, 1, 3, 5)),
])
def test_norb_matrix_round_trip(tmp_path, magic, dtype, shape):
    """Every element type; fewer than 3 dimensions still store 3 (the unused ones 1), so the data starts at 20."""
    import struct

    array = (np.arange(np.prod(shape)) % 100).astype(dtype).reshape(shape)
    path = tmp_path / "m.mat"
    dims = shape + (1,) * (3 - len(shape))
    path.write_bytes(struct.pack("<Ii", magic, len(shape)) + struct.pack(f"<{len(dims)}i", *dims) + array.tobytes())
    header = read_norb_header(path)
    assert header.shape == shape and header.offset == 8 + 4 * len(dims) and header.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(read_norb_matrix(path, dtype, len(shape)), array)
    with pytest.raises(ValueError, match=r"m.mat: wrong shape: .* dimensions, expected 9"):
        read_norb_matrix(path, ndim=9)


def test_norb_header_lies(tmp_path):
    path = write_norb_matrix(tmp_path / "m.mat", np.zeros((2, 3), np.int32), 0x1E3D4C54)
    raw = bytearray(path.read_bytes())
    raw[4:8] = (40).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"m.mat: header declares 40 dimensions; expected 1 to 16"):
        read_norb_header(path)
    raw[4:8] = (2).to_bytes(4, "little")
    raw[8:12] = (-5).to_bytes(4, "little", signed=True)
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"m.mat: header declares a negative dimension: \(-5, 3\)"):
        read_norb_header(path)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("fortran", [False, True])
def test_npz_array_maps_stored_and_reads_deflated(tmp_path, compression, fortran):
    """A stored member is memory-mapped at the right offset (after a local header with an extra field, too)."""
    array = np.arange(2 * 5 * 3, dtype="<i2").reshape(2, 5, 3)
    array = np.asfortranarray(array) if fortran else array
    path = tmp_path / "a.npz"
    np.savez(path, other=np.ones(3), images=array)
    if compression == zipfile.ZIP_DEFLATED:
        np.savez_compressed(path, other=np.ones(3), images=array)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("images.npy").compress_type == compression
    got = npz_array(path, "images")
    assert isinstance(got, np.memmap) == (compression == zipfile.ZIP_STORED)
    np.testing.assert_array_equal(got, array)
    with pytest.raises(ValueError, match=r"a.npz: missing array 'imgs'; found \['images', 'other'\]"):
        npz_array(path, "imgs")
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"a.npz: not a readable .npz file \(BadZipFile"):
        npz_array(path, "images")


def test_mat_capacity_bounds_the_data(tmp_path):
    """Uncompressed: the element bytes (at least the array's); compressed: 1032 times them."""
    import scipy.io

    im = np.zeros((16, 16, 3), np.uint8)
    scipy.io.savemat(tmp_path / "u.mat", {"im": im}, do_compression=False)
    scipy.io.savemat(tmp_path / "c.mat", {"im": im}, do_compression=True)
    plain = mat_capacity(tmp_path / "u.mat")
    assert im.size <= plain <= (tmp_path / "u.mat").stat().st_size - 128 - 8
    assert mat_capacity(tmp_path / "c.mat") == 1032 * ((tmp_path / "c.mat").stat().st_size - 128 - 8)
    (tmp_path / "short.mat").write_bytes((tmp_path / "u.mat").read_bytes()[:100])
    with pytest.raises(ValueError, match=r"short.mat: truncated: 100 bytes, shorter than the 128-byte"):
        mat_capacity(tmp_path / "short.mat")


def test_channels_last_view():
    array = np.arange(2 * 3 * 4 * 3).reshape(2, 3, 4, 3)
    view = ChannelsLast(array)
    assert view.shape == (2, 3, 3, 4) and len(view) == 2
    np.testing.assert_array_equal(view[[1]], array[[1]].transpose(0, 3, 1, 2))
