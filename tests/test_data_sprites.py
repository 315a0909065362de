"""Tests of gwrep/data/sprites.py and gwrep/data/clips.py: the procedural sprite clips, Li & Mandt's Sprites
arrays read from the released layout (small arrays written here), the clip view, transforms and contact sheet."""
import hashlib

import numpy as np
import pytest

import gwrep.data as gdata
from gwrep.data.clips import ClipDataset, FrameTransform, save_clip_sheet
from gwrep.data.sprites import LPC_ACTIONS, LPC_DIRECTIONS, SpriteClips, build_lpc_sprites, sprite_centres
from gwrep.data.transforms import ImageTransform


def _centroids(clip):
    """(T, 2) x, y centroids of the lit pixels of a clip (T, C, H, W)."""
    mass = clip.sum(1)  # (T, H, W)
    ys, xs = np.mgrid[:mass.shape[1], :mass.shape[2]]
    total = mass.sum((1, 2))
    return np.stack([(mass * xs).sum((1, 2)) / total, (mass * ys).sum((1, 2)) / total], axis=1)


def test_static_factors_stay_and_dynamic_factors_move():
    data = SpriteClips()
    rng = np.random.default_rng(0)
    clips = data.sample_observations_from_factors(np.array([[0, 0, 1, 0, 0], [0, 2, 1, 4, 2]]), rng)
    assert clips.shape == (2, 8, 3, 64, 64) and clips.dtype == np.float32
    # red square moving right: 3 px per frame, same area and colour in every frame
    c = _centroids(clips[0])
    np.testing.assert_allclose(np.diff(c[:, 0]), 3.0, atol=1e-6)
    np.testing.assert_allclose(c[:, 1], 31.5, atol=1e-6)
    areas = (clips[0].sum(1) > 0).sum((1, 2))
    assert len(set(areas.tolist())) == 1
    assert set(np.unique(clips[0][:, 1:]).tolist()) == {0.0} and clips[0][:, 0].max() == 1.0  # red only
    # green square orbiting clockwise from phase 2 (angle pi): 12 px from the centre, 45 degrees per frame
    c = _centroids(clips[1]) - 31.5
    np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), 12.0, atol=0.6)
    angles = np.unwrap(np.arctan2(c[:, 1], c[:, 0]))
    np.testing.assert_allclose(np.diff(angles), np.pi / 4, atol=0.08)


def test_rendering_is_deterministic_and_clips_are_distinct():
    data = SpriteClips()
    rows = np.arange(data.num_rows)
    assert np.array_equal(data.row_observations(rows[::97]), data.row_observations(rows[::97]))
    digests = set()
    for chunk in np.array_split(rows, 16):  # every clip, a chunk at a time (all of them are 680 MB)
        digests.update(hashlib.sha1(clip.tobytes()).hexdigest() for clip in data.row_observations(chunk))
    assert len(digests) == data.num_rows == 4 * 6 * 3 * 6 * 4  # no two factor tuples look alike


def test_orbits_differ_only_in_frame_order():
    cw = sprite_centres(np.array([4]), np.array([0]))[0]
    ccw = sprite_centres(np.array([5]), np.array([0]))[0]
    key = lambda p: sorted(map(tuple, np.round(p, 6)))
    assert key(cw) == key(ccw) and not np.allclose(cw, ccw)


def test_catalog_clip_view_and_factor_data():
    ds = gdata.load("sprite-clips", split="val", image_size=28)
    assert isinstance(ds, ClipDataset) and len(ds) == round(0.1 * 1728)
    assert ds.image_shape == (3, 28, 28) and ds.clip_length == 8 and ds.clip_shape == (8, 3, 28, 28)
    clip, factors = ds[0]
    assert clip.shape == (8, 3, 28, 28) and factors.tolist() == ds.factor_data.row_factors(ds.rows[:1])[0].tolist()
    data = gdata.load_factor_data("sprite-clips", image_size=28, channels=1)
    assert data.observation_shape == (8, 1, 28, 28) and data.dynamic_factors == (3, 4)
    with pytest.raises(ValueError, match=r"expected clips \(n, T, C, H, W\)"):
        FrameTransform(ImageTransform(28))(np.zeros((2, 3, 64, 64), np.float32))


def test_clip_contact_sheet(tmp_path):
    path = save_clip_sheet(gdata.load_factor_data("sprite-clips", image_size=28), tmp_path / "sheet")
    assert path.suffix == ".png" and path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="not a clip factor set"):
        save_clip_sheet(gdata.load_factor_data("shapes2d"), tmp_path / "x.png")


def _write_released(root, n=2, size=4, dtype=np.float32, skip=None):
    """Li & Mandt's layout: ROOT/npy/{action}_{direction}_{frames,attributes}_{train,test}.npy, tiny frames."""
    folder = root / "npy"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for action in LPC_ACTIONS:
        for direction in LPC_DIRECTIONS:
            for split in ("train", "test"):
                frames = rng.random((n, 8, size, size, 3)).astype(np.float32)
                if dtype == np.uint8:
                    frames = (frames * 255).astype(np.uint8)
                classes = rng.integers(0, 6, size=(n, 4))
                attrs = np.zeros((n, 8, 4, 6), dtype=np.float32)
                attrs[np.arange(n)[:, None, None], np.arange(8)[None, :, None], np.arange(4)[None, None],
                      classes[:, None, :]] = 1.0
                name = f"{action}_{direction}_frames_{split}.npy"
                if name != skip:
                    np.save(folder / name, frames)
                np.save(folder / f"{action}_{direction}_attributes_{split}.npy", attrs)
    return folder


def test_lpc_sprites_reads_the_released_layout(tmp_path):
    folder = _write_released(tmp_path)
    data = build_lpc_sprites(tmp_path)
    assert data.num_rows == 9 * 2 * 2 and data.observation_shape == (8, 3, 4, 4)
    assert data.factor_names == ("body", "bottom", "top", "hair", "action", "direction")
    assert data.static_factors == (0, 1, 2, 3) and not data.is_full_grid
    # row 4..7 come from walk_left (train then test): action 0, direction 1
    assert data.row_factors(np.arange(4, 8))[:, 4:].tolist() == [[0, 1]] * 4
    frames = np.load(folder / "walk_left_frames_train.npy")
    attrs = np.load(folder / "walk_left_attributes_train.npy")
    assert data.row_factors(np.array([4]))[0, :4].tolist() == attrs[0, 0].argmax(-1).tolist()
    np.testing.assert_allclose(data.row_observations(np.array([4]))[0], frames[0].transpose(0, 3, 1, 2))
    ds = gdata.load("lpc-sprites", root=tmp_path, split="all")
    assert isinstance(ds, ClipDataset) and len(ds) == 36 and ds[4][0].shape == (8, 3, 4, 4)


def test_lpc_sprites_uint8_frames_are_scaled(tmp_path):
    folder = _write_released(tmp_path, dtype=np.uint8)
    data = build_lpc_sprites(folder)  # the npy folder itself is accepted too
    raw = np.load(folder / "walk_front_frames_train.npy")
    np.testing.assert_allclose(data.row_observations(np.array([0]))[0], raw[0].transpose(0, 3, 1, 2) / 255.0,
                               rtol=1e-6)


def test_lpc_sprites_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="Sprites folder .* not found"):
        build_lpc_sprites(tmp_path / "absent")
    _write_released(tmp_path / "a", skip="slash_right_frames_test.npy")
    with pytest.raises(FileNotFoundError, match="slash_right_frames_test.npy not found"):
        build_lpc_sprites(tmp_path / "a")
    folder = _write_released(tmp_path / "b")
    np.save(folder / "walk_front_attributes_train.npy", np.zeros((2, 8, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"expected one-hot attributes \(N, T, 4, 6\)"):
        build_lpc_sprites(tmp_path / "b")
    np.save(folder / "walk_front_attributes_train.npy", np.zeros((2, 8, 4, 6), np.float32))
    with pytest.raises(ValueError, match="not one-hot"):
        build_lpc_sprites(tmp_path / "b")
    with pytest.raises(ValueError, match="needs root=PATH"):
        gdata.load("lpc-sprites")
