"""Checks of a data set handed to :func:`gwrep.train` from Python (the API boundary).

Every model takes float32 images (C, H, W) in [0, 1] (docs/design.md, "How the parts meet");
gwrep's own loaders give exactly that. A data set built by the user is checked here on a few
items (the first, the last and evenly spaced ones between: the check is cheap whatever the
set's size):

- uint8 images are converted to float32 and divided by 255, float64 / float16 / bfloat16 ones
  to float32; each conversion is logged (logger ``gwrep.data``, level WARNING) and applied to
  every item through :class:`ConvertedImages`;
- float images outside [0, 1] (such as [0, 255]), NaN or infinite values, other dtypes
  (integers, bool), and shapes that are not (C, H, W) with C = 1 or 3 (or (T, C, H, W) for a
  set of clips) raise one-line ``ValueError`` naming the item, the dtype, shape or the
  observed range.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["check_image_dataset", "ConvertedImages", "SAMPLED_ITEMS"]

logger = logging.getLogger("gwrep.data")

#: How many items of a data set :func:`check_image_dataset` inspects.
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


class ConvertedImages(Dataset):
    """A view of ``dataset`` whose images are cast to float32 and multiplied by ``scale``.

    Targets pass through unchanged; other attributes (``image_shape``, ``clip_length``,
    ``factor_data``...) are those of the wrapped set.
    """

    def __init__(self, dataset: Dataset, scale: float = 1.0) -> None:
        self.dataset, self.scale = dataset, float(scale)

    def __len__(self) -> int:
        return len(self.dataset)

    def _convert(self, item: Any) -> Any:
        image = _image_of(item)
        tensor = image if isinstance(image, torch.Tensor) else torch.as_tensor(np.asarray(image))
        tensor = tensor.to(torch.float32)
        if self.scale != 1.0:
            tensor = tensor * self.scale
        if isinstance(item, (tuple, list)):
            return (tensor, *item[1:])
        return tensor

    def __getitem__(self, index: int) -> Any:
        return self._convert(self.dataset[index])

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)


def check_image_dataset(dataset: Dataset, name: str = "dataset") -> Dataset:
    """``dataset`` checked for what the models take: float32 images (C, H, W) in [0, 1].

    Returns ``dataset`` itself when its sampled items are float32 in [0, 1]; a
    :class:`ConvertedImages` view (logged) for uint8 (/255) and float64 / float16 / bfloat16
    images; raises ``ValueError`` for anything else (see the module docstring).

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
    images = [(i, _as_tensor(name, i, _image_of(dataset[i]))) for i in _sample_indices(n)]
    first_index, first = images[0]
    for i, image in images:
        _check_shape(name, i, image, clips)
        if tuple(image.shape) != tuple(first.shape):
            raise ValueError(f"{name} items differ in shape: item {first_index} is {tuple(first.shape)}, item {i} "
                             f"{tuple(image.shape)}")
        if image.dtype != first.dtype:
            raise ValueError(f"{name} items differ in dtype: item {first_index} is {first.dtype}, item {i} {image.dtype}")
    dtype = first.dtype
    if dtype == torch.uint8:
        scale = 1.0 / 255.0
    elif dtype == torch.float32 or dtype in _TO_FLOAT32:
        scale = 1.0
    else:
        raise ValueError(f"{name} images have dtype {dtype}; give float32 images in [0, 1] (or uint8 in [0, 255], "
                         "converted with /255)")
    if dtype.is_floating_point:
        low = min(float(image.float().min()) for _, image in images)
        high = max(float(image.float().max()) for _, image in images)
        if not all(bool(torch.isfinite(image).all()) for _, image in images):
            raise ValueError(f"{name} images hold NaN or infinite values")
        if low < 0.0 or high > 1.0:
            hint = " (divide by 255)" if high > 1.0 and high <= 255.0 and low >= 0.0 else ""
            raise ValueError(f"{name} images must lie in [0, 1]; {len(images)} sampled items range over "
                             f"[{low:.4g}, {high:.4g}]{hint}")
    if dtype == torch.float32:
        return dataset
    if dtype == torch.uint8:
        logger.warning("%s: uint8 images converted to float32 and divided by 255 ([0, 255] -> [0, 1])", name)
    else:
        logger.warning("%s: %s images converted to float32 (the models' dtype)", name, str(dtype).replace("torch.", ""))
    return ConvertedImages(dataset, scale)

