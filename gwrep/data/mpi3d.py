"""``mpi3d-toy``, ``mpi3d-realistic``, ``mpi3d-real``: MPI3D (Gondal et al. 2019) from the official ``.npz`` files.

``root`` is ``mpi3d_<variant>.npz`` or its folder (https://github.com/rr-learning/disentanglement_dataset).
The file has one array, ``images`` (N, 64, 64, 3) uint8, in the row-major order of its factor
grid: object_color, object_shape, object_size 2, camera_height 3, background_color 3,
horizontal_axis 40, vertical_axis 40. The images carry no labels, so the grid is what maps a
row to its factors; it is option ``factor_sizes``:

- ``None`` (default): inferred from N among the published grids: 1,036,800 images are
  (6, 6, 2, 3, 3, 40, 40) (toy, realistic and real as published now), 460,800 are
  (4, 4, 2, 3, 3, 40, 40) (the first releases, which disentanglement_lib's ``mpi3d.py``
  hard-codes for toy and realistic, and the "complex" set). Any other N is an error.
- seven sizes (a test's tiny file, a crop of the grid): validated, their product must be N.

The official files store ``images`` uncompressed (12.7 GB for 1,036,800 images), so the
array is memory-mapped and rows are read per batch (:func:`gwrep.data.binary.npz_array`);
a compressed file is decompressed into memory. Images are scaled by 1/255 (dlib).
No checksums of these files are published; ``gwrep data verify`` checks their headers.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from gwrep.data.binary import ChannelsLast, npz_array
from gwrep.data.factordata import ArrayFactorData
from gwrep.data.files import check_array, require_file
from gwrep.data.space import FactorSpace
from gwrep.data.transforms import check_choice

__all__ = ["MPI3D_FACTORS", "MPI3D_GRIDS", "MPI3D_FILES", "mpi3d_grid", "check_mpi3d_file", "load_mpi3d",
           "build_toy", "build_realistic", "build_real"]

MPI3D_FACTORS = ("object_color", "object_shape", "object_size", "camera_height", "background_color",
                 "horizontal_axis", "vertical_axis")
#: Number of images -> factor sizes, for the grids published.
MPI3D_GRIDS: dict[int, tuple[int, ...]] = {1_036_800: (6, 6, 2, 3, 3, 40, 40), 460_800: (4, 4, 2, 3, 3, 40, 40)}
MPI3D_FILES = {"toy": "mpi3d_toy.npz", "realistic": "mpi3d_realistic.npz", "real": "mpi3d_real.npz"}


def mpi3d_grid(num_images: int, factor_sizes: tuple[int, ...] | None, source: str) -> tuple[int, ...]:
    """The factor sizes of a file of ``num_images``: inferred from the published grids, or ``factor_sizes`` checked.

    >>> mpi3d_grid(460800, None, "f")
    (4, 4, 2, 3, 3, 40, 40)
    >>> mpi3d_grid(12, (1, 2, 1, 1, 3, 2, 1), "f")
    (1, 2, 1, 1, 3, 2, 1)
    """
    if factor_sizes is None:
        if num_images not in MPI3D_GRIDS:
            grids = "; ".join(f"{n:,} images: {sizes}" for n, sizes in MPI3D_GRIDS.items())
            raise ValueError(f"{source}: {num_images:,} images match no published MPI3D grid ({grids}); give "
                             "factor_sizes=[7 sizes] for another grid")
        return MPI3D_GRIDS[num_images]
    sizes = tuple(int(s) for s in factor_sizes)
    if len(sizes) != len(MPI3D_FACTORS) or min(sizes) < 1:
        raise ValueError(f"factor_sizes must be {len(MPI3D_FACTORS)} positive sizes ({', '.join(MPI3D_FACTORS)}); "
                         f"got {tuple(factor_sizes)}")
    if math.prod(sizes) != num_images:
        raise ValueError(f"{source}: factor_sizes {sizes} make a grid of {math.prod(sizes):,} rows; the file has "
                         f"{num_images:,} images")
    return sizes


def _resolve(root: str | Path | None, variant: str) -> Path:
    check_choice("variant", variant, tuple(MPI3D_FILES))
    name = MPI3D_FILES[variant]
    if root is None:
        raise ValueError(f"mpi3d-{variant} needs root=PATH to {name} or its folder")
    p = Path(root).expanduser()
    return require_file(p / name if p.is_dir() else p, f"MPI3D {variant} file")


def check_mpi3d_file(path: str | Path) -> np.ndarray:
    """The ``images`` array of an MPI3D file (memory-mapped when stored), its header checked: (N, 64, 64, 3) uint8."""
    images = npz_array(path, "images")
    check_array(str(path), "images", images.shape, images.dtype, ndim=4, tail=(64, 64, 3))
    if images.dtype != np.uint8:
        raise ValueError(f"{path}: array 'images' has dtype {images.dtype}, expected uint8")
    return images


def load_mpi3d(root: str | Path | None, variant: str = "toy",
               factor_sizes: tuple[int, ...] | None = None) -> ArrayFactorData:
    """MPI3D ``variant`` (toy|realistic|real) from ``root``: 7 factors, observations (3, 64, 64)."""
    path = _resolve(root, variant)
    images = check_mpi3d_file(path)
    space = FactorSpace(mpi3d_grid(len(images), factor_sizes, str(path)), MPI3D_FACTORS)
    factors = space.indices_to_factors(np.arange(space.num_states))
    reopen = functools.partial(check_mpi3d_file, path) if isinstance(images, np.memmap) else None
    return ArrayFactorData(ChannelsLast(images, reopen), factors, space.factor_sizes, MPI3D_FACTORS, source=str(path))


def build_toy(root: str | Path | None, *, factor_sizes: tuple[int, ...] | None = None) -> ArrayFactorData:
    return load_mpi3d(root, "toy", factor_sizes)


def build_realistic(root: str | Path | None, *, factor_sizes: tuple[int, ...] | None = None) -> ArrayFactorData:
    return load_mpi3d(root, "realistic", factor_sizes)


def build_real(root: str | Path | None, *, factor_sizes: tuple[int, ...] | None = None) -> ArrayFactorData:
    return load_mpi3d(root, "real", factor_sizes)
