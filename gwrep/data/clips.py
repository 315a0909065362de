"""Clip (video) factor data: observations (n, T, C, H, W), factors split into static and dynamic.

A clip factor set is an :class:`~gwrep.data.factordata.IndexedFactorData` whose
``observation_shape`` is ``(T, C, H, W)`` and which names its ``static_factors`` (fixed
over a clip: a sprite's shape, colour) and ``dynamic_factors`` (what moves: the action and
its phase), by index. Everything else is the image sets' factor interface: sizes, names,
``sample_factors`` and ``sample_observations_from_factors``, both with an explicit
``numpy.random.Generator``. The sequence models and their judge-classifier evaluation
(Li & Mandt 2018, Sec. 5.1; :mod:`gwrep.eval.sequence`) need exactly this.

:class:`FrameTransform` applies an :class:`~gwrep.data.transforms.ImageTransform` to every
frame; :class:`ClipDataset` is the torch view, ``ds[i] -> (clip (T, C, H, W), factors (K,))``
with ``ds.image_shape`` the shape of one frame (what a model's ``image_shape`` is) and
``ds.clip_length`` T. :class:`ArrayClipData` holds clips in arrays (several parts, read
lazily, e.g. memory-mapped ``.npy`` files).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from gwrep.data.factordata import IndexedFactorData, RowIndexedFactorData
from gwrep.data.transforms import ImageTransform
from gwrep.data.views import FactorDataset

__all__ = ["is_clip_data", "check_clip_factors", "FrameTransform", "ClipDataset", "ArrayClipData", "save_clip_sheet"]


def is_clip_data(data: object) -> bool:
    """Whether ``data`` is a clip factor set: observation shape (T, C, H, W) and static/dynamic factor indices."""
    return len(getattr(data, "observation_shape", ())) == 4 and hasattr(data, "dynamic_factors")


def check_clip_factors(num_factors: int, static: Sequence[int], dynamic: Sequence[int]) -> None:
    """ValueError unless ``static`` and ``dynamic`` partition ``range(num_factors)`` and neither is empty."""
    static, dynamic = tuple(static), tuple(dynamic)
    if not static or not dynamic or sorted(static + dynamic) != list(range(num_factors)):
        raise ValueError(f"static factors {static} and dynamic factors {dynamic} must split the {num_factors} "
                         "factors into two non-empty groups")


class FrameTransform:
    """An :class:`ImageTransform` applied to every frame of clips (n, T, C, H, W)."""

    def __init__(self, transform: ImageTransform) -> None:
        self.transform = transform

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrameTransform) and other.transform == self.transform

    def __hash__(self) -> int:
        return hash(self.transform)

    def output_shape(self, shape: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        return (int(shape[0]), *self.transform.output_shape(tuple(shape[1:])))

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        clips = np.asarray(clips, dtype=np.float32)
        if clips.ndim != 5:
            raise ValueError(f"expected clips (n, T, C, H, W), got shape {clips.shape}")
        n, t = clips.shape[:2]
        frames = self.transform(clips.reshape(n * t, *clips.shape[2:]))
        return frames.reshape(n, t, *frames.shape[1:])


class ClipDataset(FactorDataset):
    """The torch view of a clip factor set: ``ds[i] -> (clip float32 (T, C, H, W) in [0, 1], factors int64 (K,))``.

    ``image_shape`` is one frame's (C, H, W) at the view's transform (a sequence model's
    ``image_shape``), ``clip_length`` the number of frames T, ``factor_data`` the whole set
    at the view's frame shape (for the judge classifier).
    """

    def __init__(self, data: IndexedFactorData, rows: np.ndarray | None = None,
                 transform: ImageTransform | None = None) -> None:
        if not is_clip_data(data):
            raise ValueError(f"{type(data).__name__} is not a clip factor set (observation shape (T, C, H, W) "
                             f"with static/dynamic factors); got observation shape {data.observation_shape}")
        super().__init__(data, rows, FrameTransform(transform or ImageTransform()))
        self.frame_transform = transform or ImageTransform()
        self.clip_length = int(data.observation_shape[0])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.frame_transform.output_shape(tuple(self.native_shape[1:]))

    @property
    def clip_shape(self) -> tuple[int, int, int, int]:
        return (self.clip_length, *self.image_shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, clip_shape={self.clip_shape})"


class _LazyParts:
    """Rows of several arrays (parts) read as one: ``parts[rows]`` for sorted int rows."""

    def __init__(self, parts: Sequence[np.ndarray]) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        part = np.searchsorted(self.offsets, rows, side="right") - 1
        out = [np.asarray(self.parts[k][rows[part == k] - self.offsets[k]]) for k in np.unique(part)]
        return np.concatenate(out) if out else np.asarray(self.parts[0][:0])


class ArrayClipData(RowIndexedFactorData):
    """Clips held in arrays: ``clips`` parts (N_k, T, H, W, C) or (N_k, T, C, H, W), ``factors`` (N, K).

    uint8 clips are scaled by 1/255; float clips must lie in [0, 1]. ``channels_last`` says
    the layout (Li & Mandt's Sprites arrays are (N, 8, 64, 64, 3)). Parts may be memory-mapped
    ``.npy`` files: rows are read on demand. A factor tuple absent from the rows raises ValueError.
    """

    def __init__(self, clips: Sequence[np.ndarray], factors: np.ndarray, factor_sizes: Sequence[int],
                 factor_names: Sequence[str], static_factors: Sequence[int], dynamic_factors: Sequence[int], *,
                 channels_last: bool = True, source: str = "arrays") -> None:
        check_clip_factors(len(factor_sizes), static_factors, dynamic_factors)
        self.static_factors, self.dynamic_factors = tuple(static_factors), tuple(dynamic_factors)
        self.source = source
        shapes = {tuple(p.shape[1:]) for p in clips}
        if not clips or len(shapes) != 1 or len(next(iter(shapes))) != 4:
            raise ValueError(f"{source}: clip arrays must all have shape (N, T, H, W, C) or (N, T, C, H, W), "
                             f"got {[tuple(p.shape) for p in clips]}")
        dtypes = {p.dtype for p in clips}
        is_uint8 = all(d == np.uint8 for d in dtypes)
        if len(dtypes) != 1 or not (is_uint8 or all(np.issubdtype(d, np.floating) for d in dtypes)):
            raise ValueError(f"{source}: clips must be all uint8 or all float, got dtypes {sorted(map(str, dtypes))}")
        self._scale = 1.0 / 255.0 if is_uint8 else 1.0
        self.channels_last = channels_last
        t, a, b, c = next(iter(shapes))
        self.observation_shape = (t, c, a, b) if channels_last else (t, a, b, c)
        self.clips = _LazyParts(clips)
        if len(self.clips) != len(factors):
            raise ValueError(f"{source}: {len(self.clips)} clips but {len(factors)} factor rows")
        self._index_rows(factor_sizes, factor_names, factors)

    def _read_sorted(self, rows: np.ndarray) -> np.ndarray:
        clips = np.asarray(self.clips[rows], dtype=np.float32) * np.float32(self._scale)
        return clips.transpose(0, 1, 4, 2, 3) if self.channels_last else clips


def save_clip_sheet(data: IndexedFactorData, path: str | Path, *, seed: int = 0, max_values: int = 6,
                    title: str | None = None) -> Path:
    """Write a PNG: for each factor, up to ``max_values`` of its classes, one clip per row (T frames across).

    Every clip equals a base factor tuple (drawn with ``seed``) except the factor of its
    block, so a block shows what that factor alone changes; rows are labelled
    ``name=class``. Returns the path written (``.png`` added when ``path`` has no suffix).
    """
    from matplotlib.figure import Figure

    from gwrep.data.sheet import traversal_factors

    if not is_clip_data(data):
        raise ValueError(f"{type(data).__name__} is not a clip factor set; use gwrep.data.sheet.save_contact_sheet")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the file to write, e.g. {path / 'sheet.png'}")
    path = path if path.suffix else path.with_suffix(".png")
    rng = np.random.default_rng(seed)
    base = data.sample_factors(1, rng)[0]
    blocks = traversal_factors(tuple(data.factor_sizes), base, max_values)
    tuples = np.concatenate(blocks)
    labels = [f"{data.factor_names[k]}={int(t[k])}" for k, block in enumerate(blocks) for t in block]
    clips = data.sample_observations_from_factors(tuples, rng)  # (rows, T, C, H, W)
    rows, frames, c, h, w = clips.shape
    pad = 2
    grid = np.ones((rows * (h + pad) - pad, frames * (w + pad) - pad, c), dtype=np.float32)  # one image: fast to draw
    for r in range(rows):
        for t in range(frames):
            grid[r * (h + pad):r * (h + pad) + h, t * (w + pad):t * (w + pad) + w] = clips[r, t].transpose(1, 2, 0)
    static = {data.factor_names[k] for k in data.static_factors}
    fig = Figure(figsize=(0.6 * frames + 2.2, 0.6 * rows + 0.8))
    ax = fig.add_subplot()
    ax.imshow(grid[..., 0] if c == 1 else grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([r * (h + pad) + h / 2 for r in range(rows)],
                  [f"{lab} ({'static' if lab.split('=')[0] in static else 'dynamic'})" for lab in labels], fontsize=7)
    ax.set_xticks([t * (w + pad) + w / 2 for t in range(frames)], [f"t={t + 1}" for t in range(frames)], fontsize=7)
    ax.set_title(title or f"{type(data).__name__}: each block varies one factor from base {base.tolist()}", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    return path
