"""``shapes3d-h5``: DeepMind's 3D Shapes (Burgess & Kim 2018) from ``3dshapes.h5``, read lazily.

The file has ``images`` (N, 64, 64, 3) uint8 and ``labels`` (N, 6) float: floor hue, wall
hue, object hue, scale, shape, orientation, with the values of
:data:`~gwrep.data.shapes3d.SHAPES3D_VALUES`; the official file is the full grid of
480,000 in row-major order. Labels (23 MB) are read and mapped to classes at once
(a value not on the grid -> ValueError naming the file, row and factor), after the sizes
both datasets declare are checked against the bytes the file stores for them (a tiny file
declaring 2e8 images is refused, not allocated); images are read
from disk per batch (sorted, de-duplicated h5py reads). The h5 file is opened per
process, so DataLoader workers may fork safely. A smaller file with the same layout
(e.g. a test grid) loads too; if it is not the full grid, factors are sampled among its rows.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gwrep.data.factordata import ArrayFactorData
from gwrep.data.files import check_array, check_declared_size, require_file
from gwrep.data.shapes3d import Shapes3D, SHAPES3D_VALUES

__all__ = ["H5Images", "load_shapes3d_h5", "build_factor_data", "values_to_classes"]

H5_NAME = "3dshapes.h5"


#: What h5py raises on missing, truncated or corrupt files.
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError)


class H5Images:
    """Array-like view (N, 3, 64, 64) uint8 of an h5 ``images`` dataset (N, 64, 64, 3), opened per process."""

    ndim = 4
    dtype = np.dtype(np.uint8)

    def __init__(self, path: Path, key: str = "images") -> None:
        self.path, self.key = path, key
        self._pid, self._file = None, None
        n, h, w, c = self._dataset().shape
        self.shape = (n, c, h, w)

    def _dataset(self):
        import h5py

        if self._pid != os.getpid():
            try:
                self._file, self._pid = h5py.File(self.path, "r"), os.getpid()
            except _H5_ERRORS as err:
                raise ValueError(f"{self.path}: not a readable HDF5 file ({type(err).__name__}: {err})") from None
        return self._file[self.key]

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_pid": None, "_file": None}

    def __getitem__(self, rows) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        unique, inverse = np.unique(rows, return_inverse=True)
        try:
            block = self._dataset()[unique] if len(unique) else np.zeros((0, *self.shape[2:], 3), np.uint8)
        except _H5_ERRORS as err:
            raise ValueError(f"{self.path}: cannot read images ({type(err).__name__}: {err})") from None
        return block[inverse.reshape(-1)].transpose(0, 3, 1, 2)


def values_to_classes(labels: np.ndarray, source: str) -> np.ndarray:
    """Factor classes (N, 6) of 3D Shapes label values (N, 6); ValueError for values off the grid."""
    classes = np.empty(labels.shape, dtype=np.int64)
    for k, (name, values) in enumerate(SHAPES3D_VALUES.items()):
        col = labels[:, k]
        idx = np.clip(np.searchsorted(values, col), 1, len(values) - 1)
        idx -= np.abs(col - values[idx - 1]) < np.abs(col - values[idx])
        err = np.abs(values[idx] - col)
        tol = 1e-3 * (values[1] - values[0])
        if len(col) and (not np.all(np.isfinite(col)) or err.max() > tol):
            row = int(np.flatnonzero(~(err <= tol))[0])
            raise ValueError(f"{source}: label {name!r} of row {row} is {float(col[row])!r}, not one of the "
                             f"{len(values)} values in [{values[0]:g}, {values[-1]:g}]")
        classes[:, k] = idx
    return classes


def load_shapes3d_h5(root: str | Path | None) -> ArrayFactorData:
    """3D Shapes from ``root`` (the .h5 file or its folder) as an :class:`ArrayFactorData`."""
    import h5py

    if root is None:
        raise ValueError(f"shapes3d-h5 needs root=PATH to {H5_NAME} or its folder")
    p = Path(root).expanduser()
    path = require_file(p / H5_NAME if p.is_dir() else p, "3D Shapes file")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("images", "labels") if k not in f]
            if missing:
                raise ValueError(f"{path}: missing dataset(s) {missing}; found {sorted(f.keys())}")
            ishape, idtype = f["images"].shape, f["images"].dtype
            check_array(str(path), "labels", f["labels"].shape, f["labels"].dtype, kinds="iuf")
            for key in ("images", "labels"):  # before reading: a tiny file may declare 2e8 images
                check_declared_size(str(path), key, f[key].shape, f[key].dtype, f[key].id.get_storage_size())
            labels = np.asarray(f["labels"][()], dtype=np.float64)
    except _H5_ERRORS as err:
        if isinstance(err, ValueError) and str(err).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable HDF5 file ({type(err).__name__}: {err})") from None
    if len(ishape) != 4 or ishape[1:] != (64, 64, 3) or idtype != np.uint8:
        raise ValueError(f"{path}: 'images' must be (N, 64, 64, 3) uint8, got {ishape} {idtype}")
    if labels.shape != (ishape[0], 6):
        raise ValueError(f"{path}: 'labels' must be ({ishape[0]}, 6), got {labels.shape}")
    classes = values_to_classes(labels, str(path))
    return ArrayFactorData(H5Images(path), classes, Shapes3D.factor_sizes, Shapes3D.factor_names, source=str(path),
                           full_grid_hint=f"; the official {H5_NAME} (480,000 rows) is the full grid")


def build_factor_data(root: str | Path | None) -> ArrayFactorData:
    return load_shapes3d_h5(root)
