"""``dsprites``: dSprites (Matthey et al. 2017) from DeepMind's file or the two subsets.

Variants (option ``variant``; ``root`` is the file, or the folder holding it; without
``variant`` a file's name decides, and a folder means the official file):

- ``"official"``: ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` (keys ``imgs``
  (737280, 64, 64) uint8 in {0, 1}, ``latents_classes`` / ``latents_values`` (N, 6)).
  The colour factor has one value and is dropped, leaving 5 factors as in
  disentanglement_lib: shape 3, scale 6, orientation 40, posX 32, posY 32. The images
  are decompressed on first access (about 3 GB in memory).
- ``"downsampled"``: ``dsprites_downsampled.npz``, 46,080 images, the full grid
  3 x 6 x 10 x 16 x 16 (orientation and positions subsampled).
- ``"subset"``: ``dsprites_subset.npz``, 20,000 rows drawn at random from the 737,280.
  This is **not** a full grid: ``factor_data.is_full_grid`` is False, construction warns
  with :class:`~gwrep.data.factordata.NotAFullGridWarning`, and ``sample_factors``
  picks among the existing rows (so the sampled factors are not independent).
  MIG, DCI, SAP and Modularity work on it (they only need observations of sampled
  rows); the BetaVAE and FactorVAE metrics and ``gwrep data show`` fix one factor and
  vary the others, so they need a full grid and fail on the subset with "factor tuple
  ... is not present": use ``variant="downsampled"`` (or the official file) for them.

The subsets' factor sizes come from the ``*.metadata.json`` beside each file. Rows with
factor tuples missing from the grid of a given file raise ValueError on lookup.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gwrep.data.factordata import ArrayFactorData
from gwrep.data.files import check_array, npz_headers, read_npz, require_file
from gwrep.data.transforms import check_choice

__all__ = ["DSPRITES_FILES", "DSPRITES_FACTORS", "load_dsprites", "build_factor_data"]

DSPRITES_FILES = {"official": "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
                  "downsampled": "dsprites_downsampled.npz", "subset": "dsprites_subset.npz"}
DSPRITES_FACTORS = ("shape", "scale", "orientation", "posX", "posY")
_OFFICIAL_SIZES = (1, 3, 6, 40, 32, 32)


def _resolve(root: str | Path | None, variant: str | None) -> tuple[Path, str]:
    """The file and its variant: a file's variant is read from its name unless given; a folder's defaults to official."""
    if root is None:
        raise ValueError(f"dsprites needs root=PATH to one of {', '.join(DSPRITES_FILES.values())} or its folder")
    p = Path(root).expanduser()
    if not p.exists():  # say what was given, not a file name appended to it
        what = "dSprites file" if p.suffix == ".npz" else "dSprites path (an .npz file or the folder holding it)"
        raise FileNotFoundError(f"{what} not found: {p}")
    if p.is_file():
        by_name = {name: v for v, name in DSPRITES_FILES.items()}
        return p, variant or by_name.get(p.name, "official")
    variant = variant or "official"
    check_choice("variant", variant, tuple(DSPRITES_FILES))
    path = p / DSPRITES_FILES[variant]
    if p.is_dir() and not path.is_file():
        present = [f"{name} (variant={v!r})" for v, name in DSPRITES_FILES.items() if (p / name).is_file()]
        hint = f"; the folder has {', '.join(present)}" if present else ""
        raise FileNotFoundError(f"dSprites {variant} file not found: {path}{hint}")
    return require_file(path, f"dSprites {variant} file"), variant


def _metadata_sizes(path: Path) -> tuple[int, ...]:
    meta = path.with_name(path.name.replace(".npz", ".metadata.json"))
    if not meta.is_file():
        raise FileNotFoundError(f"{path}: factor sizes need the metadata file {meta}")
    try:
        info = json.loads(meta.read_text())
        names, sizes = tuple(info["latents_names"]), tuple(int(s) for s in info["latents_sizes"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{meta}: not a dSprites metadata file ({type(err).__name__}: {err})") from None
    if names != DSPRITES_FACTORS:
        raise ValueError(f"{meta}: expected factors {DSPRITES_FACTORS}, found {names}")
    return sizes


def load_dsprites(root: str | Path | None, variant: str | None = None) -> ArrayFactorData:
    """The dSprites ``variant`` as an :class:`ArrayFactorData` with 5 factors (see the module docstring).

    ``variant`` None: from the file name when ``root`` is a file, else "official".
    """
    if variant is not None:
        check_choice("variant", variant, tuple(DSPRITES_FILES))
    path, variant = _resolve(root, variant)
    heads = npz_headers(path, required=("imgs", "latents_classes"))
    (shape, dtype), (cshape, cdtype) = heads["imgs"], heads["latents_classes"]
    check_array(str(path), "imgs", shape, dtype, ndim=3, tail=(64, 64), kinds="u")
    ncols = 6 if variant == "official" else 5
    check_array(str(path), "latents_classes", cshape, cdtype, ndim=2, tail=(ncols,), kinds="iu")
    if cshape[0] != shape[0]:
        raise ValueError(f"{path}: {cshape[0]} factor rows for {shape[0]} images")
    arrays = read_npz(path, ("imgs", "latents_classes"))
    classes = arrays["latents_classes"]
    if variant == "official":
        if classes.size and classes[:, 0].max() != 0:
            raise ValueError(f"{path}: the colour factor (column 0) must be 0, found {classes[:, 0].max()}")
        classes, sizes = classes[:, 1:], _OFFICIAL_SIZES[1:]
    else:
        sizes = _metadata_sizes(path)
    imgs = arrays["imgs"]
    if imgs.size and imgs.max() > 1:
        raise ValueError(f"{path}: dSprites images must be 0/1, found value {imgs.max()}")
    return ArrayFactorData(imgs, classes, sizes, DSPRITES_FACTORS, scale=1.0, source=str(path),
                           full_grid_hint="; use variant=downsampled (the full 3x6x10x16x16 grid) for those")


def build_factor_data(root: str | Path | None, *, variant: str | None = None) -> ArrayFactorData:
    return load_dsprites(root, variant)
