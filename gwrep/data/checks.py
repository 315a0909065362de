"""Checks of a data set handed to :func:`gwrep.train` from Python (the API boundary).

Every model takes float32 images (C, H, W) in [0, 1] (docs/design.md, "How the parts meet");
gwrep's own loaders give exactly that. A data set built by the user is checked in two passes,
both cheap whatever its size:

- at once, on a few items (the first, the last and evenly spaced ones between), so that a
  wrong set fails before a run folder is written: this decides the set's dtype and shape;
- then every item as it is drawn (training batches, validation batches, the end-of-training
  pass), through the :class:`CheckedImages` view :func:`check_image_dataset` returns: its
  dtype and shape must be the set's, its values finite and in [0, 1]. One min/max per item,
  against the forward pass of a whole batch.

uint8 images are converted to float32 and divided by 255, float64 / float16 / bfloat16 ones
to float32; each conversion is logged once (logger ``gwrep.data``, level WARNING). Float
images outside [0, 1] (such as [0, 255]), NaN or infinite values, other dtypes (integers,
bool), an item whose dtype or shape differs from the set's, and shapes that are not (C, H, W)
with C = 1 or 3 (or (T, C, H, W) for a set of clips) raise a one-line ``ValueError`` naming
the item's index (``dataset[1234]``) and the dtype, shape or observed range.
"""
from __future__ import annotations

import logging
import math
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["check_image_dataset", "check_unit_range", "CheckedImages", "SAMPLED_ITEMS"]

logger = logging.getLogger("gwrep.data")

#: How many items of a data set :func:`check_image_dataset` inspects before returning (the view checks the rest).
SAMPLED_ITEMS = 8
#: Dtypes converted to float32 (with a logged note) rather than refused.
_TO_FLOAT32 = (torch.float64, torch.float16, torch.bfloat16)


def _image_of(item: Any) -> Any:
    """The image of a data set item: ``(image, target, ...)`` or the image alone."""
    return item[0] if isinstance(item, (tuple, list)) and len(item) > 0 else item


def _as_tensor(name: str, index: int, image: Any) -> torch.Tensor:
    if isinstance(image, torch.Tensor):
        return image
    if isinstance(image, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(image))
    raise ValueError(f"{name}[{index}] gives a {type(image).__name__}; items must be images (a tensor or numpy array "
                     "(C, H, W)) or (image, target) pairs")


def _sample_indices(n: int, k: int = SAMPLED_ITEMS) -> list[int]:
    """Up to ``k`` distinct indices from 0 to n - 1, the first and the last included."""
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, num=min(n, k))})


def _check_shape(name: str, index: int, image: torch.Tensor, clips: bool) -> None:
    dims = 4 if clips else 3
    what = "(T, C, H, W) clips" if clips else "(C, H, W) images"
    shape = tuple(image.shape)
    if image.dim() != dims:
        hint = "; add a channel dimension (x[None])" if image.dim() == dims - 1 else ""
        raise ValueError(f"{name}[{index}] has shape {shape}; the models take {what}{hint}")
    channels = shape[-3]
    if channels not in (1, 3):
        hint = "; it looks channels-last: permute to (C, H, W)" if shape[-1] in (1, 3) else ""
        raise ValueError(f"{name}[{index}] has shape {shape} with {channels} channels; the models take {what} with "
                         f"C = 1 or 3{hint}")


def check_unit_range(image: torch.Tensor, what: str) -> None:
    """Raise one-line ``ValueError`` naming ``what`` unless the float ``image`` is finite and in [0, 1].

    One min/max pass; the message gives the observed range (and "divide by 255" for [0, 255]).

    >>> check_unit_range(torch.tensor([0.0, 254.0]), "x")
    Traceback (most recent call last):
    ValueError: x ranges over [0, 254]; images must lie in [0, 1] (divide by 255)
    """
    if image.numel() == 0:
        return
    low, high = (float(v) for v in torch.aminmax(image.detach().reshape(-1).float()))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{what} holds NaN or infinite values; images must be finite, in [0, 1]")
    if low < 0.0 or high > 1.0:
        hint = " (divide by 255)" if 1.0 < high <= 255.0 and low >= 0.0 else ""
        raise ValueError(f"{what} ranges over [{low:.4g}, {high:.4g}]; images must lie in [0, 1]{hint}")


class CheckedImages(Dataset):
    """A view of ``dataset`` that checks every item it serves and converts its image to float32.

    Each image must have ``dtype`` and ``shape`` (the set's, from :func:`check_image_dataset`);
    it is cast to float32 and multiplied by ``scale`` (1/255 for uint8), then checked finite
    and in [0, 1]. A failure is one ``ValueError`` naming ``name[index]``. Targets pass through
    unchanged; other attributes (``image_shape``, ``clip_length``, ``factor_data``...) are
    those of the wrapped set, and a batched ``__getitems__`` of it is used when it has one.
    """

    def __init__(self, dataset: Dataset, name: str, dtype: torch.dtype, shape: tuple[int, ...],
                 scale: float = 1.0) -> None:
        self.dataset, self.name, self.dtype, self.shape, self.scale = dataset, name, dtype, tuple(shape), float(scale)

    def __len__(self) -> int:
        return len(self.dataset)

    def _check(self, index: int, item: Any) -> Any:
        image = _as_tensor(self.name, index, _image_of(item))
        if image.dtype != self.dtype:
            raise ValueError(f"{self.name}[{index}] is {str(image.dtype).replace('torch.', '')} but the set's images "
                             f"are {str(self.dtype).replace('torch.', '')} (its first item); give every item the "
                             "same dtype")
        if tuple(image.shape) != self.shape:
            raise ValueError(f"{self.name}[{index}] has shape {tuple(image.shape)} but the set's images are "
                             f"{self.shape} (its first item)")
        tensor = image.to(torch.float32)
        if self.scale != 1.0:
            tensor = tensor * self.scale
        else:  # uint8 / 255 lies in [0, 1] by construction
            check_unit_range(tensor, f"{self.name}[{index}]")
        if isinstance(item, (tuple, list)):
            return (tensor, *item[1:])
        return tensor

    def __getitem__(self, index: int) -> Any:
        return self._check(index, self.dataset[index])

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        batched = getattr(self.dataset, "__getitems__", None)
        items = batched(list(indices)) if batched is not None else [self.dataset[i] for i in indices]
        return [self._check(i, item) for i, item in zip(indices, items)]

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)


def check_image_dataset(dataset: Dataset, name: str = "dataset") -> CheckedImages:
    """``dataset`` checked for what the models take: float32 images (C, H, W) in [0, 1].

    Checks a few sampled items now (a bad set fails before any work) and returns a
    :class:`CheckedImages` view that checks every other item as it is drawn and converts
    uint8 (/255) and float64 / float16 / bfloat16 images to float32 (logged); raises
    ``ValueError`` naming the item for anything else (see the module docstring).

    >>> ds = [(torch.full((1, 28, 28), 255, dtype=torch.uint8), 0)]
    >>> float(check_image_dataset(ds)[0][0].max())
    1.0
    """
    try:
        n = len(dataset)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be a map-style data set with a length, got {type(dataset).__name__}") from None
    if n == 0:
        raise ValueError(f"{name} is empty")
    clips = getattr(dataset, "clip_length", None) is not None
    indices = _sample_indices(n)
    first = _as_tensor(name, indices[0], _image_of(dataset[indices[0]]))
    _check_shape(name, indices[0], first, clips)
    dtype = first.dtype
    if dtype == torch.uint8:
        scale = 1.0 / 255.0
    elif dtype == torch.float32 or dtype in _TO_FLOAT32:
        scale = 1.0
    else:
        raise ValueError(f"{name} images have dtype {dtype}; give float32 images in [0, 1] (or uint8 in [0, 255], "
                         "converted with /255)")
    checked = CheckedImages(dataset, name, dtype, tuple(first.shape), scale)
    for i in indices:
        checked[i]
    if dtype == torch.uint8:
        logger.warning("%s: uint8 images converted to float32 and divided by 255 ([0, 255] -> [0, 1])", name)
    elif dtype != torch.float32:
        logger.warning("%s: %s images converted to float32 (the models' dtype)", name, str(dtype).replace("torch.", ""))
    return checked
