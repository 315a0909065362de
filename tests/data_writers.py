"""Writers of small files in the official formats of SmallNORB, Cars3D and MPI3D, for the loader tests.

Not a test module: ``tests/test_data_smallnorb.py``, ``test_data_cars3d.py``, ``test_data_mpi3d.py``
and ``test_data_verify.py`` import it. Each writer returns what it wrote, so a test can
compare the loader's decoded images and factors with it. Formats: the NORB binary matrix of
https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (little-endian int32 magic, ndim, max(3, ndim)
dimensions, C-order data), MATLAB v5 files with ``im`` (S, S, 3, 24, 4) uint8 written by
``scipy.io.savemat``, and MPI3D's ``images`` (N, 64, 64, 3) uint8 in an npz.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

BYTE_MAGIC, INT_MAGIC = 0x1E3D4C55, 0x1E3D4C54
CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")


def write_norb_matrix(path: Path, array: np.ndarray, magic: int, declared: tuple[int, ...] | None = None) -> Path:
    """``array`` as a NORB binary matrix (``declared``: the shape written in the header, default the array's)."""
    shape = tuple(array.shape if declared is None else declared)
    dims = shape + (1,) * (3 - len(shape))
    dtype = {BYTE_MAGIC: "u1", INT_MAGIC: "<i4"}[magic]
    path.write_bytes(struct.pack("<Ii", magic, len(shape)) + struct.pack(f"<{len(dims)}i", *dims)
                     + np.ascontiguousarray(array, dtype=dtype).tobytes())
    return path


def write_smallnorb(folder: Path, rows: dict[str, np.ndarray], side: int = 96, seed: int = 0) -> dict[str, dict]:
    """Both SmallNORB chunks in ``folder``; ``rows[chunk]`` (n, 5): category, instance, elevation, azimuth class, lighting.

    Images are random (left and right differ); the azimuth is written as 2 * class, as the
    official files store it. Returns per chunk the written ``dat`` (n, 2, side, side) and ``rows``.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for chunk in CHUNKS:
        factors = np.asarray(rows[chunk], dtype=np.int32)
        dat = rng.integers(0, 256, size=(len(factors), 2, side, side), dtype=np.uint8)
        info = factors[:, 1:].copy()
        info[:, 2] *= 2
        write_norb_matrix(folder / f"smallnorb-{chunk}-dat.mat", dat, BYTE_MAGIC)
        write_norb_matrix(folder / f"smallnorb-{chunk}-cat.mat", factors[:, 0], INT_MAGIC)
        write_norb_matrix(folder / f"smallnorb-{chunk}-info.mat", info, INT_MAGIC)
        out[chunk] = {"dat": dat, "rows": factors}
    return out


def norb_grid(instances: tuple[int, ...], sizes: tuple[int, ...] = (5, 9, 18, 6)) -> np.ndarray:
    """Every (category, instance, elevation, azimuth, lighting) with the latent factors on the grid ``sizes``."""
    latent = np.stack(np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij"), -1).reshape(-1, 4)
    return np.concatenate([np.insert(latent, 1, i, axis=1) for i in instances])


def write_cars(folder: Path, num_objects: int, side: int = 64, seed: int = 0, compress: bool = True) -> list[np.ndarray]:
    """``num_objects`` files ``car_XXX_mesh.mat`` with random ``im`` (side, side, 3, 24, 4) uint8; returns the ``im``s."""
    import scipy.io

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ims = []
    for k in range(num_objects):
        im = rng.integers(0, 256, size=(side, side, 3, 24, 4), dtype=np.uint8)
        scipy.io.savemat(folder / f"car_{k + 1:03d}_mesh.mat", {"im": im}, do_compression=compress)
        ims.append(im)
    return ims


def write_mpi3d(path: Path, factor_sizes: tuple[int, ...], compress: bool = False, seed: int = 0) -> np.ndarray:
    """An MPI3D npz of the grid ``factor_sizes`` with random images (N, 64, 64, 3) uint8; returns them."""
    images = np.random.default_rng(seed).integers(0, 256, size=(int(np.prod(factor_sizes)), 64, 64, 3), dtype=np.uint8)
    (np.savez_compressed if compress else np.savez)(path, images=images)
    return images


def lookup_representation(data) -> callable:
    """A perfect representation of a stored factor set: an observation's bytes -> its row's factors (as codes).

    Observations are uint8 / 255, so ``round(x * 255)`` recovers them exactly; rows sharing an
    image would be ambiguous, which random test images never are.
    """
    def keys(x: np.ndarray) -> list[bytes]:
        flat = np.round(x * 255).astype(np.uint8).reshape(len(x), -1)
        return [row.tobytes() for row in flat]

    rows = np.arange(data.num_rows)
    table = dict(zip(keys(data.row_observations(rows)), data.row_factors(rows)))

    def represent(x: np.ndarray) -> np.ndarray:
        return np.array([table[key] for key in keys(x)], dtype=np.float64)

    return represent
