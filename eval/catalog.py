"""The metrics ``gwrep eval`` computes, by name, and the headline numbers of their results.

:data:`FACTOR_METRICS` maps each disentanglement metric's name (as ``gwrep eval --metrics`` and
the experiment and study files write it) to its function in :mod:`gwrep.eval.metrics`;
:func:`summarize` reduces their result dicts to the flat ``summary`` of ``RUN/eval.json``.
Library code (experiments, the study) reads them here rather than from the CLI.

>>> summarize({"mig": {"discrete_mig": 0.25}, "dci": {"disentanglement": 0.5, "completeness": 0.4}})
{'mig': 0.25, 'dci_disentanglement': 0.5, 'dci_completeness': 0.4}
"""
from __future__ import annotations

import contextlib
import sys
import warnings
from typing import Any, Iterator

__all__ = ["FACTOR_METRICS", "IMAGE_METRICS", "ALL_METRICS", "HEADLINE", "summarize", "warnings_summarized"]

#: Factor metric name -> (module of gwrep.eval.metrics, function); "dci" runs as compute_dci_importance
#: (the same numbers plus the importance matrix for the heatmap).
FACTOR_METRICS: dict[str, tuple[str, str]] = {
    "mig": ("mig", "compute_mig"),
    "sap": ("sap", "compute_sap"),
    "dci": ("dci", "compute_dci_importance"),
    "modularity_explicitness": ("modularity", "compute_modularity_explicitness"),
    "beta_vae_score": ("beta_vae", "beta_vae_score"),
    "factor_vae_score": ("factor_vae", "factor_vae_score"),
}
IMAGE_METRICS = ("psnr", "fid", "recon_fid")
ALL_METRICS = (*FACTOR_METRICS, *IMAGE_METRICS)

#: Headline numbers: summary name -> (metric, key in that metric's dict).
HEADLINE: dict[str, tuple[str, str]] = {
    "mig": ("mig", "discrete_mig"),
    "sap": ("sap", "SAP_score"),
    "dci_disentanglement": ("dci", "disentanglement"),
    "dci_completeness": ("dci", "completeness"),
    "dci_informativeness": ("dci", "informativeness_test"),
    "modularity": ("modularity_explicitness", "modularity_score"),
    "explicitness": ("modularity_explicitness", "explicitness_score_test"),
    "beta_vae_score": ("beta_vae_score", "eval_accuracy"),
    "factor_vae_score": ("factor_vae_score", "eval_accuracy"),
    "psnr": ("psnr", "psnr"),
    "fid": ("fid", "fid"),
    "recon_fid": ("recon_fid", "fid"),
}


@contextlib.contextmanager
def warnings_summarized(metric: str) -> Iterator[None]:
    """Show each distinct warning of a metric once, in one line with its count.

    disentanglement_lib's classifiers (scikit-learn's lbfgs logistic regression, with its
    default iteration limit) warn on every fit that stops at the limit; the metrics keep
    those defaults, so the repeated multi-line warnings would only bury the results.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    counts: dict[tuple[str, str], int] = {}
    for w in caught:
        first = (str(w.message).strip().splitlines() or [""])[0].rstrip(":")
        counts[(w.category.__name__, first)] = counts.get((w.category.__name__, first), 0) + 1
    for (category, message), count in counts.items():
        print(f"note: {metric}: {category} x{count}: {message}", file=sys.stderr)


def summarize(metrics: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The flat headline numbers of :data:`HEADLINE` present in ``metrics``."""
    return {k: float(metrics[m][key]) for k, (m, key) in HEADLINE.items() if m in metrics and key in metrics[m]}
