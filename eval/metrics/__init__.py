"""Disentanglement metrics with disentanglement_lib's definitions, defaults and key names.

One module per metric (Locatello et al. 2019 evaluate all six): ``mig``, ``sap``,
``dci``, ``modularity`` (modularity and explicitness), ``beta_vae``, ``factor_vae``;
``utils`` holds the shared pieces. Each array metric has three layers: a public
``compute_<metric>(represent, data, ..., seed)`` that samples factors and codes from a
:class:`~gwrep.data.base.FactorData`, a public core on arrays (codes (N, d) float,
factors (N, K) int) returning a dict of scores under dlib's key names plus every
setting as ``"settings.<name>"``, and one helper per equation. Each module declares
``FAST``: smaller sample sizes for in-training evaluation.
"""
from .beta_vae import beta_vae_score
from .dci import compute_dci, compute_dci_importance, dci, dci_importance
from .factor_vae import factor_vae_score
from .mig import compute_mig, mig
from .modularity import compute_modularity_explicitness, modularity_explicitness
from .sap import compute_sap, sap
from .utils import model_representation

__all__ = [
    "mig", "compute_mig",
    "sap", "compute_sap",
    "dci", "compute_dci", "dci_importance", "compute_dci_importance",
    "modularity_explicitness", "compute_modularity_explicitness",
    "beta_vae_score",
    "factor_vae_score",
    "model_representation",
]
