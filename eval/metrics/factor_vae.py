"""The FactorVAE disentanglement score.

Kim & Mnih 2018, "Disentangling by Factorising", Section 4; disentanglement_lib's
``evaluation/metrics/factor_vae.py``. Codes are scaled by their global standard
deviations (``num_variance_estimate`` points); dimensions with global std below
``prune_threshold`` (0.05, dlib's setting) are collapsed and dropped. One vote: pick a
factor k, draw ``batch_size`` factor tuples all sharing factor k's value, encode them and
find the kept dimension with the least normalized variance,

.. math::
    j^* = \\arg\\min_{j \\in \\mathrm{kept}} \\mathrm{Var}_b[r_j(x_b)] / \\mathrm{Var}_{\\mathrm{global}}[r_j].

The majority-vote classifier maps each dimension j to the factor that voted for it most
often on ``num_train`` votes; the score is its accuracy on those votes and on
``num_eval`` fresh ones.

Chance level: for codes of pure noise the argmin dimension is independent of the uniform
fixed factor k, so the evaluation accuracy is 1/K in expectation whatever dimension ->
factor map the training votes gave, with binomial spread sqrt((1/K)(1 - 1/K) / num_eval);
the training accuracy is higher (the majority vote fits its own votes). Noise meets a
sanity check's "<= 0.2" only for K >= 6: on dSprites (K = 5) noise scores 0.2.

Differences from dlib (and nmichlo/disent, which ports it): dlib takes the argmin over
the kept dimensions but uses that position as an index into *all* dimensions, so after a
pruned dimension every vote lands on the wrong column; here the position is mapped back
through the kept indices (:func:`factor_vae_votes`). dlib's mislabelling is one-to-one,
so it leaves the two accuracies unchanged, but its vote matrix (which dimension codes
which factor) is wrong. dlib also reports ``num_active_dims`` as the length of the
boolean mask (always d); here it is the number kept. Votes are sampled in groups (one
``represent`` call per ~4096 images), so the random stream differs from dlib's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gwrep.data.base import FactorData

from .utils import IMAGES_PER_CALL, Representation, check_positive_int, represent_groups, \
    sample_codes_factors, with_settings

__all__ = ["factor_vae_score", "factor_vae_votes", "kept_dims", "majority_vote_accuracy", "FAST"]

#: Cheap settings for in-training evaluation (dlib: 64, 10000, 5000, 10000).
FAST: dict[str, Any] = {"batch_size": 64, "num_train": 1000, "num_eval": 500, "num_variance_estimate": 2000}


def factor_vae_score(represent: Representation, data: FactorData, batch_size: int = 64, num_train: int = 10000,
                     num_eval: int = 5000, num_variance_estimate: int = 10000, prune_threshold: float = 0.05,
                     seed: int = 0) -> dict[str, Any]:
    """FactorVAE score of ``represent`` on ``data``.

    Args:
        represent: float32 observations (n, C, H, W) -> codes (n, d).
        data: the factor data set.
        batch_size: points per vote (all share the fixed factor).
        num_train: training votes; num_eval: evaluation votes.
        num_variance_estimate: points for the global variances.
        prune_threshold: dimensions with global std below it are dropped.
        seed: seeds the sampling.

    Returns:
        ``{"train_accuracy", "eval_accuracy", "num_active_dims", "settings.<knob>": ...}``;
        both accuracies are 0 when every dimension is collapsed.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 to estimate a variance, got {batch_size}")
    num_train = check_positive_int("num_train", num_train)
    num_eval = check_positive_int("num_eval", num_eval)
    num_variance_estimate = check_positive_int("num_variance_estimate", num_variance_estimate)
    if num_variance_estimate < 2:
        raise ValueError(f"num_variance_estimate must be at least 2, got {num_variance_estimate}")
    if not prune_threshold >= 0:
        raise ValueError(f"prune_threshold must be >= 0, got {prune_threshold!r}")
    settings = dict(batch_size=batch_size, num_train=num_train, num_eval=num_eval,
                    num_variance_estimate=num_variance_estimate, prune_threshold=prune_threshold, seed=seed)
    rng = np.random.default_rng(seed)
    codes = sample_codes_factors(represent, data, num_variance_estimate, rng, IMAGES_PER_CALL)[0]
    global_variances = np.var(codes, axis=0, ddof=1)
    kept = kept_dims(global_variances, prune_threshold)
    if kept.size == 0:
        return with_settings({"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}, **settings)
    train_votes = factor_vae_votes(represent, data, batch_size, num_train, rng, global_variances, kept)
    classifier = np.argmax(train_votes, axis=0)
    eval_votes = factor_vae_votes(represent, data, batch_size, num_eval, rng, global_variances, kept)
    scores = {"train_accuracy": majority_vote_accuracy(train_votes, classifier),
              "eval_accuracy": majority_vote_accuracy(eval_votes, classifier),
              "num_active_dims": int(kept.size)}
    return with_settings(scores, **settings)


def kept_dims(global_variances: np.ndarray, threshold: float = 0.05) -> np.ndarray:
    """Indices of the dimensions whose global std is at least ``threshold``.

    >>> kept_dims(np.array([0.0, 1.0, 0.001, 4.0])).tolist()
    [1, 3]
    """
    return np.flatnonzero(np.sqrt(global_variances) >= threshold)


def factor_vae_votes(represent: Representation, data: FactorData, batch_size: int, num_points: int,
                     rng: np.random.Generator, global_variances: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Vote counts (K, d): row k, column j counts votes with fixed factor k and argmin dimension j."""
    k = data.num_factors
    labels = rng.integers(k, size=num_points)
    factors = np.asarray(data.sample_factors(num_points * batch_size, rng)).reshape(num_points, batch_size, k)
    rows = np.arange(num_points)
    factors[rows, :, labels] = factors[rows, 0, labels][:, None]
    codes = represent_groups(represent, data, factors, rng)  # (G, B, d)
    local_variances = np.var(codes[:, :, kept], axis=1, ddof=1)  # (G, len(kept))
    argmin = kept[np.argmin(local_variances / global_variances[kept], axis=1)]  # index into all d dims
    votes = np.zeros((k, global_variances.shape[0]), dtype=np.int64)
    np.add.at(votes, (labels, argmin), 1)
    return votes


def majority_vote_accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
    """Fraction of votes (K, d) whose dimension's majority factor ``classifier`` (d,) is right.

    >>> majority_vote_accuracy(np.array([[3, 0], [1, 4]]), np.array([0, 1]))
    0.875
    """
    return float(votes[classifier, np.arange(votes.shape[1])].sum() / votes.sum())
