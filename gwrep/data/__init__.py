"""Data sets: factor sets with known ground truth and image sets, behind one entry point.

``gwrep.data.load(name, root=None, split="train", **options)`` returns a torch
``Dataset`` (``ds[i] -> (image float32 (C,H,W) in [0,1], target int64)``, ``ds.image_shape``,
and ``ds.factor_data`` for factor sets); ``gwrep.data.load_factor_data(name, root=None,
**options)`` returns a :class:`FactorData` for the disentanglement metrics. Names:
``shapes2d``, ``shapes3d`` (procedural, no root), ``dsprites``, ``shapes3d-h5``, the study's
``color-dsprites``, ``noisy-dsprites``, ``scream-dsprites`` (procedural, or over the dSprites
file given a root), ``smallnorb``, ``cars3d``, ``mpi3d-toy``, ``mpi3d-realistic``, ``mpi3d-real``,
``mnist``, ``omniglot``, ``celeba``, ``folder``, and the clip (video) sets ``sprite-clips`` (procedural)
and ``lpc-sprites`` (Li & Mandt's Sprites arrays), whose items are clips (T, C, H, W) with
static and dynamic factors (:mod:`gwrep.data.clips`). Options and protocols: :mod:`gwrep.data.catalog`.

Folder convention: one module per source (``shapes2d.py``, ``mnist.py``, ...) defining a
builder registered in ``catalog.DATASETS``; shared parts in ``space.py`` (index <->
factors), ``factordata.py`` (factor set classes), ``views.py`` (torch views and splits),
``transforms.py`` (resize, channels, polarity), ``files.py`` (safe reading, checksums),
``binary.py`` (size-checked NORB, npz and MAT readers), ``nuisance.py`` (per-image nuisances)
and ``verify.py`` (``gwrep data verify``: checksums and headers).
"""
from gwrep.data.base import FactorData
from gwrep.data.catalog import DATASETS, PROTOCOLS, dataset_names, dataset_root, load, load_factor_data
from gwrep.data.factordata import ArrayFactorData, DummyFactorData, GridFactorData, IndexedFactorData, \
    NotAFullGridWarning, TransformedFactorData
from gwrep.data.nuisance import NuisanceFactorData
from gwrep.data.space import FactorSpace

__all__ = ["load", "load_factor_data", "dataset_root", "dataset_names", "DATASETS", "PROTOCOLS", "FactorData",
           "FactorSpace", "IndexedFactorData", "GridFactorData", "ArrayFactorData", "DummyFactorData",
           "TransformedFactorData", "NotAFullGridWarning", "NuisanceFactorData"]
