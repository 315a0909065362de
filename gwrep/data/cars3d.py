"""``cars3d``: Cars3D (Reed et al. 2015, "Deep Visual Analogy-Making") from the official ``.mat`` files.

``root`` is the folder of the 183 ``car_*_mesh.mat`` files (``data/cars/`` of
``nips2015-analogy-data.tar.gz``, http://www.scottreed.info/). Each is a MATLAB v5 file
whose variable ``im`` is uint8 (128, 128, 3, 24, 4): an RGB image per azimuth (24) and
elevation (4). As disentanglement_lib's ``data/ground_truth/cars3d.py``: the factors are
elevation 4, azimuth 24, object 183 (the file's position among the ``.mat`` files, here in
sorted name order; dlib takes the directory listing's order), each image is fitted to
64x64 with PIL's Lanczos filter (dlib's ``thumbnail(..., ANTIALIAS)``: a plain resize for
square images) and scaled by 1/255; rows are the grid in row-major order
(elevation, azimuth, object). The folder must hold ``num_objects`` files (default the
official 183; ``None`` takes however many there are). Images of another square size are
resized to 64 the same way. No checksums of these files are published; ``gwrep data
verify`` checks each file's ``im`` header.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gwrep.data.binary import mat_capacity
from gwrep.data.factordata import ArrayFactorData
from gwrep.data.files import require_dir
from gwrep.data.space import FactorSpace

__all__ = ["CARS3D_FACTORS", "CARS3D_OBJECTS", "car_files", "check_car_file", "read_car", "load_cars3d",
           "build_factor_data"]

CARS3D_FACTORS = ("elevation", "azimuth", "object")
CARS3D_OBJECTS = 183
_ELEVATIONS, _AZIMUTHS, _SIZE = 4, 24, 64

#: What scipy.io raises on unreadable .mat files (MatReadError is a ValueError subclass; zlib errors, struct errors...).
_MAT_ERRORS = (ValueError, OSError, EOFError, TypeError, KeyError, NotImplementedError, IndexError, OverflowError)


def car_files(folder: str | Path) -> list[Path]:
    """The ``.mat`` files of a Cars3D folder, sorted by name (an object's class is its position here)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix == ".mat" and p.is_file())


def check_car_file(path: str | Path) -> tuple[int, ...]:
    """The shape of ``im`` in a Cars3D file, checked from headers only: (S, S, 3, 24, 4) uint8 that the file can hold."""
    import scipy.io

    p = Path(path)
    capacity = mat_capacity(p)
    try:
        variables = {name: (tuple(shape), kind) for name, shape, kind in scipy.io.whosmat(p)}
    except _MAT_ERRORS as err:
        raise ValueError(f"{p}: not a readable MATLAB .mat file ({type(err).__name__}: {err})") from None
    if "im" not in variables:
        raise ValueError(f"{p}: missing variable 'im'; found {sorted(variables)}")
    shape, kind = variables["im"]
    if len(shape) != 5 or shape[2:] != (3, _AZIMUTHS, _ELEVATIONS) or shape[0] != shape[1] or kind != "uint8":
        raise ValueError(f"{p}: wrong shape: 'im' is {kind} {shape}; expected uint8 (S, S, 3, {_AZIMUTHS}, "
                         f"{_ELEVATIONS}) (official: S = 128)")
    if math.prod(shape) > capacity:
        raise ValueError(f"{p}: the declared size does not fit the file: 'im' {shape} is {math.prod(shape):,} bytes, "
                         f"the file's elements hold at most {capacity:,}")
    return shape


def read_car(path: str | Path) -> np.ndarray:
    """One car's images fitted to 64x64: uint8 (4 elevations, 24 azimuths, 3, 64, 64)."""
    import scipy.io
    from PIL import Image

    p = Path(path)
    check_car_file(p)
    try:
        im = scipy.io.loadmat(p, variable_names=["im"])["im"]
    except _MAT_ERRORS as err:
        raise ValueError(f"{p}: corrupt or truncated .mat file ({type(err).__name__}: {err})") from None
    out = np.empty((_ELEVATIONS, _AZIMUTHS, 3, _SIZE, _SIZE), dtype=np.uint8)
    for e in range(_ELEVATIONS):
        for a in range(_AZIMUTHS):
            img = Image.fromarray(np.ascontiguousarray(im[:, :, :, a, e]))
            out[e, a] = np.asarray(img.resize((_SIZE, _SIZE), Image.LANCZOS)).transpose(2, 0, 1)
    return out


def load_cars3d(root: str | Path | None, num_objects: int | None = CARS3D_OBJECTS) -> ArrayFactorData:
    """Cars3D from the folder ``root``: 3 factors, observations (3, 64, 64); see the module docstring."""
    if root is None:
        raise ValueError("cars3d needs root=PATH: the folder of the car_*_mesh.mat files")
    folder = require_dir(root, "Cars3D folder")
    files = car_files(folder)
    if not files or (num_objects is not None and len(files) != num_objects):
        expected = "at least one" if num_objects is None else str(num_objects)
        raise ValueError(f"{folder}: {len(files)} .mat files, expected {expected} (the official set has "
                         f"{CARS3D_OBJECTS} car_*_mesh.mat; num_objects=N accepts another count, None any)")
    for path in files:  # every header before any image is decoded
        check_car_file(path)
    n = len(files)
    images = np.empty((_ELEVATIONS, _AZIMUTHS, n, 3, _SIZE, _SIZE), dtype=np.uint8)
    for obj, path in enumerate(files):
        images[:, :, obj] = read_car(path)
    space = FactorSpace((_ELEVATIONS, _AZIMUTHS, n), CARS3D_FACTORS)
    factors = space.indices_to_factors(np.arange(space.num_states))
    return ArrayFactorData(images.reshape(-1, 3, _SIZE, _SIZE), factors, space.factor_sizes, CARS3D_FACTORS,
                           source=str(folder))


def build_factor_data(root: str | Path | None, *, num_objects: int | None = CARS3D_OBJECTS) -> ArrayFactorData:
    return load_cars3d(root, num_objects)
