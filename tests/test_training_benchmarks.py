"""Smoke runs of benchmarks/train_step.py and benchmarks/stability.py (issue 12) at tiny sizes: they run,
write their JSON and compute the floor and abort counts. The full-size runs are the lead's (README)."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import load_benchmark


pytestmark = pytest.mark.usefixtures("keep_threads")  # main() sets its --threads


def test_train_step_floor_parts_run_and_add_up(tmp_path, capsys):
    bench = load_benchmark("train_step")
    out = tmp_path / "ts.json"
    assert bench.main(["--variants", "beta-vae", "gwae", "floor-critic", "floor-main", "--steps", "1", "--warmup",
                       "0", "--size", "28", "--channels", "1", "--latent", "2", "--batch", "8",
                       "--no-memory", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    med = {r["variant"]: r["median_s"] for r in result["results"]}
    assert result["floor_s"] == pytest.approx(med["floor-critic"] + med["floor-main"])
    assert result["gwae_over_floor"] == pytest.approx(med["gwae"] / result["floor_s"])
    assert all(r["images_per_s"] == pytest.approx(8 / r["median_s"]) for r in result["results"])
    assert "floor (5 critic updates + main update alone)" in capsys.readouterr().out


def test_critic_updates_alone_move_only_the_critic():
    bench = load_benchmark("train_step")
    model = bench.build("floor-critic", (1, 28, 28), 2)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    bench.critic_updates_alone(model, torch.rand(4, 1, 28, 28), {})
    moved = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert moved == {"critic"}


def test_stability_counts_aborts(tmp_path, monkeypatch):
    bench = load_benchmark("stability")
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    assert bench.main(["--seeds", "2", "--steps", "2", "--sizes", "28", "--priors", "np", "--tag", "t",
                       "--option", "critic_steps=1"]) == 0
    result = json.loads((tmp_path / "stability-t.json").read_text())
    (cell,) = result["cells"]
    assert (cell["runs"], cell["aborts"], result["options"]) == (2, 0, {"critic_steps": 1})
    assert all(r["max_logvar"] <= 2.0 for r in cell["per_seed"])  # the default bound holds
    assert bench.parse_option("logvar_max=none") == ("logvar_max", None)


def test_stability_counts_an_abort_as_one(monkeypatch, tmp_path):
    """A run whose step raises NonFiniteLossError is an abort with its step; the others finish."""
    from gwrep.models.base import NonFiniteLossError
    from gwrep.models.gwae import GWAE

    bench = load_benchmark("stability")
    calls = {"n": 0}
    real = GWAE.training_step

    def flaky(self, x):
        calls["n"] += 1
        if calls["n"] == 2:
            raise NonFiniteLossError("non-finite encoder output 'logvar'")
        return real(self, x)

    monkeypatch.setattr(GWAE, "training_step", flaky)
    import gwrep.data as gd

    data = gd.load("shapes3d", split="train", image_size=28)
    runs = [bench.run_one(seed, 28, "np", 2, 4, {"critic_steps": 1}, data) for seed in range(2)]
    summary = bench.summarise(runs)
    assert (summary["aborts"], summary["abort_steps"]) == (1, [1])
