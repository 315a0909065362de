"""Tests for gwrep/train/trainer.py: training, determinism, exact resume, NaN guard, Ctrl-C."""
from __future__ import annotations

import json
import os
import signal

import pytest
import torch

import gwrep
import gwrep.registry as registry
from gwrep.models.base import NonFiniteLossError
from gwrep.train import TrainConfig, load_run, train
from gwrep.train.checkpoint import load_checkpoint
from tiny_models import ENTRY, NAME, blobs


@pytest.fixture(autouse=True)
def tiny_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)


def config(tmp_path, name="run", **overrides) -> TrainConfig:
    options = dict(model=NAME, data="unused", steps=30, batch_size=16, eval_every=5, log_every=4,
                   checkpoint_every=7, patience=0, figures=False, out=str(tmp_path / name))
    return TrainConfig(**{**options, **overrides})


def fit(cfg, **kwargs):
    return train(cfg, dataset=blobs(100), val_dataset=blobs(32, seed=1), progress=False, **kwargs)


def weights(run_dir):
    return load_checkpoint(run_dir / "checkpoints" / "last.pt")


def assert_same_state(a, b, ignore=("minutes",)):
    """Same weights, optimizer states, RNG states and trainer state (but the ``ignore`` keys)."""
    drop = lambda t: {k: v for k, v in t.items() if k not in ignore}  # noqa: E731
    assert drop(a["trainer"]) == drop(b["trainer"])
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"]) and a["rng"]["python"] == b["rng"]["python"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    opt_a, opt_b = a["optimizers"]["main"]["state"], b["optimizers"]["main"]["state"]
    assert opt_a.keys() == opt_b.keys()
    for idx in opt_a:
        for key, value in opt_a[idx].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(opt_b[idx][key])), (idx, key)


def test_short_run_lowers_loss(tmp_path):
    run = fit(config(tmp_path, steps=60))
    assert run.status == "completed" and run.step == 60
    train_losses = [r["loss"] for r in run.metrics("train")]
    val_losses = [r["loss"] for r in run.metrics("val")]
    assert len(train_losses) == 15 and len(val_losses) == 12
    assert train_losses[-1] < 0.6 * train_losses[0]
    assert val_losses[-1] < 0.6 * val_losses[0]
    for name in ("config.json", "run.json", "metrics.jsonl", "model/model.json", "model/weights.pt",
                 "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (run.dir / name).is_file(), name
    best_step = run.summary["best_step"]
    assert load_checkpoint(run.dir / "checkpoints" / "best.pt")["trainer"]["step"] == best_step
    assert run.summary["best_val_loss"] == min(val_losses)


def test_same_seed_same_numbers(tmp_path):
    a, b = fit(config(tmp_path, "a", steps=12)), fit(config(tmp_path, "b", steps=12))
    assert a.metrics() == b.metrics()
    assert_same_state(weights(a.dir), weights(b.dir))
    c = fit(config(tmp_path, "c", steps=12, seed=1))
    assert c.metrics() != a.metrics()


def test_resume_after_interrupt_is_bit_exact(tmp_path):
    """Interrupt mid-epoch between checkpoints, resume, and reach the uninterrupted weights."""
    straight = fit(config(tmp_path, "straight"))

    def stop_at_13(step, logs):
        if step == 13:
            raise KeyboardInterrupt

    cfg = config(tmp_path, "resumed")
    first = fit(cfg, callbacks=[stop_at_13])
    assert first.status == "interrupted" and first.step == 13
    assert "--resume" in first.summary["message"]
    second = fit(cfg, resume=True)
    assert second.status == "completed" and second.step == 30
    assert_same_state(weights(straight.dir), weights(second.dir))
    assert straight.metrics() == second.metrics()


def test_resume_from_time_budget_extends_steps(tmp_path, monkeypatch):
    """A run stopped by its time budget continues, with more steps, to the same weights."""
    straight = fit(config(tmp_path, "straight", steps=20))
    clock = iter(range(10**6))
    monkeypatch.setattr("gwrep.train.trainer.time.monotonic", lambda: 60.0 * next(clock))
    cfg = config(tmp_path, "budget", steps=20, max_minutes=3.0)
    first = fit(cfg)
    assert first.status == "time_budget" and 0 < first.step < 20
    assert first.step % 5 and first.metrics("val")[-1]["step"] == first.step  # the stop validates
    monkeypatch.undo()
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)
    second = fit(cfg.replace(max_minutes=None), resume=True)
    assert second.step == 20
    # Same weights; only the validation record differs by that extra validation.
    assert_same_state(weights(straight.dir), weights(second.dir),
                      ignore=("minutes", "best_val", "best_step", "bad_evals", "last_eval_step"))


def test_nan_guard_keeps_last_good_checkpoint(tmp_path):
    cfg = config(tmp_path, model_options={"nan_at_step": 12})
    with pytest.raises(NonFiniteLossError, match=r"last good checkpoint .*last\.pt \(step 7\)"):
        fit(cfg)
    ckpt = weights(cfg_dir := tmp_path / "run")
    assert ckpt["trainer"]["step"] == 7
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())
    summary = json.loads((cfg_dir / "run.json").read_text())
    assert summary["status"] == "failed" and "non-finite" in summary["message"]


def test_infinite_gradient_keeps_last_good_checkpoint(tmp_path):
    """A finite loss with an infinite gradient stops before the optimizer writes NaN into the weights."""
    cfg = config(tmp_path, model_options={"inf_grad_at_step": 12})
    with pytest.raises(NonFiniteLossError, match=r"gradient.*\['decoder\.bias'\].*\(step 7\)"):
        fit(cfg)
    ckpt = weights(tmp_path / "run")
    assert ckpt["trainer"]["step"] == 7
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values())


def test_interrupt_inside_a_step_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    """A second Ctrl-C raised mid-step (the model updated, the trainer's step not yet) must not
    overwrite last.pt with the half-done step; resuming from the kept one stays exact."""
    from tiny_models import TinyVAE

    straight = fit(config(tmp_path, "straight"))
    original, calls = TinyVAE.training_step, []

    def half_done(self, x):
        calls.append(1)
        logs = original(self, x)
        if len(calls) == 10:  # step 10 ran its updates; the trainer never learns of it
            raise KeyboardInterrupt
        return logs

    monkeypatch.setattr(TinyVAE, "training_step", half_done)
    cfg = config(tmp_path, "cut")
    run = fit(cfg)
    assert run.status == "interrupted" and run.step == 7
    assert "left incomplete" in run.summary["message"] and "(step 7) is kept" in run.summary["message"]
    assert weights(run.dir)["trainer"]["step"] == 7
    monkeypatch.undo()
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)
    resumed = fit(cfg, resume=True)
    assert_same_state(weights(straight.dir), weights(resumed.dir))
    assert straight.metrics() == resumed.metrics()


def test_interrupt_while_finishing_keeps_the_final_step(tmp_path, monkeypatch):
    """Ctrl-C after the last step (in the final validation, hook or figures) keeps last.pt at
    the final step with no traceback; --resume then only finishes the run."""
    from gwrep.train import trainer as trainer_module

    def interrupted(self, model):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_module._Trainer, "_end_training", interrupted)
    cfg = config(tmp_path, steps=12)  # checkpoint_every=7: without the final save last.pt stays at step 7
    run = fit(cfg)
    assert run.status == "interrupted" and "while finishing" in run.summary["message"]
    assert weights(run.dir)["trainer"]["step"] == 12
    monkeypatch.undo()
    monkeypatch.setitem(registry.MODELS, NAME, ENTRY)
    resumed = fit(cfg, resume=True)
    assert resumed.status == "completed" and resumed.step == 12
    assert_same_state(weights(fit(config(tmp_path, "straight", steps=12)).dir), weights(resumed.dir),
                      ignore=("minutes", "best_val", "best_step", "bad_evals", "last_eval_step"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stop_signal_stops_after_the_current_step(tmp_path, signum):
    def stop(step, logs):
        if step == 9:
            os.kill(os.getpid(), signum)

    previous = signal.getsignal(signum)
    run = fit(config(tmp_path), callbacks=[stop])
    assert run.status == "interrupted" and weights(run.dir)["trainer"]["step"] == 9
    assert signal.getsignal(signum) is previous


def test_early_stopping_counts_evaluations(tmp_path):
    # A learning rate of ~0 never improves on the first validation loss.
    run = fit(config(tmp_path, steps=100, patience=3, model_options={"lr": 1e-12}))
    assert run.status == "early_stopped"
    assert len(run.metrics("val")) == 4 and run.step == 20


def test_selection_term_picks_the_best_model_and_names_itself(tmp_path, monkeypatch):
    from tiny_models import TinyVAE

    monkeypatch.setattr(TinyVAE, "selection_term", "kl")
    run = fit(config(tmp_path, steps=30, patience=2, model_options={"lr": 3e-2}))
    val = run.metrics("val")
    best = min(val, key=lambda r: r["kl"])  # the best model follows the KL term, not the total loss
    summary = json.loads((run.dir / "run.json").read_text())
    assert summary["selection_term"] == "kl" and summary["best_step"] == best["step"]
    assert summary["best_val_loss"] == pytest.approx(best["kl"])
    assert [r["best"] for r in val] == [r["kl"] <= min(q["kl"] for q in val[: i + 1]) for i, r in enumerate(val)]
    if summary["status"] == "early_stopped":
        assert "no better validation kl" in summary["message"]
    # Resumed under another term, the saved best (a KL value) is not compared with reconstruction errors.
    monkeypatch.setattr(TinyVAE, "selection_term", "reconstruction")
    resumed = fit(config(tmp_path, steps=40, patience=0, model_options={"lr": 3e-2}), resume=True)
    later = [r for r in resumed.metrics("val") if r["step"] > run.step]
    assert later[0]["best"]  # the first validation after the switch starts the new record
    summary = json.loads((resumed.dir / "run.json").read_text())
    assert summary["selection_term"] == "reconstruction"
    assert summary["best_val_loss"] == pytest.approx(min(r["reconstruction"] for r in later))
    monkeypatch.setattr(TinyVAE, "selection_term", "sharpness")
    with pytest.raises(KeyError, match="selection_term is 'sharpness'.*'kl'"):
        fit(config(tmp_path, name="other", steps=10))


def test_annealed_vae_selects_on_reconstruction():
    from gwrep.baselines.annealed_vae import AnnealedVAE
    from gwrep.baselines.vae import VAE

    assert AnnealedVAE.selection_term == "reconstruction" and VAE.selection_term == "loss"


def test_save_load_round_trip(tmp_path):
    run = fit(config(tmp_path, steps=10))
    loaded = gwrep.load(run.dir)
    assert type(loaded).__name__ == "TinyVAE" and loaded.registry_name == NAME
    for key, value in run.model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    again = load_run(run.dir)
    assert again.config == run.config and again.config.model_options["image_shape"] == [1, 28, 28]
    x = blobs(4)[:][0]
    assert torch.equal(again.model.reconstruct(x), run.model.reconstruct(x))


def test_val_fraction_holds_out_part_of_the_training_set(tmp_path):
    run = train(config(tmp_path, steps=5, val_fraction=0.2), dataset=blobs(100), progress=False)
    assert len(run.metrics("val")) == 1


def test_no_validation_saves_final_model(tmp_path):
    run = train(config(tmp_path, steps=5), dataset=blobs(100), progress=False)
    assert run.metrics("val") == [] and run.summary["best_step"] is None
    for key, value in weights(run.dir)["model"].items():
        assert torch.equal(value, run.model.state_dict()[key])


def test_figures_written(tmp_path):
    run = fit(config(tmp_path, steps=8, figures=True))
    names = sorted(p.name for p in (run.dir / "figures").iterdir())
    assert names == ["loss_curves.png", "reconstructions.png", "samples.png", "traversals.png"]


@pytest.mark.parametrize("change, match", [
    ({"batch_size": 8}, "batch_size"),
    ({"model_options": {"kl_weight": 2.0}}, "model_options"),
])
def test_resume_refuses_a_different_config(tmp_path, change, match):
    cfg = config(tmp_path, steps=3)
    fit(cfg)
    with pytest.raises(ValueError, match=match):
        fit(cfg.replace(**change), resume=True)


def test_refuses_to_overwrite_or_resume_nothing(tmp_path):
    cfg = config(tmp_path, steps=2)
    fit(cfg)
    with pytest.raises(ValueError, match="already holds a run"):
        fit(cfg)
    with pytest.raises(FileNotFoundError, match="last.pt"):
        fit(config(tmp_path, "empty"), resume=True)


def test_wrong_image_size_is_named(tmp_path):
    small = torch.utils.data.TensorDataset(torch.rand(40, 1, 32, 32), torch.zeros(40))
    with pytest.raises(ValueError, match="32x32"):
        train(config(tmp_path), dataset=small, progress=False)
    with pytest.raises(ValueError, match="does not match"):
        train(config(tmp_path, model_options={"image_shape": [1, 64, 64]}), dataset=blobs(40), progress=False)


def test_data_root_is_stored_absolute(tmp_path, monkeypatch):
    """config.json keeps data_root absolute, so gwrep eval/ood of the run work from any folder; resuming with
    the same folder given relatively is not a change."""
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, steps=2, data_root="data")
    fit(cfg)
    assert load_run(cfg.out).config.data_root == str(tmp_path.resolve() / "data")
    assert fit(cfg.replace(steps=3), resume=True).step == 3


def test_batch_larger_than_data(tmp_path):
    with pytest.raises(ValueError, match="larger than the data set"):
        train(config(tmp_path, batch_size=64), dataset=blobs(20), progress=False)
    assert not (tmp_path / "run").exists()  # nothing written: the same out works with a smaller batch
    assert train(config(tmp_path, batch_size=8, steps=2), dataset=blobs(20), progress=False).step == 2


def test_gwae_resume_is_bit_exact(tmp_path):
    """The default model (critic and main optimizers, prior BatchNorm buffers) resumes exactly too."""
    base = dict(data="shapes3d", data_options={"image_size": 28}, steps=5, batch_size=16, eval_every=2,
                val_batches=1, checkpoint_every=4, figures=False, model_options={"critic_steps": 2, "latent_dim": 4})
    straight = train(TrainConfig(**base, out=str(tmp_path / "a")), progress=False)

    def stop_at_3(step, logs):
        if step == 3:
            raise KeyboardInterrupt

    cfg = TrainConfig(**base, out=str(tmp_path / "b"))
    assert train(cfg, progress=False, callbacks=[stop_at_3]).status == "interrupted"
    resumed = train(cfg, progress=False, resume=True)
    a, b = weights(straight.dir), weights(resumed.dir)
    assert sorted(a["optimizers"]) == ["critic", "main"]
    assert_same_state(a, b)
    for key, value in a["optimizers"]["critic"]["state"].items():
        assert all(torch.equal(torch.as_tensor(v), torch.as_tensor(b["optimizers"]["critic"]["state"][key][k]))
                   for k, v in value.items())


def test_dataset_size_follows_training_set(tmp_path):
    """beta-TCVAE's dataset_size defaults to the number of training images (trainer-derived option)."""
    import torch
    from torch.utils.data import TensorDataset

    from gwrep.train import TrainConfig, train

    images = (torch.rand(40, 1, 28, 28) > 0.5).float()
    ds = TensorDataset(images, torch.zeros(40, dtype=torch.long))
    cfg = TrainConfig(model="beta-tcvae", steps=1, batch_size=8, eval_every=0, out=str(tmp_path / "run"),
                      model_options={"latent_dim": 3})
    run = train(cfg, dataset=ds, progress=False)
    assert run.model.config.dataset_size == 40
    cfg2 = cfg.replace(out=str(tmp_path / "run2"), model_options={"latent_dim": 3, "dataset_size": 1000})
    assert train(cfg2, dataset=ds, progress=False).model.config.dataset_size == 1000


def test_fold_small_last_batch():
    from gwrep.train.trainer import fold_small_last_batch

    sizes = lambda batches: [len(b) for b in batches]  # noqa: E731
    x = torch.arange(17.0)
    assert sizes(fold_small_last_batch(list(x.split(8)))) == [8, 9]
    assert torch.equal(torch.cat(fold_small_last_batch(list(x.split(8)))), x)
    assert sizes(fold_small_last_batch(list(x[:16].split(8)))) == [8, 8]
    assert sizes(fold_small_last_batch(list(x[:1].split(8)))) == [1]


def test_beta_tcvae_validates_a_trailing_single_image(tmp_path):
    """9 validation images in batches of 8: the ninth joins the first batch (the TC estimators need 2 codes)."""
    from baselines_data import binary_squares
    from torch.utils.data import TensorDataset

    ds = TensorDataset(binary_squares(40), torch.zeros(40))
    val = TensorDataset(binary_squares(9, seed=1), torch.zeros(9))
    cfg = TrainConfig(model="beta-tcvae", steps=2, batch_size=8, eval_every=1, figures=False,
                      out=str(tmp_path / "run"), model_options={"latent_dim": 3})
    run = train(cfg, dataset=ds, val_dataset=val, progress=False)
    assert run.status == "completed" and len(run.metrics("val")) == 2


def _factor_vae_config(tmp_path, name, **overrides):
    from baselines_data import TINY_DISCRIMINATOR

    options = dict(model="factor-vae", steps=4, batch_size=4, eval_every=2, val_batches=1, checkpoint_every=2,
                   log_every=1, patience=0, figures=False, out=str(tmp_path / name),
                   model_options={"latent_dim": 3, **TINY_DISCRIMINATOR})
    return TrainConfig(**{**options, **overrides})


def _fit_squares(cfg, **kwargs):
    from baselines_data import binary_squares
    from torch.utils.data import TensorDataset

    return train(cfg, dataset=TensorDataset(binary_squares(20), torch.zeros(20)),
                 val_dataset=TensorDataset(binary_squares(4, seed=1), torch.zeros(4)), progress=False, **kwargs)


def test_factor_vae_gets_two_batches_per_step_and_resumes_exactly(tmp_path, monkeypatch):
    from gwrep.baselines.factor_vae import FactorVAE

    sizes, original = [], FactorVAE.training_step
    monkeypatch.setattr(FactorVAE, "training_step", lambda self, x: sizes.append(len(x)) or original(self, x))
    straight = _fit_squares(_factor_vae_config(tmp_path, "straight"))
    assert sizes == [8] * 4  # 2 x batch_size; 20 images give 2 steps per epoch
    assert straight.summary["epoch"] == 2
    with pytest.raises(ValueError, match=r"batch_size 12 x 2 batches per step \(factor-vae\)"):
        _fit_squares(_factor_vae_config(tmp_path, "big", batch_size=12))

    def stop_at_3(step, logs):
        if step == 3:
            raise KeyboardInterrupt

    cfg = _factor_vae_config(tmp_path, "resumed")
    assert _fit_squares(cfg, callbacks=[stop_at_3]).status == "interrupted"
    resumed = _fit_squares(cfg, resume=True)
    a, b = weights(straight.dir), weights(resumed.dir)
    assert_same_state(a, b)
    for key, value in a["optimizers"]["discriminator"]["state"].items():
        assert all(torch.equal(torch.as_tensor(v), torch.as_tensor(b["optimizers"]["discriminator"]["state"][key][k]))
                   for k, v in value.items())


@pytest.mark.parametrize("eval_every", [0, 1])
def test_dagmm_mixture_is_the_training_set_estimate_after_training(tmp_path, eval_every):
    """on_train_end: the run's model (final, or best validated) holds fit_gmm over the training set;
    last.pt keeps the training state (the running averages), so a resumed run continues exactly."""
    import copy

    from baselines_data import binary_squares
    from torch.utils.data import TensorDataset

    from gwrep.models.base import load_model

    images = binary_squares(20)
    cfg = TrainConfig(model="dagmm", steps=2, batch_size=8, eval_every=eval_every, val_batches=1, figures=False,
                      out=str(tmp_path / "run"), model_options={"latent_dim": 2})
    run = train(cfg, dataset=TensorDataset(images, torch.zeros(20)),
                val_dataset=TensorDataset(binary_squares(8, seed=1), torch.zeros(8)), progress=False)
    run_model = load_model(run.dir / "model")
    want = copy.deepcopy(run_model)
    want.fit_gmm(images.split(8))
    for name in ("gmm_phi", "gmm_mu", "gmm_cov"):
        torch.testing.assert_close(getattr(run_model, name), getattr(want, name), rtol=0, atol=0)
    last = copy.deepcopy(run_model)
    last.load_state_dict(weights(run.dir)["model"])
    fitted = copy.deepcopy(last)
    fitted.fit_gmm(images.split(8))
    assert not torch.equal(last.gmm_mu, fitted.gmm_mu)  # the hook's fit is not in the training state
    if eval_every:  # best.pt was saved at validation, before training ended: it holds the running averages
        mid = copy.deepcopy(run_model)
        mid.load_state_dict(load_checkpoint(run.dir / "checkpoints" / "best.pt")["model"])
        assert not torch.equal(mid.gmm_mu, run_model.gmm_mu)


def test_dagmm_resumes_exactly_after_a_time_budget_stop(tmp_path, monkeypatch):
    """The end-of-training mixture fit at a budget stop goes to model/, not into last.pt's training state."""
    from baselines_data import binary_squares
    from torch.utils.data import TensorDataset

    data = TensorDataset(binary_squares(40), torch.zeros(40))

    def fit_dagmm(name, **overrides):
        cfg = TrainConfig(**{**dict(model="dagmm", steps=10, batch_size=8, eval_every=0, figures=False,
                                    checkpoint_every=100, out=str(tmp_path / name),
                                    model_options={"latent_dim": 2}), **overrides})
        return cfg, train(cfg, dataset=data, progress=False)

    _, straight = fit_dagmm("straight")
    clock = iter(range(10**6))
    monkeypatch.setattr("gwrep.train.trainer.time.monotonic", lambda: 60.0 * next(clock))
    cfg, first = fit_dagmm("budget", max_minutes=3.0)
    assert first.status == "time_budget" and 0 < first.step < 10
    monkeypatch.undo()
    second = train(cfg.replace(max_minutes=None), dataset=data, resume=True, progress=False)
    assert second.step == 10
    assert_same_state(weights(straight.dir), weights(second.dir))
