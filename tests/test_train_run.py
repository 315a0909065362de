"""Tests for gwrep/train/run.py: opening run folders and reading metrics."""
from __future__ import annotations

import pytest

from gwrep.train.run import load_run, load_run_model, read_metrics


def test_read_metrics_filters_by_split(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "split": "train", "loss": 2.0}\n\n{"step": 1, "split": "val", "loss": 3.0}\n')
    assert [r["loss"] for r in read_metrics(path)] == [2.0, 3.0]
    assert read_metrics(path, "val") == [{"step": 1, "split": "val", "loss": 3.0}]
    path.write_text('{"step": 1}\n{oops\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2"):
        read_metrics(path)


def test_missing_things_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a gwrep run folder"):
        load_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="holds no model"):
        load_run_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="run folder not found"):
        load_run_model(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="metrics file not found"):
        read_metrics(tmp_path / "metrics.jsonl")


def test_corrupt_run_files_are_named(tmp_path):
    """A damaged run.json, model.json or weights.pt is a ValueError naming the file, not a torch/json traceback."""
    import torch

    from gwrep.models.base import build_model, save_model
    from gwrep.train import TrainConfig

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    TrainConfig(model="vae", steps=1).save(run_dir / "config.json")
    save_model(build_model("vae", image_shape=(1, 28, 28), latent_dim=3), run_dir / "model")
    assert load_run_model(run_dir).config.latent_dim == 3
    weights = run_dir / "model" / "weights.pt"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="weights.pt is not a readable torch file"):
        load_run_model(run_dir)
    torch.save({"other.weight": torch.zeros(1)}, weights)
    with pytest.raises(ValueError, match="weights.pt does not fit the vae model"):
        load_run_model(run_dir)
    (run_dir / "model" / "model.json").write_text("{oops")
    with pytest.raises(ValueError, match="model.json is not valid JSON"):
        load_run_model(run_dir)
    (run_dir / "run.json").write_text("[]")
    with pytest.raises(ValueError, match="run.json must hold a JSON object"):
        load_run(run_dir)
