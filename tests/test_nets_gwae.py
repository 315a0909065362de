"""Tests for gwrep/nets/gwae_nets.py: the one-window convolution of the joint critic."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gwrep.nets.gwae_nets import JointCritic, WindowConv2d


@pytest.mark.parametrize("side", [2, 3, 4, 8])
def test_window_conv_equals_conv2d_with_first_and_second_derivatives(side):
    """1x1 outputs (2x2 and 3x3 inputs) take the matrix-product path; values and gradients are Conv2d's."""
    torch.manual_seed(0)
    conv = WindowConv2d(5, 7, 4, stride=2, padding=1).double()
    x = torch.randn(3, 5, side, side, dtype=torch.float64, requires_grad=True)
    weight = conv.weight.detach().clone().requires_grad_(True)
    ours = lambda x, w: conv._conv_forward(x, w, conv.bias)  # noqa: E731
    ref = lambda x, w: F.conv2d(x, w, conv.bias, stride=2, padding=1)  # noqa: E731
    assert torch.allclose(ours(x, weight), ref(x, weight), atol=1e-12)
    # The gradient penalty differentiates through the critic's input gradient: check both orders.
    for order in (1, 2):
        def grads(f):
            out = f(x, weight)
            g = torch.autograd.grad(out.square().sum(), [x, weight], create_graph=True)
            if order == 1:
                return g
            return torch.autograd.grad(g[0].square().sum(), [x, weight])
        for a, b in zip(grads(ours), grads(ref)):
            assert torch.allclose(a, b, atol=1e-10)


def test_window_conv_refuses_what_conv2d_refuses():
    """An input smaller than the kernel even with padding (1x1 for 4x4, padding 1) is Conv2d's error, not a value."""
    conv = WindowConv2d(2, 3, 4, stride=2, padding=1)
    with pytest.raises(RuntimeError, match="Kernel size"):
        conv(torch.randn(1, 2, 1, 1))


def test_critic_output_equals_plain_convolutions():
    """The critic with WindowConv2d computes what plain Conv2d layers compute, at 64x64 and 28x28."""
    for shape in [(3, 64, 64), (1, 28, 28)]:
        torch.manual_seed(1)
        critic = JointCritic(shape, 4, spectral=False).double()
        x, z = torch.rand(6, *shape, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
        h = x
        for layer in critic.x_net:
            h = (F.leaky_relu(F.conv2d(h, layer.weight, layer.bias, stride=2, padding=1), 0.2)
                 if isinstance(layer, WindowConv2d) else h if isinstance(layer, torch.nn.LeakyReLU) else layer(h))
        expected = critic.xz_net(torch.cat([h, critic.z_net(z)], dim=1) / 2)
        assert h.shape == (6, 64)
        assert torch.allclose(critic(x, z), expected, atol=1e-12)
