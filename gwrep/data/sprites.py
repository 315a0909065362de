"""Sprite videos with known static and dynamic factors: a procedural set and Li & Mandt's Sprites arrays.

``sprite-clips`` (:class:`SpriteClips`, procedural, deterministic): clips of T = 8 frames,
64x64 RGB, of one flat-coloured sprite on black. Static factors, fixed over a clip:
shape 4 (square, horizontal bar, triangle, cross: outlines that stay apart at 28x28,
where a disc and a square blur into one blob), colour 6 (hues 0, 60, ..., 300 degrees at full
saturation: red, yellow, green, cyan, blue, magenta), size 3 (radius 7, 9.5, 12 px, so that
shapes stay apart at 28x28). Dynamic
factors: action 6 (move right, left, down, up at 3 px per frame; orbit clockwise or
anticlockwise on a 12 px circle, 45 degrees per frame) and phase 4 (where the motion
starts: 3 px further along the straight track per class, or a quarter turn further round
the circle). 1728 clips; the sprite's pixel-centre mask is evaluated at sub-pixel
centres (no anti-aliasing, as dSprites). Straight tracks do not bounce, so no action
equals another at another phase; the orbits visit the same positions in opposite
orders, so telling them apart needs the frame order.

``lpc-sprites`` (:func:`build_lpc_sprites`): the Sprites videos of Li & Mandt (ICML 2018,
Sec. 5.1; github.com/YingzhenLi/Sprites, ``frame_to_npy.py``), read from the released
layout ``ROOT/npy/{action}_{direction}_frames_{train,test}.npy`` (float (N, 8, 64, 64, 3)
in [0, 1), or uint8) and ``..._attributes_{train,test}.npy`` (one-hot (N, 8, 4, 6): body,
bottom, top, hair), actions walk, spellcard, slash and directions front, left, right.
Static factors body, bottom, top, hair (6 each); dynamic factors action 3, direction 3.
Both splits are read (memory-mapped) into one set of rows; the catalog's seeded
80/10/10 split applies. Nothing is downloaded: missing files raise FileNotFoundError
naming the path and the layout.

>>> data = SpriteClips()
>>> clips = data.sample_observations_from_factors(np.array([[1, 4, 2, 0, 3]]), np.random.default_rng(0))
>>> clips.shape, data.static_factors, data.dynamic_factors
((1, 8, 3, 64, 64), (0, 1, 2), (3, 4))
"""
from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np

from gwrep.data.clips import ArrayClipData
from gwrep.data.factordata import GridFactorData

__all__ = ["SpriteClips", "build_lpc_sprites", "SPRITE_ACTIONS", "SPRITE_SHAPES", "LPC_ACTIONS", "LPC_DIRECTIONS",
           "LPC_ATTRIBUTES"]

SPRITE_SHAPES = ("square", "bar", "triangle", "cross")
SPRITE_ACTIONS = ("right", "left", "down", "up", "orbit_cw", "orbit_ccw")
_SIZE, _FRAMES = 64, 8
_RADII = (7.0, 9.5, 12.0)
_STEP = 3.0  # px per frame on straight tracks
_PHASE_STEP = 3.0  # px further along the track per phase class
_TRACK_START = -12.0  # track coordinate of phase 0 at t = 0, relative to the centre
_ORBIT_RADIUS = 12.0
_HUES = np.arange(6) / 6.0
_RGB = np.array([colorsys.hsv_to_rgb(h, 1.0, 1.0) for h in _HUES], dtype=np.float32)  # (6, 3)
#: Unit direction (dx, dy) of each straight action, image rows growing downwards.
_DIRECTIONS = {0: (1.0, 0.0), 1: (-1.0, 0.0), 2: (0.0, 1.0), 3: (0.0, -1.0)}


def _inside(shape: int, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Whether pixel offsets (u, v) from the sprite centre (v downwards) lie inside shape ``shape`` of radius r."""
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= 0.85 * r
    if shape == 1:
        return (np.abs(u) <= r) & (np.abs(v) <= 0.4 * r)
    if shape == 2:  # apex up at v = -r, base at v = 0.7 r
        return (v <= 0.7 * r) & (np.abs(u) <= 0.6 * (v + r))
    bar = r / 3.0
    return ((np.abs(u) <= bar) & (np.abs(v) <= r)) | ((np.abs(v) <= bar) & (np.abs(u) <= r))


def sprite_centres(action: np.ndarray, phase: np.ndarray, frames: int = _FRAMES) -> np.ndarray:
    """Sprite centres (n, T, 2) as (x, y) pixel coordinates of ``action`` and ``phase`` classes (n,)."""
    t = np.arange(frames, dtype=np.float64)[None, :]
    action, phase = np.asarray(action)[:, None], np.asarray(phase, dtype=np.float64)[:, None]
    along = _TRACK_START + _PHASE_STEP * phase + _STEP * t  # (n, T) straight-track coordinate
    dx = np.select([action == k for k in range(4)], [_DIRECTIONS[k][0] for k in range(4)], 0.0)
    dy = np.select([action == k for k in range(4)], [_DIRECTIONS[k][1] for k in range(4)], 0.0)
    turn = np.where(action == 4, 1.0, -1.0)  # clockwise on screen: angle grows with y downwards
    angle = phase * np.pi / 2 + turn * t * np.pi / 4
    straight = action < 4
    x = np.where(straight, along * dx, _ORBIT_RADIUS * np.cos(angle))
    y = np.where(straight, along * dy, _ORBIT_RADIUS * np.sin(angle))
    centre = (_SIZE - 1) / 2.0
    return np.stack([centre + x, centre + y], axis=-1)


class SpriteClips(GridFactorData):
    """Procedural sprite videos: 1728 clips (8, 3, 64, 64) with 3 static and 2 dynamic factors."""

    factor_names = ("shape", "colour", "size", "action", "phase")
    factor_sizes = (4, 6, 3, 6, 4)
    observation_shape = (_FRAMES, 3, _SIZE, _SIZE)
    static_factors = (0, 1, 2)
    dynamic_factors = (3, 4)

    def render(self, factors: np.ndarray) -> np.ndarray:
        n = len(factors)
        centres = sprite_centres(factors[:, 3], factors[:, 4])  # (n, T, 2)
        pix = np.arange(_SIZE, dtype=np.float64)
        u = pix[None, None, None, :] - centres[:, :, 0, None, None]  # (n, T, 1, W)
        v = pix[None, None, :, None] - centres[:, :, 1, None, None]  # (n, T, H, 1)
        radius = np.asarray(_RADII)[factors[:, 2]][:, None, None, None]
        mask = np.zeros((n, _FRAMES, _SIZE, _SIZE), dtype=bool)
        for shape in range(len(SPRITE_SHAPES)):
            rows = factors[:, 0] == shape
            if rows.any():
                mask[rows] = _inside(shape, u[rows], v[rows], radius[rows])
        colour = _RGB[factors[:, 1]]  # (n, 3)
        return mask[:, :, None].astype(np.float32) * colour[:, None, :, None, None]


LPC_ACTIONS = ("walk", "spellcard", "slash")
LPC_DIRECTIONS = ("front", "left", "right")
LPC_ATTRIBUTES = ("body", "bottom", "top", "hair")
_LPC_SPLITS = ("train", "test")


def _lpc_folder(root: str | Path) -> Path:
    """The folder holding the .npy files: ``root/npy`` when it exists, else ``root``."""
    root = Path(root).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"Sprites folder {root} not found; expected Li & Mandt's arrays "
                                "(github.com/YingzhenLi/Sprites, frame_to_npy.py) in ROOT/npy/")
    return root / "npy" if (root / "npy").is_dir() else root


def _load_part(folder: Path, action: str, direction: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Frames (N, 8, 64, 64, 3) memory-mapped and static attribute classes (N, 4) of one released file pair."""
    frames_path = folder / f"{action}_{direction}_frames_{split}.npy"
    attrs_path = folder / f"{action}_{direction}_attributes_{split}.npy"
    for path in (frames_path, attrs_path):
        if not path.is_file():
            raise FileNotFoundError(f"Sprites file {path} not found; the released layout has "
                                    "{action}_{direction}_frames_{train,test}.npy and _attributes_ files for actions "
                                    f"{LPC_ACTIONS} and directions {LPC_DIRECTIONS}")
    frames = np.load(frames_path, mmap_mode="r", allow_pickle=False)
    attrs = np.load(attrs_path, allow_pickle=False)
    if frames.ndim != 5 or frames.shape[-1] != 3:
        raise ValueError(f"{frames_path}: expected frames (N, T, H, W, 3), got shape {frames.shape}")
    if attrs.shape != (frames.shape[0], frames.shape[1], len(LPC_ATTRIBUTES), 6):
        raise ValueError(f"{attrs_path}: expected one-hot attributes (N, T, 4, 6) = "
                         f"{(frames.shape[0], frames.shape[1], 4, 6)} for frames {frames.shape}, got {attrs.shape}")
    first = attrs[:, 0]  # (N, 4, 6): attributes are repeated over the frames
    if not (np.isin(first, (0, 1)).all() and (first.sum(-1) == 1).all()):
        raise ValueError(f"{attrs_path}: attributes are not one-hot over their last axis")
    return frames, first.argmax(-1).astype(np.int64)


def build_lpc_sprites(root: str | Path) -> ArrayClipData:
    """Li & Mandt's Sprites arrays under ``root`` as one clip factor set (both released splits)."""
    folder = _lpc_folder(root)
    parts, factors = [], []
    for a, action in enumerate(LPC_ACTIONS):
        for d, direction in enumerate(LPC_DIRECTIONS):
            for split in _LPC_SPLITS:
                frames, attrs = _load_part(folder, action, direction, split)
                parts.append(frames)
                dynamic = np.tile(np.array([[a, d]], dtype=np.int64), (len(attrs), 1))
                factors.append(np.concatenate([attrs, dynamic], axis=1))
    return ArrayClipData(parts, np.concatenate(factors), (6, 6, 6, 6, 3, 3), (*LPC_ATTRIBUTES, "action", "direction"),
                         static_factors=(0, 1, 2, 3), dynamic_factors=(4, 5), channels_last=True, source=str(folder))
