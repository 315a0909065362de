"""Models: the shared interface (:mod:`gwrep.models.base`), loss pieces, and GWAE.

Convention: one file per model; the model's config dataclass sits next to it and
inherits :class:`~gwrep.models.base.ModelConfig`; a model is registered by name in
:mod:`gwrep.registry`.
"""
from gwrep.models.base import Model, ModelConfig, NonFiniteLossError, build_model, load_model, save_model

__all__ = ["Model", "ModelConfig", "NonFiniteLossError", "build_model", "load_model", "save_model"]
