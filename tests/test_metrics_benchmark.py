"""Tests of benchmarks/metrics.py (the metrics benchmark, also ``gwrep bench metrics``): small-size smoke runs
and its size arithmetic. The full-size run is the lead's (tens of minutes on a 2-core CPU)."""
from __future__ import annotations

import importlib
import json

import pytest
import torch

from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("metrics")


pytestmark = pytest.mark.usefixtures("keep_threads")  # main() sets its --threads


def test_full_size_image_counts(bench):
    from gwrep.data import load_factor_data

    data = load_factor_data("shapes2d")
    metrics = [(name, getattr(importlib.import_module(f"gwrep.eval.metrics.{m}"), f), {})
               for name, (m, f, _) in bench.METRICS.items()]
    # MIG 10000, SAP/DCI/modularity 15000 each, BetaVAE 15000 votes x 64 pairs x 2, FactorVAE 10000 + 15000 x 64
    assert bench.full_size_images(data, metrics, use_cache=False) == 10000 + 3 * 15000 + 1_920_000 + 970_000
    cached = bench.full_size_images(data, metrics, use_cache=True)
    assert 700_000 < cached < 737_280  # nearly every tuple of the 737,280-tuple grid, each once


def test_scaled_sizes_keep_a_floor(bench):
    from gwrep.eval.metrics.factor_vae import FAST, factor_vae_score

    assert bench.metric_sizes(factor_vae_score, None, 1.0) == {"num_train": 10000, "num_eval": 5000,
                                                               "num_variance_estimate": 10000}
    assert bench.metric_sizes(factor_vae_score, FAST, 0.001) == {"num_train": 20, "num_eval": 20,
                                                                 "num_variance_estimate": 20}


def test_goal_verdict(bench, capsys):
    row = {"seconds": 75.0, "render_s": 10.0, "represent_s": 40.0, "images": 1000}
    assert bench.goal_verdict(row, True, 0)["goal_met"] is False
    assert "NOT met (75.0 s)" in capsys.readouterr().out
    assert bench.goal_verdict({**row, "seconds": 59.0}, True, 0)["goal_met"] is True
    est = bench.goal_verdict(row, False, 100_000)  # 20 images/s measured -> 5000 s for 100,000 images
    assert est["goal_met"] is None and est["estimated_full_size_encoding_seconds"] == pytest.approx(5000.0)


def test_smoke_run_metric_cost_alone(bench, tmp_path, capsys):
    out = tmp_path / "m.json"
    assert bench.main(["--data", "dummy", "--model", "none", "--scale", "0.001", "--gbt-factors", "0",
                       "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [r["metric"] for r in doc["projection_rows"]] == list(bench.METRICS)
    assert doc["sizes"]["beta_vae"] == {"num_train": 20, "num_eval": 20}
    assert doc["projection_total"]["draws"] == sum(r["draws"] for r in doc["projection_rows"])
    assert "metric cost alone" in capsys.readouterr().out


def test_dummy_data_needs_model_none(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--data", "dummy"])
    assert "--model none" in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_run_on_the_model(bench, tmp_path, capsys):
    """The model table at the floor sizes: ~5000 64x64 images through the dlib encoder."""
    out = tmp_path / "m.json"
    assert bench.main(["--scale", "0.0001", "--gbt-factors", "0", "--no-projection", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    rows = {r["metric"]: r for r in doc["rows"]}
    assert rows["factor_vae"]["result"]["num_active_dims"] == 10  # prune_threshold 0: the votes are timed
    assert doc["cache"]["misses"] == doc["total"]["images"] <= doc["total"]["draws"]
    assert doc["goal_met"] is None and doc["estimated_full_size_encoding_seconds"] > 0
    assert "Estimate at dlib's sizes" in capsys.readouterr().out
