"""Small run folders for the tests of ``gwrep eval``, ``gwrep ood`` and ``gwrep compare``.

Not a test module. A run folder here is what the trainer writes minus the training: the
TrainConfig as RUN/config.json and an untrained ``tiny-vae`` (tests/tiny_models.py; the
test registers it with monkeypatch) saved with save_model into RUN/model.
"""
from __future__ import annotations

from pathlib import Path

import torch

from gwrep.models.base import build_model, save_model
from gwrep.train import TrainConfig
from tiny_models import NAME


def make_run(tmp_path: Path, data: str, image_shape=(1, 64, 64), seed: int = 0, name: str | None = None,
             model: str = NAME) -> Path:
    """RUN = ``tmp_path / name`` (default ``<data>-<seed>``) with config.json and model/; weights seeded by ``seed``."""
    run_dir = tmp_path / (name or f"{data}-{seed}")
    cfg = TrainConfig(model=model, data=data, steps=1, seed=seed, out=str(run_dir),
                      model_options={"image_shape": list(image_shape), "latent_dim": 3})
    run_dir.mkdir(parents=True)
    cfg.save(run_dir / "config.json")
    torch.manual_seed(seed)
    save_model(build_model(model, image_shape=tuple(image_shape), latent_dim=3), run_dir / "model")
    return run_dir
