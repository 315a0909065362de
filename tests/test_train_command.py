"""Tests for gwrep/commands/train.py: flags, config files, resume and errors of ``gwrep train``."""
from __future__ import annotations

import argparse
import json

import pytest

import gwrep.registry as registry
from gwrep.cli import main
from gwrep.commands import train as command
from gwrep.train import load_run
from tiny_models import ENTRY, NAME

FAST = ["--data", "shapes2d", "--image-size", "28", "--batch-size", "16", "--val-batches", "1",
        "--eval-every", "3", "--log-every", "2", "--no-figures", "--no-progress"]


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def parse(argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_flags_override_the_file():
    base = {"model": "vae", "steps": 10, "model_options": {"latent_dim": 3, "lr": 0.1}, "data_options": {"channels": 3}}
    args = parse(["--model", NAME, "--prior", "np", "--lr", "0.5", "--option", "kl_weight=2", "--option", "x=[1, 2]",
                  "--image-size", "28", "--data-option", "protocol=clean", "--epochs", "2", "--no-figures"])
    options = command.config_options(args, base)
    assert options["model"] == NAME and "steps" not in options and options["epochs"] == 2
    assert options["model_options"] == {"latent_dim": 3, "lr": 0.5, "prior": "np", "kl_weight": 2, "x": [1, 2]}
    assert options["data_options"] == {"channels": 3, "image_size": 28, "protocol": "clean"}
    assert options["figures"] is False
    assert base["model_options"] == {"latent_dim": 3, "lr": 0.1}  # the file's dict is not mutated


def test_quick_start_defaults():
    """``gwrep train`` alone: GWAE-FNP on procedural 3D Shapes at 28x28 for a fixed number of steps, so its figures
    do not depend on the machine's load; the time budget is only a safety cap."""
    from gwrep.train import TrainConfig

    config = TrainConfig.from_dict(command.config_options(parse([]), command.base_options(parse([]))))
    assert (config.model, config.data, config.data_options) == ("gwae-fnp", "shapes3d", {"image_size": 28})
    assert config.steps == command.QUICK_START_STEPS and config.epochs is None
    assert config.time_budget_minutes == command.QUICK_START_MAX_MINUTES
    assert config.eval_every == command.QUICK_START_EVAL_EVERY
    assert command.base_options(parse(["--data", "shapes3d"])) == {  # a chosen data set keeps its own size
        "steps": command.QUICK_START_STEPS, "max_minutes": command.QUICK_START_MAX_MINUTES,
        "eval_every": command.QUICK_START_EVAL_EVERY}
    for schedule in (["--steps", "50"], ["--epochs", "2"], ["--max-minutes", "3"]):  # a chosen schedule stays
        assert "steps" not in command.base_options(parse(schedule))


def test_bad_assignment():
    with pytest.raises(ValueError, match="KEY=VALUE"):
        command.parse_assignments(["latent_dim"], "--option")


def test_train_from_yaml_then_resume(tmp_path, capsys):
    pytest.importorskip("yaml")
    out = tmp_path / "run"
    (tmp_path / "c.yaml").write_text(f"model: {NAME}\nsteps: 6\nmodel_options:\n  latent_dim: 3\n")
    assert main(["train", "--config", str(tmp_path / "c.yaml"), "--steps", "4", "--out", str(out), *FAST]) == 0
    assert f"run folder: {out}" in capsys.readouterr().out
    run = load_run(out)
    assert run.status == "completed" and run.step == 4 and run.config.model_options["latent_dim"] == 3
    assert run.model.config.image_shape == (1, 28, 28)
    assert main(["train", "--resume", str(out), "--steps", "7", "--no-progress"]) == 0
    assert load_run(out).step == 7 and [r["step"] for r in load_run(out).metrics("train")] == [2, 4, 6]


@pytest.mark.parametrize("argv, message", [
    (["--model", "gwea"], "unknown model 'gwea'"),
    (["--model", NAME, "--option", "kl_weight=-1"], "kl_weight must be >= 0"),
    (["--model", NAME, "--image-size", "32"], "image_size"),
    (["--config", "missing.yaml"], "config file not found: missing.yaml"),
    (["--resume", "nowhere"], "nowhere/config.json not found"),
    (["--model", NAME, "--steps", "2", "--epochs", "1"], "not both"),
    (["--model", "gwae-gmp", "--prior", "np"], "model 'gwae-gmp' fixes prior='gmp'; got prior='np'"),
])
def test_bad_input_is_one_clear_line(argv, message, capsys, tmp_path):
    out = [] if "--resume" in argv else ["--out", str(tmp_path / "r")]
    assert main(["train", *argv, *out, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_nan_exits_non_zero(tmp_path, capsys):
    code = main(["train", "--model", NAME, "--option", "nan_at_step=2", "--steps", "5", "--out", str(tmp_path / "r"),
                 *FAST])
    assert code == 1
    assert "last good checkpoint" in capsys.readouterr().err
    assert load_run(tmp_path / "r").status == "failed"


def test_default_model_end_to_end(tmp_path):
    """``gwrep train`` with the default model (GWAE-FNP), a few steps at 28x28, figures included."""
    out = tmp_path / "gwae"
    argv = ["train", "--steps", "3", "--out", str(out), "--option", "critic_steps=1", *FAST]
    argv.remove("--no-figures")
    assert main(argv) == 0
    run = load_run(out)
    assert run.config.model == "gwae-fnp" and run.model.config.prior == "fnp"
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "loss_curves.png", "reconstructions.png", "samples.png", "traversals.png"]
    assert json.loads((out / "run.json").read_text())["status"] == "completed"


def test_data_root_takes_the_set_subfolder_when_there(tmp_path, capsys):
    """--data-root DIR means DIR/<data> when that folder exists (the shared data layout), else DIR,
    as gwrep eval/ood; the trainer applies it, so sweeps over ``data`` get each set's folder."""
    (tmp_path / "mnist").mkdir()
    assert main(["train", "--data", "mnist", "--data-root", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    assert f"not found in {tmp_path / 'mnist'}" in capsys.readouterr().err
    assert main(["train", "--data", "omniglot", "--data-root", str(tmp_path), "--out", str(tmp_path / "run2")]) == 2
    assert str(tmp_path) in capsys.readouterr().err  # no omniglot/ there: the folder itself, named by the loader
    assert main(["train", "--data", "shapes2d", "--data-root", str(tmp_path), "--out", str(tmp_path / "run3")]) == 2
    assert "procedural and takes no root" in capsys.readouterr().err
