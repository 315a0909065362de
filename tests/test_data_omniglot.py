"""Tests of gwrep/data/omniglot.py: npz and PNG-folder sources, polarity, splits, bad input."""
import numpy as np
import pytest
from PIL import Image

from gwrep.data.omniglot import build_dataset
from gwrep.data.transforms import ImageTransform

T = ImageTransform()


def test_real_counts_and_polarity(data_root):
    root = data_root / "omniglot"
    background = build_dataset(root, "background", T, 0)
    evaluation = build_dataset(root, "test", T, 0)
    assert (background.num_characters, background.num_drawers) == (964, 20) and len(background) == 19280
    assert (evaluation.num_characters, evaluation.num_drawers) == (659, 20) and len(evaluation) == 13180
    x, y = evaluation.get_batch(np.arange(0, 13180, 500))
    assert x.shape[1:] == (1, 105, 105) and x.mean() > 0.8  # dark strokes on white paper, as the files
    assert y[:2].tolist() == [0, 25] and y.max() <= 658  # 20 drawers per character
    inverted = build_dataset(root, "evaluation", ImageTransform(28, 3), 0, polarity="mnist")
    xi, _ = inverted.get_batch(np.arange(0, 13180, 500))
    assert xi.shape[1:] == (3, 28, 28) and xi.mean() < 0.2  # bright strokes on black, like MNIST
    train, val = (build_dataset(root, s, T, 0) for s in ("train", "val"))
    assert (len(train), len(val)) == (17352, 1928) and not set(train.rows) & set(val.rows)


def test_png_folder_layout(tmp_path):
    rng = np.random.default_rng(0)
    for a, alphabet in enumerate(("Alpha", "Beta")):
        for c in range(2):
            folder = tmp_path / "images_evaluation" / alphabet / f"character{c + 1:02d}"
            folder.mkdir(parents=True)
            for d in range(3):
                Image.fromarray(rng.random((105, 105)) > 0.2).save(folder / f"{a}{c}_{d:02d}.png")
    ds = build_dataset(tmp_path, "evaluation", T, 0)
    x, y = ds.get_batch(np.arange(12))
    assert len(ds) == 12 and x.shape == (12, 1, 105, 105) and y.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    assert set(np.unique(x.numpy()).tolist()) == {0.0, 1.0} and x.mean() > 0.7


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="images_background"):
        build_dataset(tmp_path, "background", T, 0)
    (tmp_path / "images_background").mkdir()
    with pytest.raises(ValueError, match="no PNG"):
        build_dataset(tmp_path, "background", T, 0)
    np.savez(tmp_path / "images_evaluation.npz", images=np.zeros((2, 20, 64, 64), bool), labels=np.zeros((2, 20), int))
    with pytest.raises(ValueError, match="images_evaluation.npz.*105, 105"):
        build_dataset(tmp_path, "evaluation", T, 0)
    with pytest.raises(ValueError, match="polarity"):
        build_dataset(tmp_path, "evaluation", T, 0, polarity="inverted")
    with pytest.raises(ValueError, match="split"):
        build_dataset(tmp_path, "all", T, 0)
