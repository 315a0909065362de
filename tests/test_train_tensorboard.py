"""TensorBoard logging (issue 13, case 10): a declared extra, documented, and what the trainer writes with it."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import gwrep.registry as registry
from gwrep.train import TrainConfig, train
from tiny_models import ENTRY, NAME, blobs

ROOT = Path(__file__).resolve().parents[1]


def test_tensorboard_is_a_declared_extra():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "tensorboard" in extras
    assert any(re.match(r"tensorboard\b", requirement) for requirement in extras["tensorboard"])


def test_readme_says_how_to_enable_it():
    readme = (ROOT / "README.md").read_text()
    assert 'pip install -e ".[tensorboard]"' in readme and "tensorboard --logdir runs" in readme


def test_a_run_writes_scalars_when_tensorboard_is_installed(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)
    config = TrainConfig(model=NAME, data="mine", steps=6, batch_size=8, eval_every=3, log_every=2, figures=False,
                         out=str(tmp_path / "run"))
    train(config, dataset=blobs(40), val_dataset=blobs(16, seed=1), progress=False)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert "train/loss" in tags and any(tag.startswith("val/") for tag in tags)
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4, 6]
