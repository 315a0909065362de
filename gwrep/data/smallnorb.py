"""``smallnorb``: SmallNORB (LeCun, Huang & Bottou 2004) from the official binary files, as disentanglement_lib.

``root`` is the folder holding the six decompressed files of
https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/ (``gunzip`` the downloaded ``.gz``):
``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and
``smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat``. Each is a NORB binary
matrix (:func:`gwrep.data.binary.read_norb_matrix`): ``dat`` bytes (N, 2, 96, 96) (a stereo
pair per row), ``cat`` int32 (N,) the category 0..4, ``info`` int32 (N, 4): instance 0..9,
elevation 0..8, azimuth 0, 2, ..., 34, lighting 0..5.

As dlib's ``data/ground_truth/norb.py``: both files are read (48,600 rows), the left image
of each pair is resized to 64x64 with PIL's Lanczos filter (``ANTIALIAS``) and scaled by
1/255, the azimuth is halved to 0..17, and the factors are category 5, elevation 9,
azimuth 18, lighting 6. The toy instance (10 per category) is a nuisance: the observation
of a factor tuple is one of its rows picked uniformly at random
(:class:`~gwrep.data.nuisance.NuisanceFactorData`), and a row's target leaves it out.
Files with other image sizes (tests write small ones) are resized to 64 the same way.

One difference: dlib's reader maps the byte-matrix magic number to int8 (the format page
says unsigned bytes), and PIL (13.0, checked here) then resizes in 32-bit mode without
clipping, so dlib's images can leave [0, 1] by the Lanczos overshoot (a 0/255 step resized
96 -> 64 gives -0.012 .. 1.012). Here the bytes are read as uint8 and resized as 8-bit
images (clipped to [0, 255]), so observations stay in [0, 1] as every gwrep data set's do.

No checksums of these files are published; ``gwrep data verify`` checks their headers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gwrep.data.binary import read_norb_matrix
from gwrep.data.factordata import ArrayFactorData
from gwrep.data.files import require_dir
from gwrep.data.nuisance import NuisanceFactorData

__all__ = ["SMALLNORB_CHUNKS", "SMALLNORB_FACTORS", "SMALLNORB_ALL_FACTORS", "SMALLNORB_SIZES", "smallnorb_file",
           "read_chunk", "load_smallnorb", "build_factor_data", "check_norb_file"]

SMALLNORB_CHUNKS = ("5x46789x9x18x6x2x96x96-training", "5x01235x9x18x6x2x96x96-testing")
#: All stored factors (the instance is the nuisance) and their sizes, in dlib's column order.
SMALLNORB_ALL_FACTORS = ("category", "instance", "elevation", "azimuth", "lighting")
SMALLNORB_SIZES = (5, 10, 9, 18, 6)
SMALLNORB_FACTORS = ("category", "elevation", "azimuth", "lighting")
_LATENT = (0, 2, 3, 4)
_PARTS = {"dat": ("u1", 4), "cat": ("<i4", 1), "info": ("<i4", 2)}


def smallnorb_file(folder: str | Path, chunk: str, part: str) -> Path:
    """Path of ``smallnorb-<chunk>-<part>.mat`` in ``folder``."""
    return Path(folder) / f"smallnorb-{chunk}-{part}.mat"


def _check_dat(shape: tuple[int, ...]) -> str | None:
    if shape[1] != 2 or shape[2] != shape[3] or shape[2] < 1:
        return "expected (N, 2, S, S): a stereo pair of square images per row (official: S = 96)"
    return None


def _check_info(shape: tuple[int, ...]) -> str | None:
    return None if shape[1] == 4 else "expected (N, 4): instance, elevation, azimuth, lighting"


_CHECKS = {"dat": _check_dat, "cat": None, "info": _check_info}


def check_norb_file(path: str | Path) -> np.ndarray:
    """The matrix of a SmallNORB file, its type and shape checked by its ``-dat``/``-cat``/``-info`` suffix."""
    part = Path(path).stem.rsplit("-", 1)[-1]
    if part not in _PARTS:
        raise ValueError(f"{path}: not a SmallNORB file name (expected ...-dat.mat, -cat.mat or -info.mat)")
    dtype, ndim = _PARTS[part]
    return read_norb_matrix(path, dtype, ndim, _CHECKS[part])


def _resize(images: np.ndarray, size: int = 64, batch: int = 4096) -> np.ndarray:
    """uint8 (N, S, S) -> uint8 (N, size, size) with PIL's Lanczos filter (dlib's ``ANTIALIAS``), read in batches."""
    from PIL import Image

    out = np.empty((len(images), size, size), dtype=np.uint8)
    for start in range(0, len(images), batch):
        block = np.ascontiguousarray(images[start:start + batch])
        for k, img in enumerate(block):
            out[start + k] = np.asarray(Image.fromarray(img).resize((size, size), Image.LANCZOS))
    return out


def read_chunk(folder: str | Path, chunk: str) -> tuple[np.ndarray, np.ndarray]:
    """Left images resized to 64x64, uint8 (N, 64, 64), and factors int64 (N, 5) of one chunk's three files."""
    dat, cat, info = (check_norb_file(smallnorb_file(folder, chunk, part)) for part in ("dat", "cat", "info"))
    if not len(dat) == len(cat) == len(info):
        raise ValueError(f"{smallnorb_file(folder, chunk, 'dat').parent}: the {chunk} files disagree on the row count: "
                         f"dat {len(dat)}, cat {len(cat)}, info {len(info)}")
    factors = np.column_stack([cat, info]).astype(np.int64)
    path = {0: smallnorb_file(folder, chunk, "cat"), **{k: smallnorb_file(folder, chunk, "info") for k in range(1, 5)}}
    for k, (name, size) in enumerate(zip(SMALLNORB_ALL_FACTORS, SMALLNORB_SIZES)):
        col = factors[:, k]
        limit = 2 * size if name == "azimuth" else size
        bad = (col < 0) | (col >= limit) | ((col % 2 != 0) if name == "azimuth" else False)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            allowed = f"0, 2, ..., {limit - 2}" if name == "azimuth" else f"0..{size - 1}"
            raise ValueError(f"{path[k]}: {name} of row {row} is {int(col[row])}, not one of {allowed}")
    factors[:, 3] //= 2  # dlib: azimuth values are 0, 2, ..., 34 -> classes 0..17
    return _resize(dat[:, 0]), factors


def load_smallnorb(root: str | Path | None) -> NuisanceFactorData:
    """SmallNORB from the folder ``root`` (both chunks), 4 factors, observations (1, 64, 64); see the module docstring."""
    if root is None:
        raise ValueError("smallnorb needs root=PATH: the folder of the six decompressed smallnorb-*.mat files")
    folder = require_dir(root, "SmallNORB folder")
    missing = [smallnorb_file(folder, c, p).name for c in SMALLNORB_CHUNKS for p in _PARTS
               if not smallnorb_file(folder, c, p).is_file()]
    if missing:
        gz = [name for name in missing if (folder / f"{name}.gz").is_file()]
        hint = f" ({len(gz)} of them are there gzipped: gunzip them)" if gz else ""
        raise FileNotFoundError(f"SmallNORB files not found in {folder}: {', '.join(missing)}{hint}")
    chunks = [read_chunk(folder, chunk) for chunk in SMALLNORB_CHUNKS]
    images = np.concatenate([c[0] for c in chunks])
    factors = np.concatenate([c[1] for c in chunks])
    base = ArrayFactorData(images, factors, SMALLNORB_SIZES, SMALLNORB_ALL_FACTORS, source=str(folder), warn=False)
    return NuisanceFactorData(base, _LATENT, full_grid_hint="; the official files (48,600 rows) are the full grid")


def build_factor_data(root: str | Path | None) -> NuisanceFactorData:
    return load_smallnorb(root)
