"""Out-of-distribution (OoD) detection: threshold-free metrics and dataset scoring.

A model's :meth:`~gwrep.models.base.Model.ood_score` gives one score per input, higher
meaning *more anomalous*. :func:`ood_metrics` compares the scores of an
in-distribution set with those of an OoD set, with these conventions (the GWAE paper,
Nakagawa et al. 2023, Sec. 5.3, reports AUROC with OoD as the positive class):

- ``auroc``: area under the ROC curve, OoD = positive class, score = decision value.
  Equals the probability that a random OoD sample scores higher than a random
  in-distribution one, ties counted one half (trapezoidal rule over distinct thresholds).
- ``aupr_out``: average precision (step-wise area under the precision-recall curve,
  ``sum_n (R_n - R_{n-1}) P_n`` over distinct thresholds, no interpolation) with OoD
  as the positive class and the score as decision value.
- ``aupr_in``: the same with in-distribution as the positive class and the negated
  score as decision value (Hendrycks & Gimpel 2017).
- ``fpr_at_95_tpr``: in-distribution as the positive class (Liang et al. 2018, ODIN;
  OpenOOD): a sample is accepted as in-distribution when its score is ``<= t``; ``t`` is
  the smallest score value that accepts at least 95% of the in-distribution samples, and
  the result is the fraction of OoD samples accepted at that ``t``. Lower is better.

All four agree with scikit-learn's ``roc_auc_score``, ``average_precision_score`` and
``roc_curve`` on the same scores (tested).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from gwrep.models.base import Model

__all__ = ["ood_metrics", "ood_roc_curve", "score_dataset", "check_scores", "METRIC_NAMES"]

#: The true-positive rate at which ``fpr_at_95_tpr`` is read.
TPR_LEVEL = 0.95
#: The keys of :func:`ood_metrics` (``gwrep ood`` writes them to ood.json's summary as ``ood_<key>``).
METRIC_NAMES = ("auroc", "aupr_in", "aupr_out", "fpr_at_95_tpr")


def check_scores(name: str, scores: object) -> np.ndarray:
    """``scores`` as a finite 1-D float64 array; ``ValueError`` naming ``name`` otherwise."""
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric scores, got {type(scores).__name__}: {err}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one score per sample), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: need at least one score")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{name} has {bad} non-finite value(s) (NaN or inf) out of {arr.size}")
    return arr


def _binary_curve(positives: np.ndarray, negatives: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True/false positive counts at each distinct threshold, highest threshold first.

    A sample is predicted positive when its score is ``>= threshold``. Returns
    ``(tp, fp, thresholds)``, each of length (number of distinct scores); tied scores
    enter together, which is what makes ties count one half in the AUROC.
    """
    scores = np.concatenate([positives, negatives])
    labels = np.concatenate([np.ones(positives.size), np.zeros(negatives.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    # Last index of each run of equal scores (distinct thresholds).
    last = np.flatnonzero(np.diff(scores) != 0)
    last = np.append(last, scores.size - 1)
    tp = np.cumsum(labels)[last]
    fp = (last + 1) - tp
    return tp, fp, scores[last]


def _auroc(positives: np.ndarray, negatives: np.ndarray) -> float:
    tp, fp, _ = _binary_curve(positives, negatives)
    tpr = np.concatenate([[0.0], tp / positives.size])
    fpr = np.concatenate([[0.0], fp / negatives.size])
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def _average_precision(positives: np.ndarray, negatives: np.ndarray) -> float:
    tp, fp, _ = _binary_curve(positives, negatives)
    precision = tp / (tp + fp)
    recall = np.concatenate([[0.0], tp / positives.size])
    return float(np.sum(np.diff(recall) * precision))


def _fpr_at_tpr(positives: np.ndarray, negatives: np.ndarray, level: float) -> float:
    tp, fp, _ = _binary_curve(positives, negatives)
    tpr = tp / positives.size
    index = int(np.searchsorted(tpr, level - 1e-12, side="left"))
    return float(fp[index] / negatives.size)


def ood_metrics(scores_in: object, scores_out: object) -> dict[str, float]:
    """AUROC, AUPR-in, AUPR-out and FPR at 95% TPR of OoD scores (higher = more anomalous).

    Parameters:
        scores_in: (n_in,) scores of in-distribution samples.
        scores_out: (n_out,) scores of out-of-distribution samples.

    Returns:
        ``{"auroc", "aupr_in", "aupr_out", "fpr_at_95_tpr"}`` as floats; see the module
        docstring for which class is positive in each.

    Raises:
        ValueError: empty, non-1-D or non-finite scores.

    >>> m = ood_metrics([0.1, 0.2, 0.3], [0.25, 0.9])
    >>> round(m["auroc"], 4), m["fpr_at_95_tpr"]
    (0.8333, 0.5)
    """
    s_in = check_scores("scores_in", scores_in)
    s_out = check_scores("scores_out", scores_out)
    return {
        "auroc": _auroc(s_out, s_in),
        "aupr_in": _average_precision(-s_in, -s_out),
        "aupr_out": _average_precision(s_out, s_in),
        # In-distribution positive, accepted when score <= t  <=>  -score >= -t.
        "fpr_at_95_tpr": _fpr_at_tpr(-s_in, -s_out, TPR_LEVEL),
    }


def ood_roc_curve(scores_in: object, scores_out: object) -> tuple[np.ndarray, np.ndarray]:
    """The ROC curve with OoD as the positive class: ``(fpr, tpr)`` from (0, 0) to (1, 1).

    ``fpr`` is the fraction of in-distribution samples flagged, ``tpr`` the fraction of
    OoD samples flagged, one point per distinct score threshold (the curve whose area
    is ``ood_metrics(...)["auroc"]``).
    """
    s_in = check_scores("scores_in", scores_in)
    s_out = check_scores("scores_out", scores_out)
    tp, fp, _ = _binary_curve(s_out, s_in)
    return np.concatenate([[0.0], fp / s_in.size]), np.concatenate([[0.0], tp / s_out.size])


def score_dataset(
    model: "Model",
    dataset: "torch.utils.data.Dataset",
    batch_size: int = 256,
    device: "str | torch.device" = "cpu",
) -> np.ndarray:
    """``model.ood_score`` of every image of ``dataset`` in order, as a float64 (N,) array.

    The dataset yields ``(image, target)`` pairs (images float32 (C, H, W) in [0, 1]);
    the model is moved to ``device`` and put in eval mode for the pass and restored
    afterwards. Non-finite scores raise ``ValueError`` (a broken model must not give an AUROC).
    """
    import torch

    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(dataset) == 0:
        raise ValueError("dataset is empty: nothing to score")
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    was_training = model.training
    model.to(device)
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for batch in loader:
                images = batch[0] if isinstance(batch, (tuple, list)) else batch
                scores = model.ood_score(images.to(device))
                if scores.shape != (images.shape[0],):
                    raise ValueError(
                        f"{type(model).__name__}.ood_score returned shape {tuple(scores.shape)} for a batch of "
                        f"{images.shape[0]}; expected ({images.shape[0]},)")
                out.append(scores.detach().double().cpu().numpy())
    finally:
        model.train(was_training)
    scores = np.concatenate(out)
    if not np.isfinite(scores).all():
        raise ValueError(f"{type(model).__name__}.ood_score gave {int((~np.isfinite(scores)).sum())} non-finite scores")
    return scores
