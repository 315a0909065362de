"""``omniglot``: Omniglot (Lake et al. 2015) from the npz files or the official PNG folders.

Sources, looked for in ``root``: ``images_background.npz`` / ``images_evaluation.npz``
(keys ``images`` (characters, 20, 105, 105) bool with True = white paper, and ``labels``
(characters, 20) int), or the official folders ``images_background/<alphabet>/<character>/*.png``
(labels: characters numbered in sorted order). Images are 105x105, one channel.

Polarity: ``"original"`` keeps the files' dark strokes on white paper (what the GWAE
authors fed their MNIST-trained models as the OoD set, and the default here);
``"mnist"`` inverts to bright strokes on black, matching MNIST (the "clean" protocol).
Splits: ``background`` (964 x 20) and ``evaluation`` (659 x 20) are the whole files;
``train`` / ``val`` are a seeded 90/10 split of background, ``test`` = evaluation
(the evaluation alphabets are the GWAE authors' OoD set). Targets are character labels.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from gwrep.data.files import check_array, npz_headers, read_npz, require_dir
from gwrep.data.images import decode_image
from gwrep.data.transforms import check_choice
from gwrep.data.views import ImageDataset, split_parts

__all__ = ["OmniglotDataset", "build_dataset", "POLARITIES"]

POLARITIES = ("original", "mnist")
_SIDE = 105


@functools.lru_cache(maxsize=2)
def _read_arrays(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Decompressed (images (N, 105, 105), labels (N,)) of an npz, cached per file version (both parts fit)."""
    arrays = read_npz(path, ("images", "labels"))
    return arrays["images"].reshape(-1, _SIDE, _SIDE), arrays["labels"].reshape(-1).astype(np.int64)


class OmniglotDataset(ImageDataset):
    """One Omniglot part from npz (decompressed on first access) or PNG folders (decoded per item)."""

    native_shape = (1, _SIDE, _SIDE)

    def __init__(self, root: str | Path, part: str, rows: np.ndarray | None = None, transform=None) -> None:
        base = require_dir(root, "Omniglot folder")
        self.npz, self.png_dir = base / f"images_{part}.npz", base / f"images_{part}"
        if self.npz.is_file():
            heads = npz_headers(self.npz, required=("images", "labels"))
            (shape, dtype), (lshape, ldtype) = heads["images"], heads["labels"]
            check_array(str(self.npz), "images", shape, dtype, ndim=4, tail=(_SIDE, _SIDE), kinds="bu")
            check_array(str(self.npz), "labels", lshape, ldtype, kinds="iu")
            if lshape != shape[:2]:
                raise ValueError(f"{self.npz}: labels shape {lshape} does not match images {shape[:2]}")
            self.num_characters, self.num_drawers = shape[:2]
            self.files = None
        elif self.png_dir.is_dir():
            self.files = sorted(self.png_dir.glob("*/*/*.png"))
            if not self.files:
                raise ValueError(f"{self.png_dir}: no PNG files in <alphabet>/<character>/ folders")
            characters = sorted({f.parent for f in self.files})
            index = {c: i for i, c in enumerate(characters)}
            self._file_labels = np.array([index[f.parent] for f in self.files], dtype=np.int64)
            self.num_characters, self.num_drawers = len(characters), None
        else:
            raise FileNotFoundError(f"Omniglot {part}: neither {self.npz} nor folder {self.png_dir} exists")
        n = len(self.files) if self.files is not None else self.num_characters * self.num_drawers
        self.num_images = n
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        super().__init__(np.arange(n) if rows is None else rows, transform)

    def _read(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.files is not None:
            imgs = np.stack([decode_image(self.files[r], mode="L") for r in rows]) if len(rows) else \
                np.zeros((0, _SIDE, _SIDE), np.float32)
            if imgs.shape[1:] != (_SIDE, _SIDE):
                raise ValueError(f"{self.png_dir}: Omniglot PNGs must be {_SIDE}x{_SIDE}, got {imgs.shape[1:]}")
            return imgs[:, None], self._file_labels[rows]
        if self._arrays is None:
            stat = self.npz.stat()
            self._arrays = _read_arrays(str(self.npz.resolve()), stat.st_mtime_ns, stat.st_size)
        images, labels = self._arrays
        scale = np.float32(1.0 if images.dtype == bool else 1.0 / 255.0)
        return images[rows, None].astype(np.float32) * scale, labels[rows]


def build_dataset(root: str | Path, split: str, transform, seed: int, *, polarity: str = "original") -> OmniglotDataset:
    """``split`` in background / evaluation / train / val / test; ``polarity`` "original" or "mnist"."""
    check_choice("polarity", polarity, POLARITIES)
    if polarity == "mnist":
        transform = type(transform)(transform.image_size, transform.channels, invert=not transform.invert)
    return split_parts("Omniglot", split, seed, lambda part: OmniglotDataset(root, part, None, transform),
                       {"background": "background", "evaluation": "evaluation", "test": "evaluation"},
                       train_part="background")
