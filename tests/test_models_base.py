"""Tests for gwrep/models/base.py: the shared training step, its non-finite guard on losses and
gradients of every player, and the batches-per-step split."""
from __future__ import annotations

import pytest
import torch

from baselines_data import binary_squares, tiny_options
from gwrep.models.base import Model, NonFiniteLossError, build_model
from tiny_models import TinyConfig, TinyVAE


def zero_with_infinite_gradient(param: torch.nn.Parameter) -> torch.Tensor:
    """A scalar that is exactly 0 but whose gradient w.r.t. ``param``'s first entry is +inf."""
    first = param.flatten()[0]
    return torch.sqrt(first - first.detach())


def snapshot(model: Model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_optimizer_step_moves_parameters_and_returns_the_loss():
    model = TinyVAE(TinyConfig())
    before = snapshot(model)
    loss, _ = model.loss(torch.rand(4, 1, 28, 28))
    value = model.optimizer_step("main", loss)
    assert value == pytest.approx(float(loss.detach()))
    assert not torch.equal(before["decoder.weight"], model.decoder.weight)


def test_infinite_gradient_with_finite_loss_stops_before_the_step():
    model = TinyVAE(TinyConfig())
    model.training_step(torch.rand(4, 1, 28, 28))  # the optimizer has state now
    before, opt_before = snapshot(model), model.optimizer_state()
    loss, terms = model.loss(torch.rand(4, 1, 28, 28))
    loss = loss + zero_with_infinite_gradient(model.decoder.bias)
    assert torch.isfinite(loss)
    with pytest.raises(NonFiniteLossError, match=r"non-finite gradient in the 'main' update.*\['decoder\.bias'\]"):
        model.optimizer_step("main", loss, terms)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    state_after = model.optimizer_state()["main"]["state"]
    for idx, entry in opt_before["main"]["state"].items():
        assert all(torch.equal(torch.as_tensor(v), torch.as_tensor(state_after[idx][k])) for k, v in entry.items())


def test_training_step_names_non_finite_main_terms():
    model = TinyVAE(TinyConfig(nan_at_step=0))
    before = snapshot(model)
    with pytest.raises(NonFiniteLossError, match=r"'main' update at step 0"):
        model.training_step(torch.rand(4, 1, 28, 28))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert int(model.step) == 0


@pytest.mark.parametrize("name", ["factor-vae", "wae-gan"])
@pytest.mark.parametrize("fault", ["nan_loss", "inf_gradient"])
def test_discriminator_update_is_guarded_too(name, fault, monkeypatch):
    model = build_model(name, **tiny_options(name))
    original = type(model).discriminator_loss

    def broken(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        loss = out[0] if isinstance(out, tuple) else out
        if fault == "nan_loss":
            loss = loss * float("nan")
        else:
            loss = loss + zero_with_infinite_gradient(self.discriminator[0].weight)
        return (loss, *out[1:]) if isinstance(out, tuple) else loss

    monkeypatch.setattr(type(model), "discriminator_loss", broken)
    before = snapshot(model)
    match = "non-finite loss" if fault == "nan_loss" else r"gradient in the 'discriminator' update.*discriminator\.0"
    with pytest.raises(NonFiniteLossError, match=match):
        model.training_step(binary_squares(8))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("discriminator."))


def test_split_step_batch():
    vae = TinyVAE(TinyConfig())
    x = torch.rand(5, 1, 28, 28)
    assert vae.split_step_batch(x)[0] is x
    factor = build_model("factor-vae", **tiny_options("factor-vae"))
    first, second = factor.split_step_batch(binary_squares(8))
    assert first.shape[0] == second.shape[0] == 4
    with pytest.raises(ValueError, match="2 batches per step.*got 7"):
        factor.split_step_batch(binary_squares(7))
    with pytest.raises(ValueError, match="m >= 2, got 2"):
        factor.split_step_batch(binary_squares(2))


def test_default_hooks_do_nothing():
    model = TinyVAE(TinyConfig())
    before = snapshot(model)
    assert Model.batches_per_step == 1
    assert model.after_update(torch.rand(2, 1, 28, 28), []) == {}
    model.on_train_end([torch.rand(2, 1, 28, 28)])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
