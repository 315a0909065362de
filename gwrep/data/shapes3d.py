"""``shapes3d``: a procedural 3D Shapes (Burgess & Kim 2018), ray-marched with numpy.

Factors and sizes are DeepMind 3D Shapes': floor hue 10, wall hue 10, object hue 10 (hues
``linspace(0, 1, 10, endpoint=False)``), scale 8 in [0.75, 1.25], shape 4 (cube, cylinder,
sphere, capsule), orientation 15 in [-30, 30] degrees; images 64x64 RGB. The scene is a
floor and a back wall in perspective with an object standing on the floor, lit by one
directional light with soft shadows and a highlight; as in 3D Shapes, orientation turns
the camera about the object, so the floor/wall edge tilts and round objects change too.

Colour enters linearly: for each (shape, scale, orientation) the renderer ray-marches
the geometry once (2x2 supersampled) into four shade layers (floor, wall, object,
highlight), cached lazily, and an image is ``sum_l layer_l * rgb_l`` with the three hues'
RGB colours and white, so rendering a batch is one small batched matrix product.

>>> import numpy as np
>>> data = Shapes3D()
>>> img = data.sample_observations_from_factors(np.array([[0, 3, 6, 7, 0, 7]]), np.random.default_rng(0))
>>> img.shape, img.dtype, bool(0 <= img.min() and img.max() <= 1)
((1, 3, 64, 64), dtype('float32'), True)
"""
from __future__ import annotations

import colorsys

import numpy as np

from gwrep.data.factordata import GridFactorData

__all__ = ["Shapes3D", "SHAPES3D_VALUES", "SHAPE_NAMES_3D"]

SHAPE_NAMES_3D = ("cube", "cylinder", "sphere", "capsule")
#: The value of each factor class, as 3D Shapes' ``labels`` (shape as class index 0..3).
SHAPES3D_VALUES: dict[str, np.ndarray] = {
    "floor_hue": np.linspace(0.0, 1.0, 10, endpoint=False),
    "wall_hue": np.linspace(0.0, 1.0, 10, endpoint=False),
    "object_hue": np.linspace(0.0, 1.0, 10, endpoint=False),
    "scale": np.linspace(0.75, 1.25, 8),
    "shape": np.arange(4.0),
    "orientation": np.linspace(-30.0, 30.0, 15),
}
_SIZE, _SUPER = 64, 2
_CAM_DIST, _CAM_HEIGHT, _TARGET_Y, _TAN_HALF_FOV = 4.6, 1.9, 0.35, np.tan(np.radians(21))
_WALL_Z = 2.2
_LIGHT = np.array([-0.55, 0.85, -0.45]) / np.linalg.norm([-0.55, 0.85, -0.45])
_AMBIENT, _DIFFUSE, _SPECULAR, _SHININESS = 0.28, 0.72, 0.35, 24.0
_OBJECT_YAW = np.radians(25.0)  # a fixed world yaw, so the cube shows two side faces at orientation 0


def _hue_rgb(hues: np.ndarray) -> np.ndarray:
    return np.array([colorsys.hsv_to_rgb(h, 0.85, 1.0) for h in hues], dtype=np.float32)


_PALETTE = _hue_rgb(SHAPES3D_VALUES["floor_hue"])  # (10, 3), shared by all three hue factors


def _object_sdf(shape: int, s: float, p: np.ndarray) -> np.ndarray:
    """Signed distance (n,) of world points p (n, 3) to shape ``shape`` of scale ``s`` standing at the origin."""
    c, si = np.cos(_OBJECT_YAW), np.sin(_OBJECT_YAW)
    x, y, z = c * p[:, 0] - si * p[:, 2], p[:, 1], si * p[:, 0] + c * p[:, 2]
    if shape == 0:  # cube, half-side 0.5 s
        h = 0.5 * s
        q = np.stack([np.abs(x), np.abs(y - h), np.abs(z)], 1) - h
        return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(1), 0)
    if shape == 1:  # vertical cylinder, radius 0.5 s, height s
        h = 0.5 * s
        dr, dy = np.hypot(x, z) - h, np.abs(y - h) - h
        return np.hypot(np.maximum(dr, 0), np.maximum(dy, 0)) + np.minimum(np.maximum(dr, dy), 0)
    if shape == 2:  # sphere, radius 0.55 s
        r = 0.55 * s
        return np.sqrt(x**2 + (y - r) ** 2 + z**2) - r
    r, half = 0.38 * s, 0.34 * s  # vertical capsule, radius 0.38 s, height 2 (r + half)
    yc = np.clip(y - (r + half), -half, half)
    return np.sqrt(x**2 + (y - (r + half) - yc) ** 2 + z**2) - r


def _bounding_sphere(s: float) -> tuple[np.ndarray, float]:
    return np.array([0.0, 0.56 * s, 0.0]), 0.95 * s


def _sphere_span(o: np.ndarray, d: np.ndarray, centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit distances of rays o + t d (unit d) through a sphere; NaN where they miss."""
    oc = o - centre
    b = np.einsum("ij,ij->i", oc, d)
    disc = b**2 - (np.einsum("ij,ij->i", oc, oc) - radius**2)
    root = np.sqrt(np.where(disc > 0, disc, np.nan))
    return -b - root, -b + root


def _march(shape: int, s: float, o: np.ndarray, d: np.ndarray, t0: np.ndarray, t1: np.ndarray,
           steps: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Sphere tracing of the object along rays from t0 to t1: (hit mask, hit distance)."""
    t = t0.copy()
    hit = np.zeros(len(t), bool)
    live = np.arange(len(t))
    for _ in range(steps):
        if not len(live):
            break
        dist = _object_sdf(shape, s, o[live] + t[live, None] * d[live])
        t[live] += dist
        done = dist < 1e-3
        hit[live[done]] = True
        live = live[~done & (t[live] < t1[live])]
    return hit, t


def _soft_shadow(shape: int, s: float, p: np.ndarray) -> np.ndarray:
    """Light visibility in [0, 1] of points p (n, 3) towards the light (penumbra k = 10)."""
    light = np.broadcast_to(_LIGHT, p.shape)
    centre, radius = _bounding_sphere(s)
    t0, t1 = _sphere_span(p, light, centre, radius * 1.6)
    vis = np.ones(len(p))
    near = np.flatnonzero(np.isfinite(t0) & (t1 > 0))
    if not len(near):
        return vis
    q, t, stop = p[near], np.maximum(t0[near], 0.02), t1[near]
    res = np.ones(len(near))
    live = np.arange(len(near))
    for _ in range(32):  # march only rays still inside the bounding sphere and not fully shadowed
        dist = _object_sdf(shape, s, q[live] + t[live, None] * _LIGHT)
        res[live] = np.minimum(res[live], np.clip(10 * dist / t[live], 0, 1))
        t[live] += np.clip(dist, 0.02, 0.3)
        live = live[(res[live] > 0) & (t[live] < stop[live])]
        if not len(live):
            break
    vis[near] = res
    return vis


def _camera_rays(orientation_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Origin (n, 3) and unit directions (n, 3) of the supersampled pixel rays, camera orbiting by the angle."""
    phi = np.radians(orientation_deg)
    eye = np.array([_CAM_DIST * np.sin(phi), _CAM_HEIGHT, -_CAM_DIST * np.cos(phi)])
    forward = np.array([0.0, _TARGET_Y, 0.0]) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross([0.0, 1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    up = np.cross(forward, right)
    n = _SIZE * _SUPER
    coords = (np.arange(n) + 0.5) / n * 2 - 1
    px, py = np.meshgrid(coords, -coords)
    d = forward + _TAN_HALF_FOV * (px.reshape(-1, 1) * right + py.reshape(-1, 1) * up)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return np.broadcast_to(eye, d.shape).copy(), d


def _shade_layers(shape: int, scale_index: int, orientation_index: int) -> np.ndarray:
    """Layers (4, 64, 64) float32: floor, wall, object shade and the white highlight."""
    s = float(SHAPES3D_VALUES["scale"][scale_index])
    o, d = _camera_rays(float(SHAPES3D_VALUES["orientation"][orientation_index]))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(d[:, 1] < 0, -o[:, 1] / d[:, 1], np.inf)
        t_wall = np.where(d[:, 2] > 0, (_WALL_Z - o[:, 2]) / d[:, 2], np.inf)
    is_floor = t_floor < t_wall
    t_bg = np.where(is_floor, t_floor, t_wall)
    layers = np.zeros((4, len(d)))
    # background: Lambert with soft shadow and a gentle fall-off with distance (depth cue)
    p = o + t_bg[:, None] * d
    normal_dot = np.where(is_floor, _LIGHT[1], -_LIGHT[2])
    shade = (_AMBIENT + _DIFFUSE * normal_dot * _soft_shadow(shape, s, p)) * np.exp(-0.03 * t_bg)
    layers[0] = np.where(is_floor, shade, 0)
    layers[1] = np.where(is_floor, 0, shade)
    # object: sphere tracing inside its bounding sphere
    centre, radius = _bounding_sphere(s)
    t0, t1 = _sphere_span(o, d, centre, radius)
    rays = np.flatnonzero(np.isfinite(t0))
    hit, t = _march(shape, s, o[rays], d[rays], t0[rays], t1[rays])
    rays, t = rays[hit], t[hit]
    if len(rays):
        q = o[rays] + t[:, None] * d[rays]
        eps = 1e-3
        grad = np.stack([_object_sdf(shape, s, q + e) - _object_sdf(shape, s, q - e)
                         for e in np.eye(3) * eps], axis=1)
        normal = grad / np.linalg.norm(grad, axis=1, keepdims=True)
        lambert = np.clip(normal @ _LIGHT, 0, None) * _soft_shadow(shape, s, q + 2e-2 * normal)
        half = _LIGHT - d[rays]
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        layers[:, rays] = 0
        layers[2, rays] = _AMBIENT + _DIFFUSE * lambert
        layers[3, rays] = _SPECULAR * np.clip(np.einsum("ij,ij->i", normal, half), 0, None) ** _SHININESS * (lambert > 0)
    n = _SIZE * _SUPER
    layers = layers.reshape(4, _SIZE, _SUPER, _SIZE, _SUPER).mean(axis=(2, 4))  # 2x2 box filter
    assert layers.shape == (4, _SIZE, _SIZE) and n == _SIZE * _SUPER
    return layers.astype(np.float32)


class Shapes3D(GridFactorData):
    """Procedural 3D Shapes: 480,000 RGB 64x64 images with 6 known factors.

    Shade layers are computed on first use of each (shape, scale, orientation) (about
    20 ms each; 480 in all, 31 MB) and kept for the process: :meth:`warm` fills them all.
    """

    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    factor_sizes = (10, 10, 10, 8, 4, 15)
    observation_shape = (3, _SIZE, _SIZE)
    factor_values = SHAPES3D_VALUES
    _layers = np.zeros((4, 8, 15, 4, _SIZE * _SIZE), dtype=np.float32)  # (shape, scale, orientation, layer, pixel)
    _ready = np.zeros((4, 8, 15), dtype=bool)

    @classmethod
    def _ensure(cls, shape: np.ndarray, scale: np.ndarray, orientation: np.ndarray) -> None:
        missing = ~cls._ready[shape, scale, orientation]
        if missing.any():
            todo = np.unique(np.stack([shape[missing], scale[missing], orientation[missing]], 1), axis=0)
            for sh, sc, ori in todo:
                cls._layers[sh, sc, ori] = _shade_layers(int(sh), int(sc), int(ori)).reshape(4, -1)
                cls._ready[sh, sc, ori] = True

    @classmethod
    def warm(cls) -> None:
        """Compute every shade layer now (about 10 s), so later renders never wait."""
        grid = np.indices(cls._ready.shape).reshape(3, -1)
        cls._ensure(*grid)

    def render(self, factors: np.ndarray) -> np.ndarray:
        floor, wall, obj, scale, shape, orientation = factors.T
        self._ensure(shape, scale, orientation)
        colours = np.ones((len(factors), 3, 4), dtype=np.float32)  # (n, rgb, layer); layer 3: white highlight
        colours[:, :, 0], colours[:, :, 1], colours[:, :, 2] = _PALETTE[floor], _PALETTE[wall], _PALETTE[obj]
        out = np.matmul(colours, self._layers[shape, scale, orientation])  # (n, 3, 4096)
        np.clip(out, 0.0, 1.0, out=out)
        return out.reshape(len(factors), 3, _SIZE, _SIZE)
