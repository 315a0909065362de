"""Tests for gwrep.baselines.adversarial (baselines/adversarial.py): discriminator nets, freezing."""
import pytest
import torch
from torch import nn

from gwrep.baselines.adversarial import check_discriminator_options, frozen, latent_discriminator
from gwrep.baselines.factor_vae import FactorVAEConfig


def test_factor_vae_discriminator_layout():
    d = latent_discriminator(10, 1000, 6, 2, leaky_slope=0.2)
    linears = [m for m in d if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 1000)] + [(1000, 1000)] * 5 + [(1000, 2)]
    acts = [m for m in d if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 6 and all(a.negative_slope == 0.2 for a in acts)
    assert isinstance(d[-1], nn.Linear)  # logits, no final activation


def test_frozen_passes_gradient_to_inputs_only():
    net = nn.Linear(3, 1)
    x = torch.randn(4, 3, requires_grad=True)
    with frozen(net):
        y = net(x).sum()
    y.backward()
    assert x.grad is not None and torch.count_nonzero(x.grad) > 0
    assert all(p.grad is None for p in net.parameters())
    assert all(p.requires_grad for p in net.parameters())  # restored


def test_frozen_restores_flags_after_error():
    net = nn.Linear(2, 2)
    net.bias.requires_grad_(False)
    with pytest.raises(RuntimeError):
        with frozen(net):
            raise RuntimeError("boom")
    assert net.weight.requires_grad and not net.bias.requires_grad


@pytest.mark.parametrize("field, value", [("discriminator_hidden", 0), ("discriminator_layers", 1.5),
                                          ("discriminator_lr", -1.0), ("discriminator_betas", (0.5, 1.0))])
def test_discriminator_options_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        FactorVAEConfig(**{field: value})
    with pytest.raises(ValueError, match=field):
        check_discriminator_options(type("C", (), {**FactorVAEConfig().__dict__, field: value})())
