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

# OoD detection, FID/PSNR and the paper figures (eval/ood.py, fid.py, generation.py, plots.py).
from .fid import compute_fid, fid_from_features, frechet_distance, load_extractor
from .generation import model_fid, psnr, reconstruction_psnr
from .ood import ood_metrics, ood_roc_curve, score_dataset
from .plots import plot_dci_importance, plot_metric_comparison, plot_roc_curves

__all__ += [
    "compute_fid", "fid_from_features", "frechet_distance", "load_extractor",
    "model_fid", "psnr", "reconstruction_psnr",
    "ood_metrics", "ood_roc_curve", "score_dataset",
    "plot_dci_importance", "plot_metric_comparison", "plot_roc_curves",
]

# The study's further per-run scores (Locatello et al. 2019; Duan et al. 2020): eval/unsupervised.py,
# downstream.py, udr.py.
from .downstream import compute_downstream, downstream_task, sample_efficiency
from .udr import pairwise_udr, udr_pair, udr_scores
from .unsupervised import compute_unsupervised, unsupervised_scores

__all__ += [
    "compute_downstream", "downstream_task", "sample_efficiency",
    "pairwise_udr", "udr_pair", "udr_scores",
    "compute_unsupervised", "unsupervised_scores",
]
