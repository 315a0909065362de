"""Evaluation of representations: disentanglement metrics (``gwrep.eval.metrics``)."""
from .metrics import beta_vae_score
from .metrics import compute_dci
from .metrics import compute_mig
from .metrics import compute_modularity_explicitness
from .metrics import compute_sap
from .metrics import dci
from .metrics import factor_vae_score
from .metrics import mig
from .metrics import model_representation
from .metrics import modularity_explicitness
from .metrics import sap

__all__ = [
    "beta_vae_score",
    "compute_dci",
    "compute_mig",
    "compute_modularity_explicitness",
    "compute_sap",
    "dci",
    "factor_vae_score",
    "mig",
    "model_representation",
    "modularity_explicitness",
    "sap",
]
