"""Torch ``Dataset`` views: ``ds[i] -> (image, target)``, images float32 (C, H, W) in [0, 1].

Every loader returns an :class:`ImageDataset`. Subclasses implement one batched read
``_read(rows) -> (images (n, C, H, W) float32, targets)``; the view applies its
:class:`~gwrep.data.transforms.ImageTransform` and serves single items, batches
(:meth:`ImageDataset.get_batch`) and ``__getitems__`` (which ``torch.utils.data.DataLoader``
calls with a whole batch of indices, so procedural sets render vectorised).
``split_rows`` gives the fixed, seeded train/val/test partitions.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from gwrep.data.factordata import IndexedFactorData, TransformedFactorData
from gwrep.data.transforms import ImageTransform

__all__ = ["ImageDataset", "ArrayImageDataset", "FactorDataset", "split_rows", "split_parts", "SPLIT_FRACTIONS"]

#: Default (train, val, test) fractions of a seeded random partition (the GWAE authors' 3D Shapes split).
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def split_rows(n: int, split: str, seed: int = 0, fractions: Sequence[float] = SPLIT_FRACTIONS) -> np.ndarray:
    """Rows of ``split`` in a seeded random partition of ``range(n)`` into train/val/test; "all" = every row.

    >>> [len(split_rows(100, s)) for s in ("train", "val", "test", "all")]
    [80, 10, 10, 100]
    """
    if split == "all":
        return np.arange(n, dtype=np.int64)
    names = ("train", "val", "test")
    if split not in names:
        raise ValueError(f"split must be one of 'train', 'val', 'test', 'all'; got {split!r}")
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"split fractions must be 3 non-negative numbers summing to 1, got {tuple(fractions)}")
    perm = np.random.default_rng(seed).permutation(n)
    bounds = np.round(np.cumsum((0.0, *fractions)) * n).astype(int)
    k = names.index(split)
    return np.sort(perm[bounds[k]:bounds[k + 1]]).astype(np.int64)


def split_parts(name: str, split: str, seed: int, make: Callable[[str], "ImageDataset"], whole: dict[str, str],
                train_part: str) -> "ImageDataset":
    """The ``split`` of a set stored in parts (files): ``whole[split]`` names a whole part; "train" / "val"
    are a seeded 90/10 split of ``train_part`` (the GWAE authors' MNIST protocol). ``make(part)`` opens a part."""
    if split in whole:
        return make(whole[split])
    if split not in ("train", "val"):
        raise ValueError(f"{name} split must be one of {', '.join(map(repr, ['train', 'val', *whole]))}; got {split!r}")
    data = make(train_part)
    data.rows = split_rows(len(data), split, seed, fractions=(0.9, 0.1, 0.0))
    return data


class ImageDataset(Dataset):
    """Base view: ``rows`` of an underlying store, read in batches, transformed.

    Attributes
    ----------
    image_shape : (C, H, W) of the returned images.
    transform : the :class:`ImageTransform` applied after reading.
    """

    #: (C, H, W) of the images as stored, before the transform.
    native_shape: tuple[int, int, int]

    def __init__(self, rows: np.ndarray, transform: ImageTransform | None = None) -> None:
        self.rows = np.asarray(rows, dtype=np.int64)
        self.transform = transform or ImageTransform()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.transform.output_shape(self.native_shape)

    def __len__(self) -> int:
        return len(self.rows)

    def _read(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Native images float32 (n, C, H, W) in [0, 1] and targets int64 (n,) or (n, K) of store ``rows``."""
        raise NotImplementedError

    def _positions(self, indices) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"index out of range for a data set of {n} items")
        return np.where(idx < 0, idx + n, idx)

    def get_batch(self, indices: Sequence[int] | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Images float32 (n, C, H, W) and targets int64 of dataset ``indices``."""
        images, targets = self._read(self.rows[self._positions(indices)])
        return torch.from_numpy(self.transform(images)), torch.from_numpy(np.asarray(targets, dtype=np.int64))

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        images, targets = self.get_batch(indices)
        return list(zip(images.unbind(0), targets.unbind(0)))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}; use get_batch for many")
        images, targets = self.get_batch([int(index)])
        return images[0], targets[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, image_shape={self.image_shape})"


class ArrayImageDataset(ImageDataset):
    """Images held in an array (N, C, H, W) (uint8 scaled by ``scale``) with int labels (N,)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, rows: np.ndarray | None = None,
                 transform: ImageTransform | None = None, scale: float = 1.0 / 255.0) -> None:
        super().__init__(np.arange(len(images)) if rows is None else rows, transform)
        self.images, self.labels, self.scale = images, np.asarray(labels, dtype=np.int64), scale
        self.native_shape = tuple(int(s) for s in images.shape[1:])

    def _read(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.images[rows].astype(np.float32) * np.float32(self.scale), self.labels[rows]


class FactorDataset(ImageDataset):
    """The ``Dataset`` view of a factor data set: row -> factors -> image; target = factor classes (K,).

    ``factor_data`` is the transformed set (observations at ``image_shape``), for the metrics.
    """

    def __init__(self, data: IndexedFactorData, rows: np.ndarray | None = None,
                 transform: ImageTransform | None = None) -> None:
        super().__init__(np.arange(data.num_rows) if rows is None else rows, transform)
        self.base = data
        self.native_shape = tuple(data.observation_shape)
        self.factor_data = TransformedFactorData(data, self.transform)

    def _read(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.base.row_observations(rows), self.base.row_factors(rows)
