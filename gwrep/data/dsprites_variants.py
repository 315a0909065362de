"""Color-, Noisy- and Scream-dSprites (Locatello et al. 2019), over the procedural or the official dSprites.

disentanglement_lib's ``data/ground_truth/dsprites.py`` defines the three variants by what
it does to a binary dSprites image ``m`` (64x64, copied to 3 channels) with numbers drawn
per image; the factors stay dSprites' five (shape, scale, orientation, posX, posY):

- ``color``: ``x = m * c``, one colour ``c`` per image with each channel uniform in [0.5, 1)
  (dlib: ``uniform(0.5, 1, [n, 1, 1, 3])``).
- ``noisy``: ``x = min(m + u, 1)``, ``u`` uniform in [0, 1) per pixel and channel, drawn in
  (64, 64, 3) order as dlib: a white shape on a noise background.
- ``scream``: a 64x64 patch of a background image ``B`` (H, W, 3) in [0, 1] at a random
  corner (row ``i`` in [0, H - 64), column ``j`` in [0, W - 64), as dlib's ``randint``), shifted
  by a random colour ``s`` uniform in [0, 1)^3 and halved, ``p = (B[i:i+64, j:j+64] + s) / 2``;
  the shape's pixels are inverted, ``x = 1 - p`` where ``m = 1``, else ``p``. Draw order per
  image: ``i``, ``j``, then ``s``.

The numbers come from one seeded ``numpy.random.Generator`` per image
(:mod:`gwrep.data.nuisance`): ``default_rng([nuisance_seed, row])`` for a row of the data set,
so an image is reproducible from ``(nuisance_seed, row)``, and generators seeded from the
caller's ``rng`` in ``sample_observations_from_factors``. dlib draws from one shared
``RandomState`` instead, and its training stream draws new nuisances every time it shows an
image; here a row keeps its nuisances across epochs (a fixed data set), and the metrics draw
fresh ones on every call, as dlib's metrics do.

Scream's background: dlib reads Munch's *The Scream* (``scream/scream.jpg``, from Wikimedia
Commons) and fits it into 350x274 with PIL's ``thumbnail``. Give that file (or any image) as
option ``background=PATH``; it is fitted the same way. Without it the background is
:func:`scream_texture`, a procedural painting (wavy orange-red bands over wavy blue ones,
274x221, the painting's aspect) that needs no file; ``background`` absent from a run's
``data_options`` means this texture, and ``factor_data.background_source`` says which one
was used (with the image file's sha256).

The base dSprites is ``shapes2d`` (procedural) without ``root``, or the dSprites file at
``root`` (:func:`gwrep.data.dsprites.load_dsprites`, ``variant`` official|downsampled|subset).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from gwrep.data.dsprites import DSPRITES_FACTORS, load_dsprites
from gwrep.data.factordata import FactorDataView, IndexedFactorData
from gwrep.data.files import require_file, sha256
from gwrep.data.nuisance import drawn_generators, row_generators
from gwrep.data.transforms import check_choice

__all__ = ["DSpritesVariant", "VARIANTS", "color_sprites", "noisy_sprites", "scream_sprites", "scream_texture",
           "load_background", "build_color_dsprites", "build_noisy_dsprites", "build_scream_dsprites"]

_SIZE = 64
#: dlib fits the painting into this box (width, height) with PIL's thumbnail.
SCREAM_BOX = (350, 274)


def color_sprites(masks: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
    """Color-dSprites: ``masks`` (n, 1, 64, 64) in {0, 1} times one colour per image, uniform in [0.5, 1)^3."""
    colours = np.array([g.uniform(0.5, 1.0, size=3) for g in rngs]).reshape(len(rngs), 3, 1, 1)
    return (masks * colours).astype(np.float32)


def noisy_sprites(masks: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
    """Noisy-dSprites: ``min(mask + noise, 1)``, noise uniform in [0, 1) drawn per image as (64, 64, 3).

    ``Generator.random`` gives the values of ``uniform(0, 1)``; the sum is taken in float32,
    which for masks in {0, 1} gives exactly dlib's float64 result rounded to float32.
    """
    noise = np.empty((len(rngs), _SIZE, _SIZE, 3))
    for k, g in enumerate(rngs):
        g.random(out=noise[k])
    out = noise.transpose(0, 3, 1, 2).astype(np.float32)
    out += masks
    return np.minimum(out, 1.0, out=out)


def scream_sprites(masks: np.ndarray, rngs: list[np.random.Generator], background: np.ndarray) -> np.ndarray:
    """Scream-dSprites: a random patch of ``background`` (H, W, 3) in [0, 1], shifted and halved, the shape inverted."""
    height, width = background.shape[:2]
    out = np.empty((len(rngs), 3, _SIZE, _SIZE), dtype=np.float32)
    for k, g in enumerate(rngs):
        top = g.integers(0, height - _SIZE)
        left = g.integers(0, width - _SIZE)
        patch = ((background[top:top + _SIZE, left:left + _SIZE] + g.uniform(0.0, 1.0, size=3)) / 2).transpose(2, 0, 1)
        out[k] = np.where(masks[k] == 1, 1 - patch, patch)
    return out


def scream_texture(height: int = 274, width: int = 221) -> np.ndarray:
    """The procedural Scream background (height, width, 3) float64 in [0, 1]: no file, no randomness.

    A wavy horizon splits orange-red bands (the sky) from blue ones (the fjord); the bands
    follow ``sin(2 pi (4 y + 1.5 w))`` with a low-frequency warp ``w`` (two sinusoids), and a
    finer stroke pattern of amplitude 0.12 is added, so patches differ in colour, band
    direction and texture at several scales, as patches of the painting do.
    """
    y, x = np.mgrid[0:height, 0:width] / float(height)
    warp = 0.35 * np.sin(2 * np.pi * (1.3 * x + 0.4 * y)) + 0.25 * np.sin(2 * np.pi * (0.7 * y - 1.9 * x) + 1.0)
    bands = (0.5 + 0.5 * np.sin(2 * np.pi * (4.0 * y + 1.5 * warp)))[..., None]
    strokes = (0.5 + 0.5 * np.sin(2 * np.pi * (17.0 * x + 11.0 * y + 2.0 * warp)))[..., None]
    below = (1 / (1 + np.exp(-(y - 0.5 - 0.08 * warp) / 0.03)))[..., None]  # 0 in the sky, 1 in the fjord
    sky = (1 - bands) * np.array([0.96, 0.62, 0.22]) + bands * np.array([0.78, 0.22, 0.14])
    water = (1 - bands) * np.array([0.25, 0.42, 0.70]) + bands * np.array([0.08, 0.14, 0.36])
    return np.clip((1 - below) * sky + below * water + 0.12 * (strokes - 0.5), 0.0, 1.0)


def load_background(path: str | Path) -> tuple[np.ndarray, str]:
    """An image fitted into 350x274 as dlib fits the Scream (PIL ``thumbnail``), RGB in [0, 1], and its description."""
    from PIL import Image, UnidentifiedImageError

    p = require_file(path, "Scream background image")
    try:
        with Image.open(p) as img:
            img.thumbnail(SCREAM_BOX)
            array = np.asarray(img.convert("RGB"), dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise ValueError(f"{p}: not a readable image ({type(err).__name__}: {err})") from None
    if min(array.shape[:2]) <= _SIZE:
        raise ValueError(f"{p}: the background is {array.shape[1]}x{array.shape[0]} after fitting into "
                         f"{SCREAM_BOX[0]}x{SCREAM_BOX[1]}; it needs more than {_SIZE} pixels each way for 64x64 patches")
    return array, f"{p.resolve()} (sha256 {sha256(p)}, {array.shape[1]}x{array.shape[0]} after thumbnail)"


class DSpritesVariant(FactorDataView):
    """A dSprites with per-image nuisances (``kind`` color|noisy|scream) over a binary dSprites ``base``.

    Factors, rows and targets are ``base``'s; observations (3, 64, 64) float32 in [0, 1]. See
    the module docstring for the formulas and where the random numbers come from.
    """

    random_observations = True

    def __init__(self, base: IndexedFactorData, kind: str, *, nuisance_seed: int = 0,
                 background: np.ndarray | None = None, background_source: str | None = None) -> None:
        check_choice("kind", kind, tuple(VARIANTS))
        if tuple(base.factor_names) != DSPRITES_FACTORS or tuple(base.observation_shape) != (1, _SIZE, _SIZE):
            raise ValueError(f"{kind}-dsprites needs a binary dSprites base with factors {DSPRITES_FACTORS} and images "
                             f"(1, 64, 64); got {tuple(base.factor_names)} and {tuple(base.observation_shape)}")
        if (kind == "scream") != (background is not None):
            raise ValueError("a background image is needed by kind='scream' and taken by no other kind")
        super().__init__(base, (3, _SIZE, _SIZE))
        self.kind, self.nuisance_seed = kind, int(nuisance_seed)
        self.background, self.background_source = background, background_source
        self.is_full_grid = getattr(base, "is_full_grid", True)
        self.source = f"{kind}-dsprites over {getattr(base, 'source', type(base).__name__)}"

    def paint(self, masks: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        """Images (n, 3, 64, 64) of binary ``masks`` (n, 1, 64, 64), one generator per image."""
        painter: Callable[..., np.ndarray] = VARIANTS[self.kind]
        return painter(masks, rngs, self.background) if self.kind == "scream" else painter(masks, rngs)

    def row_observations(self, rows: np.ndarray) -> np.ndarray:
        rows = self._check_rows(rows)
        return self.paint(self.base.row_observations(rows), row_generators(self.nuisance_seed, rows))

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        masks = self.base.sample_observations_from_factors(factors, rng)
        return self.paint(masks, drawn_generators(rng, len(masks)))


#: kind -> painter (masks, generators[, background]) -> images.
VARIANTS: dict[str, Callable[..., np.ndarray]] = {"color": color_sprites, "noisy": noisy_sprites,
                                                  "scream": scream_sprites}


def _base(root: str | Path | None, variant: str | None) -> IndexedFactorData:
    if root is None:
        if variant is not None:
            raise ValueError(f"variant={variant!r} selects a dSprites file: give root=PATH (--data-root) with it, or "
                             "leave both out for the procedural dSprites (shapes2d)")
        from gwrep.data.shapes2d import Shapes2D

        return Shapes2D()
    return load_dsprites(root, variant)


def build_color_dsprites(root: str | Path | None = None, *, variant: str | None = None,
                         nuisance_seed: int = 0) -> DSpritesVariant:
    """Color-dSprites over ``shapes2d`` (no root) or the dSprites file at ``root``."""
    return DSpritesVariant(_base(root, variant), "color", nuisance_seed=nuisance_seed)


def build_noisy_dsprites(root: str | Path | None = None, *, variant: str | None = None,
                         nuisance_seed: int = 0) -> DSpritesVariant:
    """Noisy-dSprites over ``shapes2d`` (no root) or the dSprites file at ``root``."""
    return DSpritesVariant(_base(root, variant), "noisy", nuisance_seed=nuisance_seed)


def build_scream_dsprites(root: str | Path | None = None, *, variant: str | None = None, nuisance_seed: int = 0,
                          background: str | None = None) -> DSpritesVariant:
    """Scream-dSprites; ``background`` a path to the painting (or any image), else :func:`scream_texture`."""
    if background is None:
        image, source = scream_texture(), "procedural (gwrep.data.dsprites_variants.scream_texture, 274x221)"
    else:
        image, source = load_background(background)
    return DSpritesVariant(_base(root, variant), "scream", nuisance_seed=nuisance_seed, background=image,
                           background_source=source)
