"""``shapes2d``: a procedural dSprites (Matthey et al. 2017), rendered on demand with numpy.

Factors and sizes are dSprites': shape 3 (square, ellipse, heart), scale 6 in [0.5, 1],
orientation 40 in [0, 2 pi), posX 32 and posY 32 in [0, 1]; images 64x64, one channel,
binary (no anti-aliasing, like dSprites). Rendering is deterministic: each
(shape, scale, orientation) sprite is rasterised once (pixel centres inside the shape's
implicit curve) into a 29x29 mask, and an image is that mask pasted with its centre at
pixel (16 + posX, 16 + posY) (dSprites spans 15.5 .. 47.5), so a batch is one scatter.
Shape sizes match dSprites at scale 1 (square 19x19, ellipse 25x15, heart in 19x19);
on the 20,000-image dSprites subset the same factors give a mean IoU of 0.90 (square,
ellipse) and 0.85 (heart): a replica, not a copy (dSprites uses sub-pixel positions). As in dSprites, the
square repeats every 90 degrees and the ellipse every 180 degrees, so some orientations
give equal images for those shapes; the heart has no symmetry.

>>> import numpy as np
>>> data = Shapes2D()
>>> img = data.sample_observations_from_factors(np.array([[2, 5, 0, 16, 16]]), np.random.default_rng(0))
>>> img.shape, img.dtype, sorted(np.unique(img).tolist())
((1, 1, 64, 64), dtype('float32'), [0.0, 1.0])
"""
from __future__ import annotations

import numpy as np

from gwrep.data.factordata import GridFactorData

__all__ = ["Shapes2D", "SHAPES2D_VALUES"]

#: The value of each factor class, as dSprites' ``latents_values`` (orientation without the repeated 2 pi).
SHAPES2D_VALUES: dict[str, np.ndarray] = {
    "shape": np.arange(1.0, 4.0),
    "scale": np.linspace(0.5, 1.0, 6),
    "orientation": np.linspace(0.0, 2 * np.pi, 40, endpoint=False),
    "posX": np.linspace(0.0, 1.0, 32),
    "posY": np.linspace(0.0, 1.0, 32),
}
_SIZE = 64
_RADIUS = 14  # sprite box half-width in pixels: the scale-1 square's corners reach 9.5 * sqrt(2) = 13.4 px
_FIRST_CENTRE = 16  # sprite centre pixel at pos 0; pos class k puts it at 16 + k (dSprites: 15.5 .. 47.5)


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether offsets (u, v) in pixels at scale 1 (shape frame, y up) lie inside shape 0/1/2.

    Sizes match dSprites at scale 1: a 19x19 square, a 25x15 ellipse, a heart in a 19x19 box.
    """
    if shape == 0:
        return (np.abs(u) <= 9.5) & (np.abs(v) <= 9.5)
    if shape == 1:
        return (u / 12.5) ** 2 + (v / 7.5) ** 2 < 1 - 1e-9  # strict: no 1-px nubs where a tip hits a pixel centre
    # heart (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 (x in [-1.14, 1.14], y in [-1, 1.25]); the scale 7.8 px per
    # unit gives dSprites' heart area (fitted on the dSprites subset: IoU 0.85)
    x, y = u / 7.8, v / 7.8
    return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0


def _sprites() -> np.ndarray:
    """Binary masks (3, 6, 40, 2R+1, 2R+1) float32 of every (shape, scale, orientation)."""
    offsets = np.arange(-_RADIUS, _RADIUS + 1, dtype=np.float64)
    dx, dy = np.meshgrid(offsets, -offsets)  # dy: image rows grow downwards, y up
    out = np.zeros((3, 6, 40, 2 * _RADIUS + 1, 2 * _RADIUS + 1), dtype=np.float32)
    for i, scale in enumerate(SHAPES2D_VALUES["scale"]):
        for j, theta in enumerate(SHAPES2D_VALUES["orientation"]):
            c, s = np.cos(theta), np.sin(theta)
            u, v = (c * dx + s * dy) / scale, (-s * dx + c * dy) / scale
            for shape in range(3):
                out[shape, i, j] = _inside(shape, u, v)
    return out


class Shapes2D(GridFactorData):
    """Procedural dSprites: 737,280 binary 64x64 images with 5 known factors."""

    factor_names = ("shape", "scale", "orientation", "posX", "posY")
    factor_sizes = (3, 6, 40, 32, 32)
    observation_shape = (1, _SIZE, _SIZE)
    factor_values = SHAPES2D_VALUES
    _masks: np.ndarray | None = None

    @classmethod
    def masks(cls) -> np.ndarray:
        """The sprite masks, rasterised on first use (about 30 ms) and shared by all instances."""
        if cls._masks is None:
            cls._masks = _sprites()
        return cls._masks

    def render(self, factors: np.ndarray) -> np.ndarray:
        n, box = len(factors), 2 * _RADIUS + 1
        masks = self.masks()[factors[:, 0], factors[:, 1], factors[:, 2]]  # (n, box, box)
        left = _FIRST_CENTRE - _RADIUS + factors[:, 3]  # sprite box corner: centre 16 + class, 1 px per class
        top = _FIRST_CENTRE - _RADIUS + factors[:, 4]
        span = np.arange(box)
        box_offsets = (span[:, None] * _SIZE + span[None, :]).ravel()  # (box*box,) flat offsets in one image
        corner = np.arange(n) * _SIZE * _SIZE + top * _SIZE + left  # (n,) flat index of each sprite corner
        out = np.zeros(n * _SIZE * _SIZE, dtype=np.float32)
        out[(corner[:, None] + box_offsets[None, :]).ravel()] = masks.ravel()  # one flat scatter: fastest in numpy
        return out.reshape(n, 1, _SIZE, _SIZE)
