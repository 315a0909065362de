"""Tests for gwrep.config, the model base (gwrep/models/base.py) contract pieces and gwrep/registry.py."""
import dataclasses

import pytest

from gwrep.config import Config, check_choice
from gwrep.models.base import ModelConfig


def test_model_config_round_trip():
    cfg = ModelConfig(image_shape=(3, 28, 28), latent_dim=7)
    back = ModelConfig.from_dict(cfg.to_dict())
    assert back == cfg
    assert back.image_shape == (3, 28, 28)
    assert cfg.to_dict()["_class"] == "ModelConfig"


def test_model_config_pins_defaults():
    assert ModelConfig().to_dict() == {
        "_class": "ModelConfig", "image_shape": [1, 64, 64], "latent_dim": 10, "architecture": "dlib",
        "reconstruction": "auto", "lr": 1e-4,
    }


@pytest.mark.parametrize("bad, match", [
    ({"latent_dim": 0}, "latent_dim"),
    ({"latent_dim": 2.5}, "latent_dim"),
    ({"image_shape": (2, 64, 64)}, "channels"),
    ({"image_shape": (1, 32, 32)}, "32x32"),
    ({"lr": -1.0}, "lr"),
    ({"reconstruction": "poisson"}, "reconstruction"),
])
def test_model_config_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**bad)


def test_unknown_option_lists_known():
    with pytest.raises(ValueError, match="latent_dim"):
        ModelConfig.from_dict({"latent_dimm": 3})


def test_auto_reconstruction():
    assert ModelConfig(image_shape=(1, 64, 64)).reconstruction_kind == "bernoulli"
    assert ModelConfig(image_shape=(3, 64, 64)).reconstruction_kind == "gaussian"


def test_check_choice_lists_allowed():
    with pytest.raises(ValueError, match=r"\['a', 'b'\]"):
        check_choice("mode", "c", ["a", "b"])


def test_save_load(tmp_path):
    cfg = ModelConfig(latent_dim=3)
    cfg.save(tmp_path / "c.json")
    assert ModelConfig.load(tmp_path / "c.json") == cfg
    with pytest.raises(FileNotFoundError, match="nope.json"):
        ModelConfig.load(tmp_path / "nope.json")


def test_file_readers_name_bad_files(tmp_path):
    """read_json_file / load_torch_file: a missing, malformed, truncated or pickled file is one ValueError naming it."""
    import torch

    from gwrep.config import load_torch_file, read_json_file

    (tmp_path / "a.json").write_text('{"x": [1, 2]}')
    assert read_json_file(tmp_path / "a.json") == {"x": [1, 2]}
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_json_file(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_json_file(tmp_path / "nope.json")
    torch.save({"w": torch.arange(3)}, tmp_path / "ok.pt")
    assert torch.equal(load_torch_file(tmp_path / "ok.pt")["w"], torch.arange(3))
    (tmp_path / "cut.pt").write_bytes((tmp_path / "ok.pt").read_bytes()[:100])
    (tmp_path / "text.pt").write_text("garbage")
    torch.save({"obj": tmp_path}, tmp_path / "pickled.pt")  # a Path: weights-only loading refuses it
    for name in ("cut.pt", "text.pt", "pickled.pt"):
        with pytest.raises(ValueError, match=rf"{name} is not a"):
            load_torch_file(tmp_path / name)


def test_config_load_names_the_file(tmp_path):
    (tmp_path / "c.json").write_text('{"latent_dim": 0}')
    with pytest.raises(ValueError, match=r"c.json: latent_dim"):
        ModelConfig.load(tmp_path / "c.json")
    (tmp_path / "c.json").write_text("[1]")
    with pytest.raises(ValueError, match="c.json must hold a JSON object"):
        ModelConfig.load(tmp_path / "c.json")


@pytest.mark.parametrize("name, options, match", [
    ("gwae-gmp", {"prior": "np"}, r"model 'gwae-gmp' fixes prior='gmp'; got prior='np': use model 'gwae-np' "
                                  r"or model 'gwae' with prior='np' \(--model gwae --prior np\)"),
    ("dip-vae-i", {"variant": "ii"}, "model 'dip-vae-i' fixes variant='i'; got variant='ii': use model 'dip-vae-ii'"),
    ("wae-gan", {"regularizer": "mmd"}, "use model 'wae-mmd'"),
])
def test_an_alias_refuses_an_option_that_contradicts_it(name, options, match):
    from gwrep.models import build_model
    from gwrep.registry import resolve_model

    with pytest.raises(ValueError, match=match):
        resolve_model(name, **options)
    with pytest.raises(ValueError, match=match):
        build_model(name, **options)


def test_an_alias_accepts_its_own_fixed_value_and_other_options():
    from gwrep.registry import resolve_model

    _, config = resolve_model("gwae-gmp", prior="gmp", latent_dim=4, image_shape=(1, 28, 28))
    assert (config.prior, config.latent_dim) == ("gmp", 4)
    _, config = resolve_model("gwae", prior="np")  # the plain name takes any prior
    assert config.prior == "np"


# ---------------------------------------------------------------- typed options (issue 13, case 4)
def _train_config_from_cli(argv):
    import argparse

    from gwrep.commands import train as command
    from gwrep.train import TrainConfig

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(argv)
    return TrainConfig.from_dict(command.config_options(args, command.base_options(args)))


@pytest.mark.parametrize("text, expected", [("no", False), ("NO", False), ("false", False), ("0", False),
                                            ("yes", True), ("True", True), ("1", True)])
def test_cli_boolean_option_is_parsed_by_its_type(text, expected):
    config = _train_config_from_cli(["--model", "gwae", "--option", f"critic_resample={text}"])
    assert config.model_config().critic_resample is expected
    assert config.model_options["critic_resample"] is expected  # what config.json records


def test_cli_learn_beta_no_builds_a_model_with_a_fixed_beta():
    from gwrep.registry import get_model_class

    model_config = _train_config_from_cli(["--model", "gwae", "--option", "learn_beta=no"]).model_config((1, 28, 28))
    assert model_config.learn_beta is False
    model = get_model_class("gwae")(model_config)  # was a TypeError inside nn.Parameter
    assert model.log_beta.requires_grad is False


def test_yaml_string_booleans_and_numbers_are_typed(tmp_path):
    pytest.importorskip("yaml")
    from gwrep.train import TrainConfig
    from gwrep.train.config import read_config_file

    path = tmp_path / "run.yaml"
    path.write_text('model: gwae\nfigures: "no"\nsteps: 30\nmodel_options:\n  lr: 1e-4\n  learn_beta: "No"\n')
    config = TrainConfig.from_dict(read_config_file(path))
    assert config.figures is False and config.steps == 30
    model_config = config.model_config()
    assert model_config.lr == 1e-4 and isinstance(model_config.lr, float)  # YAML 1.1 reads 1e-4 as a string
    assert model_config.learn_beta is False


def test_python_api_values_are_typed_too():
    from gwrep.registry import resolve_model
    from gwrep.train import TrainConfig

    assert TrainConfig(figures="no").figures is False
    _, config = resolve_model("gwae", critic_steps="3", gw_epsilon=1, critic_spectral_norm=0)
    assert config.critic_steps == 3 and isinstance(config.gw_epsilon, float) and config.critic_spectral_norm is False
    assert ModelConfig(image_shape=[1, 28, 28]).image_shape == (1, 28, 28)


@pytest.mark.parametrize("key, value, expected", [
    ("critic_resample", "maybe", "not a boolean"), ("critic_resample", 2, "not a boolean"),
    ("critic_resample", "", "not a boolean"), ("critic_steps", 2.5, "not an integer"),
    ("critic_steps", "three", "not an integer"), ("lr", "fast", "not a number"), ("lr", True, "not a number"),
    ("architecture", 3, "not a string"), ("image_shape", [1, 28], "expected tuple"),
])
def test_a_wrong_value_names_key_value_and_type(key, value, expected):
    from gwrep.registry import resolve_model

    with pytest.raises(ValueError, match=f"option {key}") as info:
        resolve_model("gwae", **{key: value})
    assert expected in str(info.value) and repr(value) in str(info.value) and "\n" not in str(info.value)


def test_cli_wrong_boolean_is_one_line(capsys):
    from gwrep.cli import main

    assert main(["train", "--model", "gwae", "--option", "critic_resample=maybe", "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "critic_resample" in err and "'maybe'" in err and "boolean" in err


def test_prior_options_are_typed_by_the_prior_s_signature():
    from gwrep.priors import build_prior
    from gwrep.registry import resolve_model

    _, config = resolve_model("gwae-gmp", prior_options={"hard_gumbel_max": "no", "num_components": "4"})
    assert config.prior_options == {"hard_gumbel_max": False, "num_components": 4}
    assert build_prior("gmp", 3, hard_gumbel_max="yes").hard_gumbel_max is True
    with pytest.raises(ValueError, match=r"option prior_options.hard_gumbel_max: 'maybe' is not a boolean"):
        resolve_model("gwae-gmp", prior_options={"hard_gumbel_max": "maybe"})
