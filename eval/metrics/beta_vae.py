"""The BetaVAE disentanglement score.

Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", Section 3; disentanglement_lib's ``evaluation/metrics/beta_vae.py``
(``compute_beta_vae_sklearn``). One vote: pick a factor k uniformly, draw two batches of
``batch_size`` factor tuples that agree on factor k, encode both, and take the feature

.. math::
    z_{\\mathrm{diff}} = \\frac{1}{B} \\sum_{b=1}^{B} \\lvert r(x^{(1)}_b) - r(x^{(2)}_b) \\rvert \\in \\mathbb{R}^d.

A logistic regression predicts k from z_diff; the score is its accuracy on ``num_train``
training votes and on ``num_eval`` fresh votes.

Chance level: for codes independent of the observations (pure noise) the features tell
nothing about k, and k is uniform, so the evaluation accuracy is 1/K in expectation
whatever the classifier predicts, with binomial spread sqrt((1/K)(1 - 1/K) / num_eval)
(0.006 at dlib's 5000 votes and K = 5); the training accuracy sits above it by
overfitting. Noise thus meets a sanity check's "<= 0.2" only where 1/K plus that spread
is below 0.2, i.e. K >= 6: on dSprites (K = 5) noise scores 0.2.

Differences from dlib: votes are sampled in groups (one ``represent`` call per ~4096
images instead of two per vote), so the random stream differs from dlib's, but the
distribution of votes is the same; the logistic regression is seeded by ``seed``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gwrep.data.base import FactorData

from .utils import Representation, check_positive_int, represent_groups, with_settings

__all__ = ["beta_vae_score", "beta_vae_votes", "FAST"]

#: Cheap settings for in-training evaluation (dlib: batch_size=64, num_train=10000, num_eval=5000).
FAST: dict[str, Any] = {"batch_size": 64, "num_train": 1000, "num_eval": 500}


def beta_vae_score(represent: Representation, data: FactorData, batch_size: int = 64, num_train: int = 10000,
                   num_eval: int = 5000, seed: int = 0) -> dict[str, Any]:
    """BetaVAE score of ``represent`` on ``data``.

    Args:
        represent: float32 observations (n, C, H, W) -> codes (n, d).
        data: the factor data set.
        batch_size: pairs averaged into one vote's feature.
        num_train: training votes; num_eval: evaluation votes.
        seed: seeds the sampling and the classifier.

    Returns:
        ``{"train_accuracy", "eval_accuracy", "settings.<knob>": ...}``.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    num_train = check_positive_int("num_train", num_train)
    num_eval = check_positive_int("num_eval", num_eval)
    from sklearn.linear_model import LogisticRegression  # lazy: cheap package import

    rng = np.random.default_rng(seed)
    train_x, train_y = beta_vae_votes(represent, data, batch_size, num_train, rng)
    model = LogisticRegression(random_state=seed).fit(train_x, train_y)
    eval_x, eval_y = beta_vae_votes(represent, data, batch_size, num_eval, rng)
    scores = {"train_accuracy": float(np.mean(model.predict(train_x) == train_y)),
              "eval_accuracy": float(np.mean(model.predict(eval_x) == eval_y))}
    return with_settings(scores, batch_size=batch_size, num_train=num_train, num_eval=num_eval, seed=seed)


def beta_vae_votes(represent: Representation, data: FactorData, batch_size: int, num_points: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``num_points`` votes: features z_diff (num_points, d) and fixed-factor labels (num_points,)."""
    k = data.num_factors
    labels = rng.integers(k, size=num_points)
    first = np.asarray(data.sample_factors(num_points * batch_size, rng)).reshape(num_points, batch_size, k)
    second = np.asarray(data.sample_factors(num_points * batch_size, rng)).reshape(num_points, batch_size, k)
    second[np.arange(num_points), :, labels] = first[np.arange(num_points), :, labels]
    codes = represent_groups(represent, data, np.concatenate([first, second], axis=1), rng)  # (G, 2B, d)
    features = np.mean(np.abs(codes[:, :batch_size] - codes[:, batch_size:]), axis=1)
    return features, labels
