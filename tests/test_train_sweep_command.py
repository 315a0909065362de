"""Tests for gwrep/commands/sweep.py: ``gwrep sweep`` from flags and from a sweep file."""
from __future__ import annotations

import json

import pytest

import gwrep.registry as registry
from gwrep.cli import main
from gwrep.commands.sweep import parse_grid
from tiny_models import ENTRY, NAME

FAST = ["--data", "shapes2d", "--image-size", "28", "--batch-size", "16", "--val-batches", "1", "--eval-every", "2",
        "--no-figures", "--no-progress", "--steps", "2"]


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def test_parse_grid_rejects_malformed():
    with pytest.raises(ValueError, match="KEY=V1,V2"):
        parse_grid(["latent_dim"])


def test_sweep_from_flags(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "--model", NAME, "--seeds", "0", "1", "--set", "kl_weight=0.5", "--out", str(out),
                 *FAST]) == 0
    runs = json.loads((out / "sweep.json").read_text())["runs"]
    assert [r["name"] for r in runs] == [f"{NAME}-kl_weight=0.5-s0", f"{NAME}-kl_weight=0.5-s1"]
    assert all(r["status"] == "completed" and r["step"] == 2 for r in runs)
    config = json.loads((out / runs[1]["name"] / "config.json").read_text())
    assert config["seed"] == 1 and config["model_options"]["kl_weight"] == 0.5
    assert config["data_options"] == {"image_size": 28}
    assert "sweep of 2 runs" in capsys.readouterr().out


def test_sweep_file_dry_run(tmp_path, capsys):
    spec = {"base": {"model": NAME, "steps": 3}, "models": [NAME], "seeds": [0, 1, 2],
            "grid": {"model_options.latent_dim": [2, 4]}, "out": str(tmp_path / "s")}
    (tmp_path / "sweep.json").write_text(json.dumps(spec))
    assert main(["sweep", "--config", str(tmp_path / "sweep.json"), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "sweep of 6 runs" in text and f"{NAME}-latent_dim=4-s2" in text
    assert not (tmp_path / "s").exists()


def test_sweep_errors(tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"bse": {}}')
    assert main(["sweep", "--config", str(tmp_path / "bad.json")]) == 2
    assert "unknown keys ['bse']" in capsys.readouterr().err
    assert main(["sweep", "--model", NAME]) == 2
    assert "--out" in capsys.readouterr().err
