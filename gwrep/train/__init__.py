"""One training loop for every model, run folders, checkpoints, resume and sweeps.

- :mod:`gwrep.train.config`: :class:`TrainConfig` (validated; from flags, dicts, .json/.yaml).
- :mod:`gwrep.train.trainer`: :func:`train`, the loop (metrics, early stopping, time budget,
  exact resume, non-finite stop, Ctrl-C).
- :mod:`gwrep.train.checkpoint`: atomic, checksummed checkpoints with RNG states, ``weights_only``
  loading that verifies the checksum.
- :mod:`gwrep.train.sampler`: the resumable seeded batch order.
- :mod:`gwrep.train.run`: the run folder layout, :class:`Run`, :func:`load_run`, :func:`load_run_model`,
  and :class:`~gwrep.train.run.RunLock` (one training process per run folder).
- :mod:`gwrep.train.sweep`: sequential grids of runs with a ``sweep.json`` index.
"""
import sys
import types

from gwrep.train.config import TrainConfig
from gwrep.train.run import Run, load_run, load_run_model
from gwrep.train.trainer import train

__all__ = ["TrainConfig", "Run", "train", "load_run", "load_run_model"]


class _CallableModule(types.ModuleType):
    """Importing this subpackage binds it over :func:`gwrep.train` (Python sets a loaded submodule
    as an attribute of its parent), so the README's ``gwrep.train(config)`` failed with "'module'
    object is not callable" from the second call on. Calling the package calls :func:`train`."""

    def __call__(self, *args, **kwargs) -> Run:
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
