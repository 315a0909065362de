"""Tests for eval/figures.py: image grids and the four run figures."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gwrep.eval.figures import (image_grid, save_loss_curves, save_reconstructions, save_run_figures, save_samples,
                                save_traversals)
from tiny_models import TinyConfig, TinyVAE, blobs


@pytest.fixture
def model():
    return TinyVAE(TinyConfig(latent_dim=3))


def test_image_grid_places_images():
    images = np.stack([np.full((1, 2, 2), v, dtype=np.float32) for v in (0.1, 0.2, 0.3)])
    grid = image_grid(images, ncols=2, pad=1)
    assert grid.shape == (5, 5, 1)
    assert grid[0, 0, 0] == pytest.approx(0.1) and grid[0, 3, 0] == pytest.approx(0.2)
    assert grid[3, 0, 0] == pytest.approx(0.3) and grid[2, 2, 0] == 1.0 and grid[4, 4, 0] == 1.0
    with pytest.raises(ValueError, match="N, C, H, W"):
        image_grid(np.zeros((2, 2, 2)), ncols=1)


def test_traversal_varies_one_dimension_per_row(model, tmp_path, monkeypatch):
    seen = []
    original = model.decode
    monkeypatch.setattr(model, "decode", lambda z: seen.append(z.clone()) or original(z))
    x = blobs(2)[:][0]
    path = save_traversals(model, x, tmp_path / "t.png", n_values=5)
    codes = seen[0].view(3, 5, 3)  # rows = dims, columns = values
    base = model.represent(x[:1])[0]
    prior = model.prior_sample(512, generator=torch.Generator().manual_seed(0))
    for d in range(3):
        others = [k for k in range(3) if k != d]
        assert torch.allclose(codes[d][:, others], base[others].expand(5, 2))
        expected = torch.quantile(prior[:, d], torch.linspace(0.05, 0.95, 5))
        assert torch.allclose(codes[d][:, d], expected)
    assert Image.open(path).size[1] > Image.open(path).size[0] * 0.4
    with pytest.raises(ValueError, match="out of range"):
        save_traversals(model, x, tmp_path / "t.png", dims=[3])


def test_traversal_truncation_is_stated_and_optional(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    titles, seen = [], []
    monkeypatch.setattr(Axes, "set_title", lambda self, text, *a, **k: titles.append(text))
    model = TinyVAE(TinyConfig(latent_dim=20))
    original = model.decode
    monkeypatch.setattr(model, "decode", lambda z: seen.append(z.clone()) or original(z))
    x = blobs(2)[:][0]
    save_traversals(model, x, tmp_path / "t.png", n_values=3)
    assert seen[0].shape == (16 * 3, 20) and "first 16 of 20 dimensions" in titles[-1]
    seen.clear()
    save_traversals(model, x, tmp_path / "t.png", n_values=3, max_dims=20)
    assert seen[0].shape == (20 * 3, 20) and "all 20 dimensions" in titles[-1]
    save_traversals(model, x, tmp_path / "t.png", n_values=3, dims=[4, 7])
    assert "2 of 20 dimensions" in titles[-1]
    with pytest.raises(ValueError, match="max_dims"):
        save_traversals(model, x, tmp_path / "t.png", max_dims=0)
    with pytest.raises(ValueError, match="dims is empty"):
        save_traversals(model, x, tmp_path / "t.png", dims=[])


def test_traversal_base_column_is_the_decoded_mean_code(model, tmp_path, monkeypatch):
    import gwrep.eval.figures as figures

    grids = []
    original = figures.image_grid
    monkeypatch.setattr(figures, "image_grid", lambda images, ncols: grids.append((images, ncols)) or
                        original(images, ncols))
    x = blobs(2)[:][0]
    save_traversals(model, x, tmp_path / "a.png", n_values=4)
    save_traversals(model, x, tmp_path / "b.png", n_values=4, show_base=False)
    (with_base, ncols), (without, ncols_without) = grids
    assert (ncols, ncols_without) == (5, 4)
    cells = with_base.view(3, 5, *with_base.shape[1:])  # rows = the 3 dims
    base = model.decode(model.represent(x[:1]))[0]
    for row in range(3):
        torch.testing.assert_close(cells[row, 0], base)
    torch.testing.assert_close(cells[:, 1:].flatten(0, 1), without)


def test_samples_are_seeded(model, tmp_path):
    a = save_samples(model, 4, tmp_path / "a.png", seed=1)
    b = save_samples(model, 4, tmp_path / "b.png", seed=1)
    c = save_samples(model, 4, tmp_path / "c.png", seed=2)
    pix = [np.asarray(Image.open(p)) for p in (a, b, c)]
    assert np.array_equal(pix[0], pix[1]) and not np.array_equal(pix[0], pix[2])
    with pytest.raises(ValueError, match="positive"):
        save_samples(model, 0, tmp_path / "d.png")


def test_reconstructions_and_loss_curves(model, tmp_path):
    path = save_reconstructions(model, blobs(6)[:][0], tmp_path / "r.png")
    assert Image.open(path).size[0] > Image.open(path).size[1]
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(r) + "\n" for r in [
        {"step": 1, "split": "train", "loss": 3.0, "kl": 1.0}, {"step": 2, "split": "train", "loss": 2.0, "kl": 1.5},
        {"step": 2, "split": "val", "loss": 2.5, "kl": 1.2, "best": True}]))
    assert save_loss_curves(metrics, tmp_path / "l.png").is_file()
    metrics.write_text('{"step": 1, "split": "train"}\n')
    with pytest.raises(ValueError, match="no loss values"):
        save_loss_curves(metrics, tmp_path / "l2.png")


def test_run_figures(model, tmp_path):
    paths = save_run_figures(model, blobs(4)[:][0], tmp_path / "none.jsonl", tmp_path / "figs")
    assert sorted(p.name for p in paths) == ["reconstructions.png", "samples.png", "traversals.png"]
