"""Tests of eval/plots.py (gwrep.eval.plots): the ROC, DCI-importance and comparison figures."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

from gwrep.eval.plots import plot_dci_importance, plot_metric_comparison, plot_roc_curves


def _check_png(path, min_size: tuple[int, int] = (400, 300)) -> np.ndarray:
    image = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert image.shape[1] >= min_size[0] and image.shape[0] >= min_size[1]
    assert image.std() > 5  # something was drawn
    return image


def test_roc_curves(tmp_path) -> None:
    before = dict(matplotlib.rcParams)
    curves = {"a": ([0, 0.2, 1], [0, 0.8, 1], 0.8), "b": (np.linspace(0, 1, 5), np.linspace(0, 1, 5), 0.5)}
    path = plot_roc_curves(curves, tmp_path / "sub" / "roc.png")
    _check_png(path)
    assert dict(matplotlib.rcParams) == before  # no global state touched
    with pytest.raises(ValueError, match="no ROC"):
        plot_roc_curves({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="equal-length"):
        plot_roc_curves({"a": ([0, 1], [0, 0.5, 1], 0.5)}, tmp_path / "x.png")


@pytest.mark.parametrize("codes", [4, 40])
def test_dci_importance(tmp_path, codes: int) -> None:
    matrix = np.random.default_rng(0).random((codes, 3))
    image = _check_png(plot_dci_importance(matrix, ["shape", "scale", "posX"], tmp_path / "dci.png"))
    assert image.shape[0] <= 7 * 150 + 1  # height capped for wide codes
    with pytest.raises(ValueError, match="factor names"):
        plot_dci_importance(matrix, ["shape"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="2-D"):
        plot_dci_importance(matrix[0], ["a"], tmp_path / "x.png")


def test_metric_comparison(tmp_path) -> None:
    table = {"gwae": {"mig": [0.3, 0.4], "auroc": 0.9}, "vae": {"mig": [0.1, 0.2, 0.15]}}
    _check_png(plot_metric_comparison(table, tmp_path / "cmp.png"))
    with pytest.raises(ValueError, match="no runs"):
        plot_metric_comparison({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="no metrics"):
        plot_metric_comparison({"a": {}}, tmp_path / "x.png")
