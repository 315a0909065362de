"""The data-set catalogue behind :func:`gwrep.data.load` and :func:`gwrep.data.load_factor_data`.

Each name maps to a builder (imported lazily) and its default image options. Common
options, handled here for every set: ``image_size`` (28 or 64), ``channels`` (1 or 3),
``seed`` (of the split permutation; default 0, keep it fixed to compare runs) and
``protocol``:

- ``protocol="gwae"``: the GWAE authors' setting, every image 64x64x3 in [0, 1]
  (MNIST resized 28->64 and copied to 3 channels with a 90/10 train/val split;
  Omniglot 105->64, not inverted, its evaluation alphabets (``split="test"``) the OoD
  set; CelebA centre crop 144 then 64; factor sets split 80/10/10).
- ``protocol="clean"``: MNIST and Omniglot 28x28 gray with Omniglot inverted to
  MNIST's polarity (bright strokes on black); other sets at their defaults.

Explicit options override the protocol, which overrides the set's defaults. Set-specific
options (``polarity``, ``variant``, ``crop``, ``labels``) go to the builder; an unknown
option raises ValueError listing the allowed ones.

Factor sets (``shapes2d``, ``shapes3d``, ``dsprites``, ``shapes3d-h5``, the dSprites
variants, ``smallnorb``, ``cars3d``, ``mpi3d-*``) split their rows into a seeded 80/10/10
train/val/test partition, or ``split="all"`` for every row; the view's ``factor_data`` is
the whole set at the view's image shape, for the metrics.

Roots: a set needs files (``root``), takes none (procedural), or takes them optionally:
``color-dsprites``, ``noisy-dsprites`` and ``scream-dsprites`` paint over the procedural
``shapes2d`` without a root and over the dSprites file at ``root`` with one (the names of
Locatello et al.'s study, whichever dSprites is used). :func:`dataset_root` finds a set's
folder in a data folder by its name or the folder names of ``DataEntry.folders``
(disentanglement_lib's layout: ``dsprites/``, ``small_norb/``, ``cars/``, ``mpi3d_toy/``).
"""
from __future__ import annotations

import importlib
import inspect
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from gwrep.data.transforms import ImageTransform

__all__ = ["DataEntry", "DATASETS", "PROTOCOLS", "COMMON_OPTIONS", "load", "load_factor_data", "dataset_names",
           "dataset_root", "effective_options"]


@dataclass(frozen=True)
class DataEntry:
    """One data set: its builder ``module:function``, whether it has factors, needs a root, and defaults.

    ``root_optional``: procedural without a root, the files at the root with one (the builder
    takes ``root`` first, None or a path). ``folders``: other names of the set's folder in a
    data folder, after its own name (:func:`dataset_root`).
    """

    target: str
    summary: str
    factors: bool = False
    needs_root: bool = True
    defaults: dict[str, Any] = field(default_factory=dict)
    root_optional: bool = False
    folders: tuple[str, ...] = ()

    @property
    def root_use(self) -> str:
        """Whether the set takes files: one of "needed", "optional", "none" (``gwrep data list``)."""
        return "needed" if self.needs_root else "optional" if self.root_optional else "none"

    def builder(self) -> Callable:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


DATASETS: dict[str, DataEntry] = {
    "shapes2d": DataEntry("gwrep.data.shapes2d:Shapes2D", "procedural dSprites: 5 factors, 64x64 binary",
                          factors=True, needs_root=False),
    "shapes3d": DataEntry("gwrep.data.shapes3d:Shapes3D", "procedural 3D Shapes: 6 factors, 64x64 RGB",
                          factors=True, needs_root=False),
    "dsprites": DataEntry("gwrep.data.dsprites:build_factor_data",
                          "dSprites from DeepMind's npz or the subsets (variant=official|downsampled|subset)",
                          factors=True),
    "shapes3d-h5": DataEntry("gwrep.data.shapes3d_h5:build_factor_data", "DeepMind's 3dshapes.h5, read lazily",
                             factors=True),
    "color-dsprites": DataEntry("gwrep.data.dsprites_variants:build_color_dsprites",
                                "Color-dSprites: the shape in a random colour per image (shapes2d; the dSprites "
                                "file with a root)", factors=True, needs_root=False, root_optional=True,
                                folders=("dsprites",)),
    "noisy-dsprites": DataEntry("gwrep.data.dsprites_variants:build_noisy_dsprites",
                                "Noisy-dSprites: a white shape on uniform noise (shapes2d; the dSprites file with a "
                                "root)", factors=True, needs_root=False, root_optional=True, folders=("dsprites",)),
    "scream-dsprites": DataEntry("gwrep.data.dsprites_variants:build_scream_dsprites",
                                 "Scream-dSprites: the shape inverted on a painting's patch (background=PATH, default "
                                 "a procedural texture)", factors=True, needs_root=False, root_optional=True,
                                 folders=("dsprites",)),
    "smallnorb": DataEntry("gwrep.data.smallnorb:build_factor_data",
                           "SmallNORB's six binary .mat files: 4 factors (instance a nuisance), 64x64 gray",
                           factors=True, folders=("small_norb",)),
    "cars3d": DataEntry("gwrep.data.cars3d:build_factor_data",
                        "Cars3D's car_*_mesh.mat files: elevation, azimuth, object; 64x64 RGB", factors=True,
                        folders=("cars",)),
    "mpi3d-toy": DataEntry("gwrep.data.mpi3d:build_toy", "MPI3D toy (mpi3d_toy.npz): 7 factors, 64x64 RGB",
                           factors=True, folders=("mpi3d_toy", "mpi3d")),
    "mpi3d-realistic": DataEntry("gwrep.data.mpi3d:build_realistic",
                                 "MPI3D realistic (mpi3d_realistic.npz): 7 factors, 64x64 RGB", factors=True,
                                 folders=("mpi3d_realistic", "mpi3d")),
    "mpi3d-real": DataEntry("gwrep.data.mpi3d:build_real", "MPI3D real (mpi3d_real.npz): 7 factors, 64x64 RGB",
                            factors=True, folders=("mpi3d_real", "mpi3d")),
    "sprite-clips": DataEntry("gwrep.data.sprites:SpriteClips",
                              "procedural sprite videos: 8 frames 64x64 RGB, 3 static + 2 dynamic factors",
                              factors=True, needs_root=False),
    "lpc-sprites": DataEntry("gwrep.data.sprites:build_lpc_sprites",
                             "Li & Mandt's Sprites videos from the released .npy arrays (ROOT/npy)", factors=True),
    "mnist": DataEntry("gwrep.data.mnist:build_dataset", "MNIST from the four IDX files; labels",
                       defaults={"image_size": 28}),
    "omniglot": DataEntry("gwrep.data.omniglot:build_dataset",
                          "Omniglot from the npz files or PNG folders (polarity=original|mnist); labels",
                          defaults={"image_size": 28}),
    "celeba": DataEntry("gwrep.data.images:build_celeba", "CelebA aligned JPEGs, centre crop 144/178, 64x64",
                        defaults={"image_size": 64}),
    "folder": DataEntry("gwrep.data.images:build_folder", "any folder of images (crop=None|square|PX)",
                        defaults={"image_size": 64}),
}

PROTOCOLS: dict[str, dict[str, dict[str, Any]]] = {
    "gwae": {name: {"image_size": 64, "channels": 3, **({"polarity": "original"} if name == "omniglot" else {})}
             for name in DATASETS},
    "clean": {"mnist": {"image_size": 28, "channels": 1},
              "omniglot": {"image_size": 28, "channels": 1, "polarity": "mnist"}},
}
COMMON_OPTIONS = ("image_size", "channels", "seed", "protocol")


def dataset_names() -> list[str]:
    return list(DATASETS)


def _entry(name: str) -> DataEntry:
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known data sets: {', '.join(DATASETS)}")
    return DATASETS[name]


def _merged(name: str, options: dict[str, Any]) -> tuple[DataEntry, dict[str, Any], dict[str, Any]]:
    """Entry, the options after the set's defaults and the protocol (typed and checked), and the builder's
    keyword defaults."""
    entry = _entry(name)
    protocol = options.pop("protocol", None)
    if protocol is not None and protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be None or one of {', '.join(map(repr, PROTOCOLS))}; got {protocol!r}")
    merged = {**entry.defaults, **(PROTOCOLS[protocol].get(name, {}) if protocol else {}), **options}
    builder = entry.builder()
    params = inspect.signature(builder.__init__ if inspect.isclass(builder) else builder).parameters
    specific = [p for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(merged) - set(COMMON_OPTIONS) - {p.name for p in specific})
    if unknown:
        allowed = ", ".join(list(COMMON_OPTIONS) + [p.name for p in specific])
        raise ValueError(f"unknown option(s) {unknown} for data set {name!r}; allowed: {allowed}")
    defaults = {p.name: p.default for p in specific if p.default is not inspect.Parameter.empty}
    return entry, _typed_options(builder, merged), defaults  # seed: an int (a bool or no-int text is refused)


def _resolve(name: str, options: dict[str, Any]) -> tuple[DataEntry, ImageTransform, int, dict[str, Any]]:
    """Entry, transform, seed and builder-specific options after protocol and defaults."""
    entry, merged, _ = _merged(name, options)
    seed = merged.pop("seed", 0)
    transform = ImageTransform(merged.pop("image_size", None), merged.pop("channels", None))
    return entry, transform, seed, merged


def effective_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Every option data set ``name`` is loaded with under ``options``, typed: the builder's keyword
    defaults, ``seed`` 0, the set's defaults, the protocol's, then ``options``. ``protocol`` itself is
    expanded and left out, so two option dicts that load the same images give the same result.

    >>> effective_options("mnist", {"protocol": "clean"}) == effective_options("mnist", {"channels": "1"})
    True
    """
    _, merged, defaults = _merged(name, dict(options))
    return {"seed": 0, "image_size": None, "channels": None, **defaults, **merged}


#: Declared types of the options every data set takes (the builders declare their own).
_COMMON_TYPES: dict[str, Any] = {"image_size": int | None, "channels": int | None, "seed": int}


def _typed_options(builder: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` parsed by their declared types (bools from yes/no, ints from "28"), as model options are.

    A value of the wrong type is one ``ValueError`` naming the option (issue 13: ``image_size: "28"``
    from a YAML file is 28; ``"big"`` is refused, naming ``image_size``).
    """
    from gwrep.config import coerce_option

    hints = typing.get_type_hints(builder.__init__ if inspect.isclass(builder) else builder)
    declared = {**hints, **_COMMON_TYPES}
    return {key: coerce_option(key, value, declared.get(key, Any)) for key, value in options.items()}


def dataset_root(folder: str | Path | None, name: str) -> str | None:
    """The files folder of data set ``name`` given a data folder (``--data-root``).

    ``folder/name`` when that is a folder (a data folder with one subfolder per set, like
    the shared data folder), else the first ``folder/F`` that is a folder for F in the set's
    ``DataEntry.folders`` (``color-dsprites`` -> ``dsprites/``), else ``folder`` itself (the
    set's own files); None for procedural sets, which take no root. The loader names the path
    when files are missing.
    """
    entry = DATASETS.get(name)
    if folder is None or (entry is not None and entry.root_use == "none"):
        return None
    for candidate in (name, *(entry.folders if entry is not None else ())):
        if (Path(folder) / candidate).is_dir():
            return str(Path(folder) / candidate)
    return str(folder)


def _root(entry: DataEntry, name: str, root: str | Path | None) -> str | Path | None:
    if root is None and entry.needs_root:
        raise ValueError(f"data set {name!r} needs root=PATH (see 'gwrep data list')")
    if root is not None and entry.root_use == "none":
        raise ValueError(f"data set {name!r} is procedural and takes no root (got {root!r})")
    return root


def _factor_data(entry: DataEntry, name: str, root, specific: dict[str, Any]):
    builder = entry.builder()
    if entry.root_use == "none":
        return builder(**specific)
    return builder(_root(entry, name, root), **specific)


def load(name: str, root: str | Path | None = None, split: str = "train", **options: Any):
    """The data set ``name`` as a torch ``Dataset``: ``ds[i] -> (image (C,H,W) float32 in [0,1], target int64)``.

    See the module docstring for names, splits, options and protocols. Factor sets carry
    ``ds.factor_data``; every set has ``ds.image_shape``.

    >>> ds = load("shapes2d", split="val", image_size=28)
    >>> len(ds), ds.image_shape, ds[0][1].tolist() == ds.factor_data.row_factors(ds.rows[:1])[0].tolist()
    (73728, (1, 28, 28), True)
    """
    entry, transform, seed, specific = _resolve(name, dict(options))
    _root(entry, name, root)
    if entry.factors:
        from gwrep.data.views import FactorDataset, split_rows

        from gwrep.data.clips import ClipDataset, is_clip_data

        data = _factor_data(entry, name, root, specific)
        view = ClipDataset if is_clip_data(data) else FactorDataset  # clip sets: ds[i] -> (clip (T,C,H,W), factors)
        return view(data, split_rows(data.num_rows, split, seed), transform)
    return entry.builder()(root, split, transform, seed, **specific)


def load_factor_data(name: str, root: str | Path | None = None, **options: Any):
    """The factor data set ``name`` (a :class:`~gwrep.data.base.FactorData`) at the requested image shape.

    >>> data = load_factor_data("shapes3d", image_size=28, channels=1)
    >>> data.factor_sizes, data.observation_shape
    ((10, 10, 10, 8, 4, 15), (1, 28, 28))
    """
    entry, transform, _, specific = _resolve(name, dict(options))
    if not entry.factors:
        factor_sets = [n for n, e in DATASETS.items() if e.factors]
        raise ValueError(f"data set {name!r} has no ground-truth factors; factor sets: {', '.join(factor_sets)}")
    data = _factor_data(entry, name, root, specific)
    if transform == ImageTransform():
        return data
    from gwrep.data.clips import FrameTransform, is_clip_data
    from gwrep.data.factordata import TransformedFactorData

    return TransformedFactorData(data, FrameTransform(transform) if is_clip_data(data) else transform)
