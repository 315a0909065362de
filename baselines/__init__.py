"""gwrep.baselines: the classic models GWAE is compared with, on the shared interface.

Convention: one file per model, its config dataclass beside it, inheriting
:class:`~gwrep.models.base.ModelConfig` (the VAE family inherits :class:`VAEConfig`);
each is registered by name in :mod:`gwrep.registry` (``vae``, ``beta-vae``,
``annealed-vae``, ``factor-vae``, ``dip-vae-i``, ``dip-vae-ii``, ``beta-tcvae``,
``wae-mmd``, ``wae-gan``, ``dagmm``) and built with
``gwrep.models.build_model(name, **options)``. Regularisers are pure functions in
:mod:`gwrep.baselines.regularizers`; the discriminator pieces shared by FactorVAE and
WAE-GAN are in :mod:`gwrep.baselines.adversarial`.

Names are imported lazily so ``import gwrep.baselines`` stays cheap.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "LatentAutoencoder", "VAE", "VAEConfig",
    "BetaVAE", "BetaVAEConfig",
    "AnnealedVAE", "AnnealedVAEConfig",
    "FactorVAE", "FactorVAEConfig",
    "DIPVAE", "DIPVAEConfig",
    "BetaTCVAE", "BetaTCVAEConfig",
    "WAE", "WAEConfig",
    "DAGMM", "DAGMMConfig",
]

_MODULE_OF = {
    "LatentAutoencoder": "vae", "VAE": "vae", "VAEConfig": "vae",
    "BetaVAE": "beta_vae", "BetaVAEConfig": "beta_vae",
    "AnnealedVAE": "annealed_vae", "AnnealedVAEConfig": "annealed_vae",
    "FactorVAE": "factor_vae", "FactorVAEConfig": "factor_vae",
    "DIPVAE": "dip_vae", "DIPVAEConfig": "dip_vae",
    "BetaTCVAE": "beta_tcvae", "BetaTCVAEConfig": "beta_tcvae",
    "WAE": "wae", "WAEConfig": "wae",
    "DAGMM": "dagmm", "DAGMMConfig": "dagmm",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'gwrep.baselines' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gwrep.baselines.{_MODULE_OF[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
