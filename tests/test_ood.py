"""Tests of eval/ood.py (gwrep.eval.ood): OoD metrics against scikit-learn, dataset scoring."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from gwrep.eval.ood import ood_metrics, ood_roc_curve, score_dataset


def _sklearn_reference(s_in: np.ndarray, s_out: np.ndarray) -> dict[str, float]:
    """The four numbers computed with scikit-learn, conventions as in the module docstring."""
    scores = np.concatenate([s_in, s_out])
    is_out = np.concatenate([np.zeros(s_in.size), np.ones(s_out.size)])
    fpr, tpr, _ = roc_curve(1 - is_out, -scores, drop_intermediate=False)  # in-distribution positive
    return {
        "auroc": roc_auc_score(is_out, scores),
        "aupr_out": average_precision_score(is_out, scores),
        "aupr_in": average_precision_score(1 - is_out, -scores),
        "fpr_at_95_tpr": float(fpr[np.searchsorted(tpr, 0.95, side="left")]),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rounding", [None, 1])  # rounding to 1 decimal makes many ties
def test_matches_sklearn(seed: int, rounding: int | None) -> None:
    rng = np.random.default_rng(seed)
    s_in = rng.normal(0.0, 1.0, size=300)
    s_out = rng.normal(0.8, 1.3, size=170)
    if rounding is not None:
        s_in, s_out = s_in.round(rounding), s_out.round(rounding)
    ours = ood_metrics(s_in, s_out)
    ref = _sklearn_reference(s_in, s_out)
    assert set(ours) == {"auroc", "aupr_in", "aupr_out", "fpr_at_95_tpr"}
    for key in ref:
        assert ours[key] == pytest.approx(ref[key], abs=1e-12), key


def test_auroc_is_pairwise_probability_with_ties_half() -> None:
    s_in = np.array([0.0, 1.0, 1.0, 2.0])
    s_out = np.array([1.0, 3.0])
    # Pairs (out > in) + 0.5 (out == in): out=1 -> 1 + 0.5*2 ; out=3 -> 4  => 6 / 8.
    assert ood_metrics(s_in, s_out)["auroc"] == pytest.approx(6 / 8)


def test_perfect_separation() -> None:
    m = ood_metrics(np.linspace(0, 1, 50), np.linspace(2, 3, 40))
    assert m == {"auroc": 1.0, "aupr_in": 1.0, "aupr_out": 1.0, "fpr_at_95_tpr": 0.0}


def test_reversed_scores_are_worst() -> None:
    m = ood_metrics(np.linspace(2, 3, 50), np.linspace(0, 1, 40))
    assert m["auroc"] == 0.0
    assert m["fpr_at_95_tpr"] == 1.0


def test_random_scores_near_half() -> None:
    rng = np.random.default_rng(123)
    m = ood_metrics(rng.random(20000), rng.random(20000))
    assert abs(m["auroc"] - 0.5) < 0.01
    assert abs(m["aupr_out"] - 0.5) < 0.01 and abs(m["aupr_in"] - 0.5) < 0.01
    assert abs(m["fpr_at_95_tpr"] - 0.95) < 0.01


def test_all_tied_scores() -> None:
    m = ood_metrics(np.ones(10), np.ones(30))
    assert m["auroc"] == 0.5
    assert m["aupr_out"] == pytest.approx(0.75)  # the positive rate
    assert m["fpr_at_95_tpr"] == 1.0


def test_roc_curve_matches_sklearn_and_area() -> None:
    rng = np.random.default_rng(5)
    s_in, s_out = rng.normal(size=80).round(1), rng.normal(1, 1, size=60).round(1)
    fpr, tpr = ood_roc_curve(s_in, s_out)
    labels = np.r_[np.zeros(80), np.ones(60)]
    ref_fpr, ref_tpr, _ = roc_curve(labels, np.r_[s_in, s_out], drop_intermediate=False)
    # sklearn prepends (0, 0) with an infinite threshold exactly as we do.
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    assert np.trapezoid(tpr, fpr) == pytest.approx(ood_metrics(s_in, s_out)["auroc"])


@pytest.mark.parametrize(
    "bad, match",
    [
        ([], "empty"),
        ([0.1, float("nan")], "non-finite"),
        ([0.1, float("inf")], "non-finite"),
        ([[0.1, 0.2]], "1-D"),
        (["a", "b"], "numeric"),
    ],
)
def test_bad_input(bad: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ood_metrics(bad, [0.0, 1.0])
    with pytest.raises(ValueError, match=match):
        ood_metrics([0.0, 1.0], bad)


class _MeanBrightness(torch.nn.Module):
    """A stand-in with the model interface's ood_score: mean pixel value."""

    def ood_score(self, x: torch.Tensor) -> torch.Tensor:
        assert not self.training  # scoring runs in eval mode
        return x.flatten(1).mean(1)


def test_score_dataset_order_and_mode() -> None:
    images = torch.rand(23, 1, 4, 4)
    ds = torch.utils.data.TensorDataset(images, torch.zeros(23, dtype=torch.long))
    model = _MeanBrightness().train()
    scores = score_dataset(model, ds, batch_size=5)
    np.testing.assert_allclose(scores, images.flatten(1).mean(1).double().numpy(), rtol=1e-6)
    assert model.training  # restored
    with pytest.raises(ValueError, match="batch_size"):
        score_dataset(model, ds, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        score_dataset(model, torch.utils.data.TensorDataset(images[:0]))


def test_score_dataset_rejects_wrong_shape_and_nan() -> None:
    ds = torch.utils.data.TensorDataset(torch.rand(4, 1, 2, 2))

    class Wrong(torch.nn.Module):
        def ood_score(self, x):
            return x.flatten(1)

    class NaN(torch.nn.Module):
        def ood_score(self, x):
            return torch.full((x.shape[0],), float("nan"))

    with pytest.raises(ValueError, match="shape"):
        score_dataset(Wrong(), ds)
    with pytest.raises(ValueError, match="non-finite"):
        score_dataset(NaN(), ds)
