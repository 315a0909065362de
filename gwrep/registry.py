"""One name-to-class registry for models and priors, with lazy imports.

The CLI, :func:`gwrep.load`, the comparisons and the contract tests all read these
tables; adding a model is one line here and one file in ``gwrep/models`` or
``baselines/``. Entries are ``"module:attribute"`` strings imported on first use, plus
default config overrides (``gwae-fnp`` is GWAE with ``prior="fnp"``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Entry", "MODELS", "PRIORS", "get_model_class", "get_prior_class", "model_names", "prior_names",
           "resolve_model"]


@dataclass(frozen=True)
class Entry:
    """A registered class: where it lives and the config defaults its name implies."""

    target: str
    defaults: dict[str, Any] = field(default_factory=dict)
    summary: str = ""

    def load(self) -> type:
        module_name, _, attr = self.target.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)


MODELS: dict[str, Entry] = {
    "gwae": Entry("gwrep.models.gwae:GWAE", {}, "Gromov-Wasserstein Autoencoder (prior from config, default fnp)"),
    "gwae-gauss": Entry("gwrep.models.gwae:GWAE", {"prior": "gaussian"}, "GWAE with a fixed standard Gaussian prior"),
    "gwae-np": Entry("gwrep.models.gwae:GWAE", {"prior": "np"}, "GWAE with the neural prior (NP)"),
    "gwae-fnp": Entry("gwrep.models.gwae:GWAE", {"prior": "fnp"}, "GWAE with the factorized neural prior (FNP)"),
    "gwae-gmp": Entry("gwrep.models.gwae:GWAE", {"prior": "gmp"}, "GWAE with the Gaussian-mixture prior (GMP)"),
    "vae": Entry("gwrep.baselines.vae:VAE", {}, "VAE (Kingma & Welling 2014)"),
    "beta-vae": Entry("gwrep.baselines.beta_vae:BetaVAE", {}, "beta-VAE (Higgins et al. 2017)"),
    "annealed-vae": Entry("gwrep.baselines.annealed_vae:AnnealedVAE", {}, "AnnealedVAE (Burgess et al. 2018)"),
    "factor-vae": Entry("gwrep.baselines.factor_vae:FactorVAE", {}, "FactorVAE (Kim & Mnih 2018)"),
    "dip-vae-i": Entry("gwrep.baselines.dip_vae:DIPVAE", {"variant": "i"}, "DIP-VAE-I (Kumar et al. 2018)"),
    "dip-vae-ii": Entry("gwrep.baselines.dip_vae:DIPVAE", {"variant": "ii"}, "DIP-VAE-II (Kumar et al. 2018)"),
    "beta-tcvae": Entry("gwrep.baselines.beta_tcvae:BetaTCVAE", {}, "beta-TCVAE (Chen et al. 2018)"),
    "wae-mmd": Entry("gwrep.baselines.wae:WAE", {"regularizer": "mmd"}, "WAE-MMD (Tolstikhin et al. 2018)"),
    "wae-gan": Entry("gwrep.baselines.wae:WAE", {"regularizer": "gan"}, "WAE-GAN (Tolstikhin et al. 2018)"),
    "dagmm": Entry("gwrep.baselines.dagmm:DAGMM", {}, "DAGMM (Zong et al. 2018)"),
    "ds-vae": Entry("gwrep.models.ds_vae:DSVAE", {}, "Disentangled Sequential VAE on clips (Li & Mandt 2018)"),
    "frame-vae": Entry("gwrep.models.frame_vae:FrameVAE", {}, "VAE applied to each frame of a clip (DS-VAE baseline)"),
}

PRIORS: dict[str, Entry] = {
    "gaussian": Entry("gwrep.priors.gaussian:GaussianPrior", {}, "standard normal N(0, I)"),
    "np": Entry("gwrep.priors.neural:NeuralPrior", {}, "neural prior: MLP d->4d->4d->4d->d on Gaussian noise"),
    "fnp": Entry("gwrep.priors.neural:FactorizedNeuralPrior", {}, "factorized neural prior: one 1->4->4->4->1 MLP per dimension"),
    "gmp": Entry("gwrep.priors.mixture:GaussianMixturePrior", {}, "Gaussian-mixture prior with learnable means and scales"),
}


def _lookup(table: dict[str, Entry], kind: str, name: str) -> Entry:
    if name not in table:
        raise ValueError(f"unknown {kind} {name!r}; known {kind}s: {', '.join(sorted(table))}")
    return table[name]


def model_names() -> list[str]:
    """All registered model names, sorted."""
    return sorted(MODELS)


def prior_names() -> list[str]:
    """All registered prior names, sorted."""
    return sorted(PRIORS)


def get_model_class(name: str) -> type:
    """The model class registered under ``name`` (``ValueError`` lists the names if unknown)."""
    return _lookup(MODELS, "model", name).load()


def get_prior_class(name: str) -> type:
    """The prior class registered under ``name`` (``ValueError`` lists the names if unknown)."""
    return _lookup(PRIORS, "prior", name).load()


def _alias_suggestion(entry: Entry, key: str, value: Any) -> str:
    """Registered names that give ``key=value`` with ``entry``'s class: an alias fixing it, or the plain name."""
    same = {n: e for n, e in MODELS.items() if e.target == entry.target}
    hints = [f"model {n!r}" for n, e in same.items() if e.defaults == {key: value}]
    flag = f"--prior {value}" if key == "prior" else f"--option {key}={value}"
    hints += [f"model {n!r} with {key}={value!r} (--model {n} {flag})" for n, e in same.items() if not e.defaults]
    return " or ".join(hints) or "another model name"


def _check_alias_options(name: str, entry: Entry, overrides: dict[str, Any]) -> None:
    """Raise ``ValueError`` when an override contradicts a value the alias ``name`` fixes (gwae-gmp: prior='gmp')."""
    for key, fixed in entry.defaults.items():
        if key in overrides and overrides[key] != fixed:
            value = overrides[key]
            raise ValueError(f"model {name!r} fixes {key}={fixed!r}; got {key}={value!r}: "
                             f"use {_alias_suggestion(entry, key, value)}")


def resolve_model(name: str, **overrides: Any):
    """Build the config of model ``name``: its registered defaults, then ``overrides``.

    An alias's defaults are fixed: ``resolve_model("gwae-gmp", prior="np")`` raises
    ``ValueError`` naming ``gwae-np`` and ``gwae`` with ``prior='np'`` instead of building an NP
    prior under the name gwae-gmp; repeating the fixed value is allowed.
    """
    entry = _lookup(MODELS, "model", name)
    _check_alias_options(name, entry, overrides)
    cls = entry.load()
    options = {**entry.defaults, **overrides}
    return cls, cls.config_class.from_dict(options)
