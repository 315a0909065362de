"""gwrep.priors: the meta-priors GWAE learns with (Nakagawa et al. 2023, Sec. 4.2).

Convention: one module per prior family; each prior is a :class:`Prior` module taking
``latent_dim`` and its own options, sampling reparameterized codes with ``prior(n)``.
Priors are registered by name in :data:`gwrep.registry.PRIORS` (``gaussian``, ``np``,
``fnp``, ``gmp``); :func:`build_prior` builds one by name.

>>> build_prior("fnp", 4)(8, generator=torch.Generator().manual_seed(0)).shape
torch.Size([8, 4])
"""
from __future__ import annotations

import inspect
import typing
from typing import Any

import torch  # noqa: F401  (used by the doctest)

from gwrep.priors.base import LeakySiLU, Prior, frozen_running_stats
from gwrep.priors.gaussian import GaussianPrior
from gwrep.priors.mixture import GaussianMixturePrior
from gwrep.priors.neural import FactorizedNeuralPrior, NeuralPrior

__all__ = ["Prior", "GaussianPrior", "NeuralPrior", "FactorizedNeuralPrior", "GaussianMixturePrior",
           "LeakySiLU", "frozen_running_stats", "build_prior", "prior_options", "check_prior_options"]


def prior_options(name: str) -> dict[str, Any]:
    """The options of prior ``name`` with their defaults (``ValueError`` lists the names if unknown)."""
    from gwrep.registry import get_prior_class

    params = inspect.signature(get_prior_class(name).__init__).parameters
    return {p: v.default for p, v in params.items() if p not in ("self", "latent_dim")}


def check_prior_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` parsed by the types the prior's ``__init__`` declares (``"no"`` for a bool is
    False, see :func:`gwrep.config.coerce_option`); ``ValueError`` if ``name`` is unknown, an
    option unknown to it, or a value not of its type."""
    from gwrep.config import coerce_option
    from gwrep.registry import get_prior_class

    known = prior_options(name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"prior {name!r} has no option(s) {unknown}; its options: {sorted(known)}")
    hints = typing.get_type_hints(get_prior_class(name).__init__)
    return {key: coerce_option(f"prior_options.{key}", value, hints.get(key, Any)) for key, value in options.items()}


def build_prior(name: str, latent_dim: int, **options: Any) -> Prior:
    """Build the prior registered as ``name`` with ``latent_dim`` and ``options``."""
    from gwrep.registry import PRIORS

    options = check_prior_options(name, options)
    entry = PRIORS[name]
    return entry.load()(latent_dim, **{**entry.defaults, **options})
