"""benchmarks/generation_diagnosis.py: its two measures on codes and images with known answers, and
the script end to end on a short run (PSNR as gwrep's own reconstruction_psnr gives it)."""
from __future__ import annotations

import json

import pytest
import torch

from conftest import load_benchmark
from test_train_trainer import config

from gwrep import data as gdata
from gwrep.eval.generation import reconstruction_psnr
from gwrep.train import train

bench = load_benchmark("generation_diagnosis")


def test_code_mismatch_is_low_on_the_data_codes_and_high_off_them():
    data = torch.randn(300, 8)
    ratio, off = bench.code_mismatch(data + 1e-3 * torch.randn(300, 8), data)
    assert ratio < 0.05 and off == 0.0
    ratio, off = bench.code_mismatch(data + 20.0, data)  # every prior code far from every data code
    assert ratio > 5.0 and off == 1.0


def test_saturated_share_counts_pixels_outside_the_band():
    images = torch.full((2, 1, 4, 4), 0.5)
    images[0, 0, 0, :] = 0.0  # 4 dark pixels
    images[1, 0, 1, :2] = 1.0  # 2 bright pixels
    assert bench.saturated_share(images) == pytest.approx(6 / 32)


def test_main_writes_one_row_per_run_with_gwreps_psnr(tmp_path):
    cfg = config(tmp_path, "run", model="vae", data="shapes2d", data_options={"image_size": 28}, val_batches=1, steps=3)
    run = train(cfg, progress=False)
    out = tmp_path / "diag.json"
    assert bench.main([str(run.dir), "--num", "64", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    test = gdata.load("shapes2d", split="test", image_size=28)
    assert row["psnr"] == pytest.approx(reconstruction_psnr(run.model, test, limit=64)["psnr"], rel=1e-5)
    assert row["num"] == 64 and row["step"] == 3 and row["weights_step"] == run.summary["best_step"]
    assert 0.0 <= row["off_data_codes"] <= 1.0 and row["code_mismatch"] > 0
    for key in ("saturated_samples", "saturated_reconstructions", "saturated_real"):
        assert 0.0 <= row[key] <= 1.0
