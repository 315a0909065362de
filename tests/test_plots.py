"""Tests of eval/plots.py (gwrep.eval.plots): the ROC, DCI-importance and comparison figures."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from PIL import Image

from gwrep.eval.plots import plot_dci_importance, plot_metric_comparison, plot_roc_curves, plot_score_histograms


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


@pytest.mark.parametrize("shape", [(64, 40), (8, 200)])
def test_dci_importance_size_is_capped_for_large_matrices(tmp_path, shape) -> None:
    # 64 codes x 40 factors used to give a 4740 px wide PNG; now at most 10 x 7 in at 150 dpi
    matrix = np.random.default_rng(1).random(shape)
    names = [f"factor_{k}" for k in range(shape[1])]
    image = _check_png(plot_dci_importance(matrix, names, tmp_path / "dci.png"))
    assert image.shape[1] <= 10 * 150 + 1 and image.shape[0] <= 7 * 150 + 1


def test_dci_tick_labels_are_thinned() -> None:
    from gwrep.eval.plots import _tick_step

    assert [_tick_step(n, 40) for n in (1, 40, 41, 80, 200)] == [1, 1, 2, 2, 5]
    assert _tick_step(64, 20) == 4


def test_metric_comparison(tmp_path) -> None:
    table = {"gwae": {"mig": [0.3, 0.4], "auroc": 0.9}, "vae": {"mig": [0.1, 0.2, 0.15]}}
    _check_png(plot_metric_comparison(table, tmp_path / "cmp.png"))
    with pytest.raises(ValueError, match="no runs"):
        plot_metric_comparison({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="no metrics"):
        plot_metric_comparison({"a": {}}, tmp_path / "x.png")


def test_score_histograms(tmp_path) -> None:
    rng = np.random.default_rng(0)
    scores = {"detector": (rng.normal(0, 1, 500), rng.normal(3, 1, 400)),   # OoD scored higher: AUROC ~ 0.98
              "inverted": (rng.normal(3, 1, 500), rng.normal(0, 1, 400)),   # OoD scored lower: AUROC ~ 0.02
              "constant": (np.zeros(10), np.zeros(10))}                      # one value: bins still drawn
    path = plot_score_histograms(scores, tmp_path / "scores.png")
    image = _check_png(path, (900, 300))
    assert image.shape[1] > 2 * image.shape[0]  # three panels side by side
    with pytest.raises(ValueError, match="no score sets"):
        plot_score_histograms({}, tmp_path / "none.png")


def test_roc_curves_of_many_seeds_share_a_colour_per_model(tmp_path) -> None:
    from gwrep.eval.plots import _group_styles

    names = [f"{m} s{s}" for m in ("vae", "dagmm", "gwae-gmp", "gwae-np") for s in range(3)]
    colors, styles = _group_styles(names)
    assert len(set(colors.values())) == 4 and colors["vae s0"] == colors["vae s2"] != colors["gwae-np s0"]
    assert styles["vae s0"] != styles["vae s1"] != styles["vae s2"]
    curves = {n: ([0, 0.5, 1], [0, 0.5, 1], 0.5) for n in names}
    image = _check_png(plot_roc_curves(curves, tmp_path / "roc.png"))
    assert image.shape[1] > 1.4 * image.shape[0]  # the long legend sits beside the axes
