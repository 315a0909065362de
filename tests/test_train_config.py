"""Tests for gwrep/train/config.py: TrainConfig validation, defaults, config files."""
from __future__ import annotations

import json

import pytest
import torch

import gwrep.registry as registry
from gwrep.train.config import DEFAULT_MINUTES, DEFAULT_STEPS, TrainConfig, read_config_file, resolve_device
from tiny_models import ENTRY, NAME


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def test_round_trip_and_defaults():
    cfg = TrainConfig(model=NAME, model_options={"latent_dim": 3}, steps=5)
    back = TrainConfig.from_dict(json.loads(cfg.to_json()))
    assert back == cfg
    assert (cfg.batch_size, cfg.seed, cfg.device, cfg.patience) == (64, 0, "auto", 10)
    assert TrainConfig.__dataclass_fields__["model"].default == "gwae-fnp"
    assert TrainConfig.__dataclass_fields__["data"].default == "shapes3d"


@pytest.mark.parametrize("bad, match", [
    ({"model": "gwea"}, r"unknown model 'gwea'; known models: .*gwae-fnp"),
    ({"steps": 5, "epochs": 2}, "not both"),
    ({"steps": -1}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"batch_size": 0}, "batch_size"),
    ({"val_fraction": 1.0}, "val_fraction"),
    ({"patience": -2}, "patience"),
    ({"checkpoint_every": 0}, "checkpoint_every"),
    ({"max_minutes": 0}, "max_minutes"),
    ({"device": "gpu0"}, "device"),
    ({"model_options": {"kl_weight": -1.0}}, "kl_weight"),
    ({"model_options": {"latent_dim": 0}}, "latent_dim"),
    ({"model_options": {"image_shape": [1, 32, 32]}}, "32x32"),
    ({"model_options": {"latnt_dim": 3}}, r"no option\(s\) \['latnt_dim'\]"),
    ({"model_options": [1]}, "model_options"),
])
def test_bad_values_name_the_field(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{"model": NAME, **bad})


def test_unknown_prior_is_named():
    pytest.importorskip("gwrep.models.gwae")
    with pytest.raises(ValueError, match="prior"):
        TrainConfig(model="gwae", model_options={"prior": "fnpp"})


def test_planned_steps_and_budget():
    assert TrainConfig(model=NAME, steps=7).planned_steps(10) == 7
    assert TrainConfig(model=NAME, epochs=3).planned_steps(10) == 30
    default = TrainConfig(model=NAME)
    assert default.planned_steps(10) == DEFAULT_STEPS and default.time_budget_minutes == DEFAULT_MINUTES
    assert TrainConfig(model=NAME, steps=7).time_budget_minutes is None
    assert TrainConfig(model=NAME, steps=7, max_minutes=2).time_budget_minutes == 2


def test_image_shape_must_match_the_data():
    cfg = TrainConfig(model=NAME, model_options={"image_shape": [1, 28, 28]})
    assert cfg.model_config((1, 28, 28)).image_shape == (1, 28, 28)
    with pytest.raises(ValueError, match=r"\(1, 28, 28\) does not match .* \(3, 64, 64\)"):
        cfg.model_config((3, 64, 64))
    assert TrainConfig(model=NAME).model_config((3, 64, 64)).image_shape == (3, 64, 64)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_read_config_file(tmp_path):
    (tmp_path / "a.json").write_text('{"model": "x", "steps": 3}')
    assert read_config_file(tmp_path / "a.json") == {"model": "x", "steps": 3}
    (tmp_path / "a.yaml").write_text("model: x\nmodel_options:\n  latent_dim: 4\n")
    assert read_config_file(tmp_path / "a.yaml") == {"model": "x", "model_options": {"latent_dim": 4}}
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        read_config_file(tmp_path / "missing.yaml")
    (tmp_path / "bad.json").write_text("{model")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_config_file(tmp_path / "bad.json")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ValueError, match="mapping"):
        read_config_file(tmp_path / "list.yaml")
    (tmp_path / "a.toml").write_text("")
    with pytest.raises(ValueError, match=r"\.json, \.yaml or \.yml"):
        read_config_file(tmp_path / "a.toml")


def test_yaml_without_pyyaml_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "yaml", None)
    (tmp_path / "a.yaml").write_text("steps: 3\n")
    with pytest.raises(ValueError, match=r"PyYAML.*gwrep\[yaml\]"):
        read_config_file(tmp_path / "a.yaml")


def test_shipped_config_files_validate():
    """Every file in configs/ is a valid TrainConfig or sweep file."""
    pytest.importorskip("yaml")
    from pathlib import Path

    from gwrep.train.sweep import expand_grid

    files = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
    assert len(files) >= 4
    for path in files:
        options = read_config_file(path)
        if "base" in options:
            assert expand_grid(options["base"], options.get("models", []), options.get("seeds", []),
                               options.get("grid", {}))
        else:
            TrainConfig.from_dict(options)
