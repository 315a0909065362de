"""gwrep: optimal-transport representation learning around the Gromov-Wasserstein Autoencoder.

Subpackages: :mod:`gwrep.ot` (GW-loss engine), :mod:`gwrep.data`, :mod:`gwrep.nets`,
:mod:`gwrep.models`, :mod:`gwrep.train`, :mod:`gwrep.priors`, :mod:`gwrep.baselines`,
:mod:`gwrep.eval`. The two entry points of the Python API are :func:`train` and
:func:`load`.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "train", "load"]


def train(config: Any, **kwargs: Any):
    """Train a model from a :class:`gwrep.train.TrainConfig` (or dict); returns a ``Run``."""
    from gwrep.train import train as _train

    return _train(config, **kwargs)


def load(run_dir: str, map_location: str = "cpu"):
    """Rebuild the trained model stored in a run folder (or a saved model folder).

    Safe while the run is still training and saves a new best model: the weights loaded are
    one of its saves, checked against the checksum saved with them (its step is ``model.step``);
    "corrupt" means corrupt (:func:`gwrep.models.base.load_model`).
    """
    from gwrep.train import load_run_model

    return load_run_model(run_dir, map_location=map_location)
