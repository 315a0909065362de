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
    assert again == [{**r, "skipped": True} for r in records]  # finished runs are skipped, not retrained
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


def test_ray_task_resources_ask_for_a_gpu_when_the_run_trains_on_cuda():
    from gwrep.train.sweep import ray_task_resources

    assert ray_task_resources("cpu", cluster_gpus=4) == {"num_cpus": 1}
    assert ray_task_resources("cuda", cluster_gpus=0) == {"num_cpus": 1, "num_gpus": 1}
    assert ray_task_resources("auto", cluster_gpus=0) == {"num_cpus": 1}
    assert ray_task_resources("auto", cluster_gpus=1) == {"num_cpus": 1, "num_gpus": 1}


#: A registered model on procedural data, so that Ray's worker processes (which do not see
#: this test's monkeypatched registry) can build it.
REAL = {"model": "vae", "model_options": {"architecture": "mlp", "latent_dim": 3}, "data": "shapes2d",
        "data_options": {"image_size": 28}, "steps": 6, "batch_size": 16, "eval_every": 3, "val_batches": 2,
        "figures": False, "device": "cpu"}


def test_ray_backend_gives_the_sequential_results(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="the ray backend test needs the 'ray' extra (pip install -e '.[ray]')")
    import torch

    from gwrep.train.sweep import MACHINE_FILE

    points = expand_grid(REAL, seeds=[0, 1])
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # Ray workers run one thread per task; so does the sequential run
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sequential = run_sweep(points, tmp_path / "seq", progress=False)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            on_ray = run_sweep(points, tmp_path / "ray", backend="ray")
        finally:
            ray.shutdown()
    finally:
        torch.set_num_threads(threads)
    assert [r["status"] for r in on_ray] == ["completed", "completed"]
    for a, b in zip(sequential, on_ray):
        assert a["name"] == b["name"] and a["step"] == b["step"] == 6
        assert a["best_val_loss"] == pytest.approx(b["best_val_loss"], rel=1e-6)
        wa = torch.load(tmp_path / "seq" / a["name"] / "model" / "weights.pt", weights_only=True)
        wb = torch.load(tmp_path / "ray" / b["name"] / "model" / "weights.pt", weights_only=True)
        assert wa.keys() == wb.keys() and all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)
        machine = json.loads((tmp_path / "ray" / b["name"] / MACHINE_FILE).read_text())["invocations"]
        assert machine[0]["from_step"] == 0 and machine[0]["to_step"] == 6 and machine[0]["device"] == "cpu"
    assert on_ray[0]["best_val_loss"] != on_ray[1]["best_val_loss"]
    # a second ray sweep finds every run finished and trains nothing
    assert run_sweep(points, tmp_path / "ray", backend="ray") == [{**r, "skipped": True} for r in on_ray]


def test_ray_tasks_refuse_a_cuda_run_before_any_task_starts(tmp_path):
    """A CUDA run on a cluster without GPUs is refused by name before the CPU runs beside it are started."""
    ray = pytest.importorskip("ray", reason="the ray backend test needs the 'ray' extra (pip install -e '.[ray]')")
    from gwrep.train.sweep import ray_tasks

    ran = tmp_path / "ran"
    touch = lambda path: open(path, "w").close()  # noqa: E731 (a lambda travels to the worker by value)
    calls = [((str(ran),), "cpu", "runs/a"), ((str(ran),), "cuda", "runs/b")]
    ray.init(num_cpus=1, num_gpus=0, include_dashboard=False, log_to_driver=False)
    try:
        with pytest.raises(ValueError, match=r"run runs/b trains on 'cuda' but the Ray cluster has no GPU"):
            list(ray_tasks(touch, calls))
        assert not ran.exists()
        assert list(ray_tasks(touch, calls[:1])) == [(0, None)] and ran.exists()
    finally:
        ray.shutdown()
