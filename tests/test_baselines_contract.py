"""The model contract over every baseline registered in gwrep.registry (baselines/__init__.py).

One table, one row per registered name: resolved defaults, a training step moves the
weights, a validation step leaves every tensor alone, save/load gives identical outputs,
OoD scores, codes and samples have the interface's shapes, a short run on procedural
shapes lowers the loss, every name trains through :func:`gwrep.train.train` (and ``gwrep
train --model NAME`` runs it; every name through the CLI with ``--runslow``).
"""
import pytest
import torch
from torch.utils.data import TensorDataset

import gwrep.baselines
from baselines_data import BASELINE_NAMES, binary_squares, tiny_options
from gwrep.cli import main as cli_main
from gwrep.models.base import Model, build_model, load_model
from gwrep.train import TrainConfig, train

#: The defaults each name resolves to, beyond ModelConfig's (pins disentanglement_lib's and the papers' values).
PINNED = {
    "vae": {},
    "beta-vae": {"beta": 4.0},
    "annealed-vae": {"gamma": 1000.0, "c_max": 25.0, "iteration_threshold": 100000, "capacity_form": "sample"},
    "factor-vae": {"gamma": 10.0, "discriminator_hidden": 1000, "discriminator_layers": 6,
                   "discriminator_lr": 1e-4, "discriminator_betas": [0.5, 0.9]},
    "dip-vae-i": {"variant": "i", "lambda_od": 10.0, "lambda_d": None},
    "dip-vae-ii": {"variant": "ii", "lambda_od": 10.0, "lambda_d": None},
    "beta-tcvae": {"beta": 6.0, "alpha": 1.0, "gamma": 1.0, "estimator": "mws", "dataset_size": 737280},
    "wae-mmd": {"regularizer": "mmd", "lambda_reg": None, "encoder": "deterministic", "mmd_scale": None,
                "discriminator_hidden": 512, "discriminator_layers": 4, "discriminator_lr": 5e-4,
                "discriminator_betas": [0.5, 0.999]},
    "dagmm": {"n_components": 4, "estimation_hidden": 10, "dropout": 0.5, "lambda_energy": 0.1,
              "lambda_cov": 0.005, "gmm_momentum": 0.1, "covariance_jitter": 1e-6, "fit_images": 2048},
}
PINNED["wae-gan"] = {**PINNED["wae-mmd"], "regularizer": "gan"}
VAE_FAMILY = {"ood_score_kind": "neg_log_prior", "ood_elbo_samples": 4, "ood_seed": 0}
MODEL_CONFIG = {"image_shape": [1, 64, 64], "latent_dim": 10, "architecture": "dlib", "reconstruction": "auto",
                "lr": 1e-4}


def _tiny(name, **extra):
    return build_model(name, **tiny_options(name, **extra))


def _tensors(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_every_baseline_is_registered():
    assert BASELINE_NAMES == sorted(PINNED)
    assert sorted(gwrep.baselines.__all__) == sorted(dir(gwrep.baselines))
    for attr in gwrep.baselines.__all__:
        assert getattr(gwrep.baselines, attr).__name__ == attr
    with pytest.raises(AttributeError, match="no attribute"):
        gwrep.baselines.NotAModel


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_resolved_defaults_are_pinned(name):
    config = build_model(name).config.to_dict()
    config.pop("_class")
    family = VAE_FAMILY if name not in ("wae-mmd", "wae-gan", "dagmm") else {}
    assert config == {**MODEL_CONFIG, **family, **PINNED[name]}


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="dip-vae-ii.*wae-gan"):
        build_model("beta-vea")


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_training_step_moves_weights_and_validation_leaves_them(name):
    model = _tiny(name)
    assert isinstance(model, Model) and model.registry_name == name
    x = binary_squares(8)
    before = _tensors(model)
    logs = model.training_step(x)
    assert all(isinstance(v, float) and v == v for v in logs.values()), logs
    after = _tensors(model)
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert any(k.startswith("encoder.") for k in moved) and any(k.startswith("decoder.") for k in moved)
    assert int(model.step) == 1
    val = model.validation_step(binary_squares(8, seed=1))
    assert set(val) >= {"loss"} and all(torch.isfinite(torch.tensor(v)) for v in val.values())
    assert all(torch.equal(after[k], v) for k, v in _tensors(model).items())
    assert model.training  # validation restores the mode


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_save_load_round_trip(name, tmp_path):
    model = _tiny(name)
    x = binary_squares(6)
    model.training_step(binary_squares(8, seed=2))
    model.save(tmp_path / name)
    loaded = load_model(tmp_path / name)
    assert type(loaded) is type(model) and loaded.config == model.config and loaded.registry_name == name
    for key, value in _tensors(model).items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    torch.testing.assert_close(loaded.represent(x), model.represent(x), rtol=0, atol=0)
    torch.testing.assert_close(loaded.ood_score(x), model.ood_score(x), rtol=0, atol=0)
    z = torch.randn(3, model.config.latent_dim)
    torch.testing.assert_close(loaded.decode(z), model.decode(z), rtol=0, atol=0)


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_interface_shapes(name):
    model = _tiny(name)
    x = binary_squares(5)
    score = model.ood_score(x)
    assert score.shape == (5,) and torch.isfinite(score).all()
    assert model.represent(x).shape == (5, 4)
    assert model.reconstruct(x).shape == x.shape
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    samples = model.sample(3, generator=g1)
    assert samples.shape == (3, 1, 28, 28) and samples.min() >= 0 and samples.max() <= 1
    torch.testing.assert_close(model.sample(3, generator=g2), samples)


def _shapes_batches(n_batches: int, batch: int):
    from gwrep.data import load

    data = load("shapes2d", image_size=28)
    g = torch.Generator().manual_seed(0)
    index = torch.randperm(len(data), generator=g)[: (n_batches + 1) * batch].view(n_batches + 1, batch)
    images = [torch.stack([data[int(i)][0] for i in row]) for row in index]
    return images[:-1], images[-1]


def _loss_drop(name: str, steps: int, batch: int) -> tuple[float, float]:
    batches, held = _shapes_batches(4, batch)
    model = _tiny(name, lr=1e-3)

    def val_loss() -> float:
        torch.manual_seed(0)
        return model.validation_step(held)["loss"]

    before = val_loss()
    for step in range(steps):
        model.training_step(batches[step % len(batches)])
    return before, val_loss()


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_short_run_on_shapes_lowers_the_loss(name):
    before, after = _loss_drop(name, steps=8, batch=8)
    assert after < before, (before, after)


@pytest.mark.slow
@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_longer_run_on_shapes_lowers_the_loss_by_a_third(name):
    before, after = _loss_drop(name, steps=150, batch=32)
    assert after < 2 / 3 * before, (before, after)


def _train_cli(name: str, out) -> int:
    options = [f"--option={k}={str(v).replace(' ', '')}" for k, v in tiny_options(name).items()
               if k != "image_shape"]
    return cli_main(["train", "--model", name, "--steps", "2", "--batch-size", "8", "--image-size", "28",
                     "--eval-every", "0", "--no-figures", "--out", str(out), *options])


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_every_baseline_trains_through_the_trainer(name, tmp_path):
    """Two steps of the shared trainer on tiny data, validating 9 images in batches of 8 (a trailing
    single image), to the saved run model."""
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in tiny_options(name).items()}
    cfg = TrainConfig(model=name, steps=2, batch_size=8, eval_every=2, val_batches=2, figures=False,
                      out=str(tmp_path / "run"), model_options=options)
    run = train(cfg, dataset=TensorDataset(binary_squares(16), torch.zeros(16)),
                val_dataset=TensorDataset(binary_squares(9, seed=1), torch.zeros(9)), progress=False)
    assert run.status == "completed" and run.step == 2
    assert run.model.registry_name == name and int(run.model.step) == 2
    val = run.metrics("val")
    assert len(val) == 1 and torch.isfinite(torch.tensor(val[0]["loss"]))


def test_gwrep_train_runs_a_baseline(tmp_path):
    assert _train_cli("factor-vae", tmp_path / "run") == 0
    loaded = load_model(tmp_path / "run" / "model")
    assert loaded.registry_name == "factor-vae" and int(loaded.step) == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_gwrep_train_runs_every_baseline(name, tmp_path):
    assert _train_cli(name, tmp_path / "run") == 0
    assert load_model(tmp_path / "run" / "model").registry_name == name
