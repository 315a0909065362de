"""Tests of gwrep/data/dsprites_variants.py: Color-, Noisy- and Scream-dSprites against disentanglement_lib's formulas.

Each formula test recomputes, for a few rows, what dlib's ``data/ground_truth/dsprites.py`` does to a
batch of masks (channels last, with its array shapes) from the generator the row is documented to use,
``default_rng([nuisance_seed, row])``, and compares it with the data set's images.
"""
import json
import warnings

import numpy as np
import pytest
from PIL import Image

import gwrep.data as gd
from gwrep.data.dsprites import DSPRITES_FILES
from gwrep.data.dsprites_variants import SCREAM_BOX, scream_texture
from gwrep.data.factordata import NotAFullGridWarning
from gwrep.data.shapes2d import Shapes2D

ROWS = np.array([3, 1000, 500_000, 737_279])
SEED = 5


def _dlib_batch(masks: np.ndarray) -> np.ndarray:
    """dlib's ``np.repeat(no_color_observations, 3, axis=3)`` of masks (n, 1, 64, 64): (n, 64, 64, 3)."""
    return np.repeat(masks.transpose(0, 2, 3, 1), 3, axis=3).astype(np.float64)


def _dlib_color(obs: np.ndarray, g: np.random.Generator) -> np.ndarray:
    color = np.repeat(np.repeat(g.uniform(0.5, 1, [obs.shape[0], 1, 1, 3]), obs.shape[1], axis=1), obs.shape[2], axis=2)
    return obs * color


def _dlib_noisy(obs: np.ndarray, g: np.random.Generator) -> np.ndarray:
    return np.minimum(obs + g.uniform(0, 1, [obs.shape[0], 64, 64, 3]), 1.0)


def _dlib_scream(scream: np.ndarray):
    def paint(obs: np.ndarray, g: np.random.Generator) -> np.ndarray:
        obs = obs.copy()
        for i in range(obs.shape[0]):
            x_crop = g.integers(0, scream.shape[0] - 64)
            y_crop = g.integers(0, scream.shape[1] - 64)
            background = (scream[x_crop:x_crop + 64, y_crop:y_crop + 64] + g.uniform(0, 1, size=3)) / 2.0
            mask = obs[i] == 1
            background[mask] = 1 - background[mask]
            obs[i] = background
        return obs
    return paint


def _expected(masks: np.ndarray, rows: np.ndarray, dlib) -> np.ndarray:
    """dlib's formula per image (one image per batch, from that row's generator), channels first."""
    out = [dlib(_dlib_batch(masks[k:k + 1]), np.random.default_rng([SEED, int(r)]))[0] for k, r in enumerate(rows)]
    return np.stack(out).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("name, dlib", [("color-dsprites", _dlib_color), ("noisy-dsprites", _dlib_noisy),
                                        ("scream-dsprites", _dlib_scream(scream_texture()))])
def test_formula_over_procedural_dsprites(name, dlib):
    data = gd.load_factor_data(name, nuisance_seed=SEED)
    got = data.row_observations(ROWS)
    assert got.dtype == np.float32 and got.shape == (4, 3, 64, 64) and 0 <= got.min() and got.max() <= 1
    np.testing.assert_allclose(got, _expected(Shapes2D().row_observations(ROWS), ROWS, dlib), atol=1e-6)
    np.testing.assert_array_equal(data.row_factors(ROWS), Shapes2D().row_factors(ROWS))


def _official_file(folder, n: int = 40):
    """A small file in the official dSprites layout (colour column 0, shapes2d's masks as images)."""
    rng = np.random.default_rng(0)
    classes = np.column_stack([np.zeros(n, int)] + [rng.integers(0, s, n) for s in (3, 6, 40, 32, 32)])
    imgs = Shapes2D().render(classes[:, 1:])[:, 0].astype(np.uint8)
    imgs[:, 0, 0] = 1  # not shapes2d's exact images: a corner pixel set
    folder.mkdir()
    np.savez_compressed(folder / DSPRITES_FILES["official"], imgs=imgs, latents_classes=classes)
    return imgs


@pytest.mark.parametrize("name, dlib", [("color-dsprites", _dlib_color), ("noisy-dsprites", _dlib_noisy)])
def test_formula_over_the_dsprites_file(tmp_path, name, dlib):
    """With a root the variants paint the dSprites file's images (dlib's DSPRITES_PATH layout: ROOT/dsprites/)."""
    imgs = _official_file(tmp_path / "dsprites")
    root = gd.dataset_root(tmp_path, name)
    assert root == str(tmp_path / "dsprites")
    with pytest.warns(NotAFullGridWarning):
        data = gd.load_factor_data(name, root, nuisance_seed=SEED)
    rows = np.array([0, 17, 39])
    np.testing.assert_allclose(data.row_observations(rows),
                               _expected(imgs[rows, None].astype(np.float32), rows, dlib), atol=1e-6)


def test_rows_are_reproducible_and_the_metrics_draw_fresh_nuisances():
    """A row's image depends on (nuisance_seed, row) only: the torch view, a second instance and the
    factor_data agree; sample_observations_from_factors draws new colours per call, reproducibly."""
    ds = gd.load("color-dsprites", split="test", seed=3)
    image, target = ds[7]
    again = gd.load_factor_data("color-dsprites").row_observations(ds.rows[7:8])[0]
    np.testing.assert_array_equal(image.numpy(), again)
    other_seed = gd.load_factor_data("color-dsprites", nuisance_seed=1).row_observations(ds.rows[7:8])[0]
    assert np.abs(other_seed - again).max() > 0.01
    data = ds.factor_data
    factors = np.repeat(target[None].numpy(), 2, axis=0)
    first = data.sample_observations_from_factors(factors, np.random.default_rng(11))
    np.testing.assert_array_equal(first, data.sample_observations_from_factors(factors, np.random.default_rng(11)))
    mask = Shapes2D().sample_observations_from_factors(factors, np.random.default_rng(0))[:, 0] > 0
    assert ((first.max(axis=1) > 0) == mask).all()  # the same shape, in two different colours
    colours = first[:, :, mask[0]].mean(axis=2)
    assert np.abs(colours[0] - colours[1]).max() > 1e-3 and 0.5 <= colours.min() and colours.max() < 1


def _centroid(pick):
    """A representation: the (x, y) centroid of the pixels ``pick(images)`` marks."""
    def represent(x: np.ndarray) -> np.ndarray:
        m = pick(x).astype(np.float64)
        cols = np.arange(x.shape[-1])
        n = m.sum(axis=(1, 2))
        return np.stack([(m.sum(axis=1) * cols).sum(1) / n, (m.sum(axis=2) * cols).sum(1) / n], axis=1)
    return represent


def test_the_metrics_read_the_factors():
    """MIG of the sprite's centroid (posX, posY recovered, the 3 other factors not): about 2/5 of a gap near 0.6, the
    same on Color- and Noisy-dSprites whose masks are found exactly; Scream's runs, in [0, 1]; the code cache that
    would freeze the nuisances is refused."""
    from gwrep.eval.metrics.mig import compute_mig
    from gwrep.eval.metrics.utils import CodeCache

    color = compute_mig(_centroid(lambda x: x.max(axis=1) > 0), gd.load_factor_data("color-dsprites"), num_train=1000)
    noisy = compute_mig(_centroid(lambda x: x.min(axis=1) == 1), gd.load_factor_data("noisy-dsprites"), num_train=1000)
    assert 0.2 < color["discrete_mig"] < 0.3 and noisy["discrete_mig"] == color["discrete_mig"]
    scream = compute_mig(lambda x: x.mean(axis=(2, 3)), gd.load_factor_data("scream-dsprites"), num_train=300)
    assert 0 <= scream["discrete_mig"] <= 1
    with pytest.raises(ValueError, match="draws its observations at random given the factors"):
        CodeCache(lambda x: x, gd.load_factor_data("noisy-dsprites", image_size=28))


def test_scream_background_from_a_file(tmp_path, capsys):
    """background=PATH: the image fitted into 350x274 as dlib fits the painting; its sha256 is recorded."""
    from gwrep.cli import main

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (600, 500, 3), dtype=np.uint8)).save(tmp_path / "scream.png")
    with Image.open(tmp_path / "scream.png") as img:
        img.thumbnail(SCREAM_BOX)
        painting = np.asarray(img, dtype=np.float64) / 255.0
    assert painting.shape == (274, 228, 3)
    data = gd.load_factor_data("scream-dsprites", nuisance_seed=SEED, background=str(tmp_path / "scream.png"))
    np.testing.assert_allclose(data.row_observations(ROWS),
                               _expected(Shapes2D().row_observations(ROWS), ROWS, _dlib_scream(painting)), atol=1e-6)
    assert "scream.png (sha256 " in data.background_source
    assert gd.load_factor_data("scream-dsprites").background_source.startswith("procedural")
    assert main(["data", "show", "scream-dsprites", "--out", str(tmp_path / "s.png"), "--option",
                 f"background={tmp_path / 'scream.png'}"]) == 0
    assert f"background: {(tmp_path / 'scream.png').resolve()} (sha256" in capsys.readouterr().out
    Image.fromarray(np.zeros((60, 80, 3), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match=r"small.png: the background is 80x60 .* more than 64 pixels each way"):
        gd.load_factor_data("scream-dsprites", background=str(tmp_path / "small.png"))
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match=r"text.png: not a readable image"):
        gd.load_factor_data("scream-dsprites", background=str(tmp_path / "text.png"))


def test_bad_options_and_roots(tmp_path):
    with pytest.raises(ValueError, match=r"variant='subset' selects a dSprites file: give root=PATH"):
        gd.load("noisy-dsprites", variant="subset")
    with pytest.raises(FileNotFoundError, match="dSprites official file not found"):
        gd.load("color-dsprites", tmp_path)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['background'\] for data set 'color-dsprites'"):
        gd.load("color-dsprites", background="x.png")


def test_train_and_config(tmp_path):
    """gwrep train --data noisy-dsprites needs no files; the run's config names the set and its options."""
    from gwrep.cli import main

    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotAFullGridWarning)
        assert main(["train", "--model", "vae", "--data", "noisy-dsprites", "--data-option", "nuisance_seed=2",
                     "--steps", "2", "--image-size", "28", "--batch-size", "8", "--eval-every", "0", "--no-figures",
                     "--no-progress", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["data"] == "noisy-dsprites" and config["data_options"]["nuisance_seed"] == 2
    assert config["model_options"]["image_shape"] == [3, 28, 28]
