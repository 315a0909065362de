"""Tests for gwrep/train/sweep.py: grid expansion, the sweep.json index, restarting a sweep."""
from __future__ import annotations

import json

import pytest

import gwrep.registry as registry
from gwrep.train.sweep import expand_grid, run_sweep
from tiny_models import ENTRY, NAME, blobs


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


BASE = {"model": NAME, "data": "unused", "steps": 4, "batch_size": 16, "eval_every": 2, "figures": False}


def test_expand_grid_names_and_options():
    points = expand_grid(BASE, seeds=[0, 1], grid={"model_options.kl_weight": [0.5, 2.0], "batch_size": [8]})
    assert [p.name for p in points] == [
        f"{NAME}-kl_weight=0.5-batch_size=8-s0", f"{NAME}-kl_weight=0.5-batch_size=8-s1",
        f"{NAME}-kl_weight=2.0-batch_size=8-s0", f"{NAME}-kl_weight=2.0-batch_size=8-s1"]
    assert points[3].options["model_options"] == {"kl_weight": 2.0}
    assert points[3].options["batch_size"] == 8 and points[3].options["seed"] == 1
    assert points[3].overrides == {"model": NAME, "model_options.kl_weight": 2.0, "batch_size": 8, "seed": 1}
    assert BASE.get("model_options") is None  # the base is not mutated


@pytest.mark.parametrize("grid, match", [
    ({"model_options.kl_weight": [-1.0]}, "kl_weight"),
    ({"batch_size": []}, "non-empty list"),
    ({"batch_size": "16"}, "non-empty list"),
    ({"steps.x": [1]}, "not a mapping"),
])
def test_bad_grids_fail_before_training(grid, match):
    with pytest.raises(ValueError, match=match):
        expand_grid(BASE, grid=grid)


def test_sweep_runs_indexes_and_restarts(tmp_path):
    points = expand_grid(BASE, seeds=[0, 1])
    records = run_sweep(points, tmp_path, dataset=blobs(64), val_dataset=blobs(16, seed=1), progress=False)
    index = json.loads((tmp_path / "sweep.json").read_text())["runs"]
    assert [r["status"] for r in index] == ["completed", "completed"] == [r["status"] for r in records]
    assert all((tmp_path / r["name"] / "model" / "weights.pt").is_file() for r in index)
    assert index[0]["best_val_loss"] != index[1]["best_val_loss"]  # the seed matters
    mtime = (tmp_path / index[0]["name"] / "checkpoints" / "last.pt").stat().st_mtime_ns
    again = run_sweep(points, tmp_path, dataset=blobs(64), val_dataset=blobs(16, seed=1), progress=False)
    assert again == records  # finished runs are skipped, not retrained
    assert (tmp_path / index[0]["name"] / "checkpoints" / "last.pt").stat().st_mtime_ns == mtime


def test_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    points = expand_grid({**BASE, "model_options": {"nan_at_step": 2}}, seeds=[0]) + expand_grid(BASE, seeds=[0])
    points[0].name = "nan"
    records = run_sweep(points, tmp_path, dataset=blobs(64), progress=False)
    assert [r["status"] for r in records] == ["failed", "completed"]
    assert "non-finite" in records[0]["message"]


def test_unknown_backend_and_missing_ray(tmp_path):
    with pytest.raises(ValueError, match="unknown sweep backend"):
        run_sweep([], tmp_path, backend="dask")
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match=r"gwrep\[ray\]"):
            run_sweep(expand_grid(BASE), tmp_path, backend="ray")
