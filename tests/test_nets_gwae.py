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


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_are_the_authors():
    """64x64x3, d = 64: the counts of vaetc develop_may's ConvGaussianEncoder/ConvDecoder (batch norm off) and
    gwae's Discriminator, written out layer by layer (weights + biases; 4x4 kernels = 16 taps)."""
    from gwrep.nets import build_decoder, build_encoder

    d = 64
    encoder = (3 * 32 * 16 + 32) + (32 * 64 * 16 + 64) + (64 * 128 * 16 + 128) + (128 * 256 * 16 + 256) \
        + (4096 * 256 + 256) + 2 * (256 * d + d)
    decoder = (d * 256 + 256) + (256 * 4096 + 4096) + (256 * 128 * 16 + 128) + (128 * 64 * 16 + 64) \
        + (64 * 32 * 16 + 32) + (32 * 3 * 16 + 3)
    critic = sum(i * o * 16 + o for i, o in [(3, 8), (8, 16), (16, 32), (32, 64), (64, 128), (128, 256)]) \
        + (256 * 64 + 64) + (d * 256 + 256) + (256 * 256 + 256) + (256 * 64 + 64) \
        + (128 * 256 + 256) + (256 * 256 + 256) + (256 * 1 + 1)
    assert (encoder, decoder, critic) == (1_771_872, 1_759_203, 913_657)
    shape = (3, 64, 64)
    assert _count(build_encoder("gwae", shape, 2 * d)) == encoder
    assert _count(build_decoder("gwae", shape, d)) == decoder
    assert _count(JointCritic(shape, d)) == critic


def test_authors_layers_padding_and_tail():
    """Replicate padding in the encoder (vaetc's default), a transposed-convolution tail 32 -> C in the decoder;
    the 5x5 tail only under its own architecture name."""
    from gwrep.nets import build_decoder, build_encoder

    encoder = build_encoder("gwae", (3, 64, 64), 20)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.padding_mode for m in convs] == ["replicate"] * 4
    decoder = build_decoder("gwae", (3, 64, 64), 10)
    last = list(decoder.net)[-1]
    assert isinstance(last, torch.nn.ConvTranspose2d) and (last.in_channels, last.out_channels) == (32, 3)
    assert not any(isinstance(m, torch.nn.Conv2d) for m in decoder.modules())
    tail5 = list(build_decoder("gwae-tail5x5", (3, 64, 64), 10).net)[-1]
    assert isinstance(tail5, torch.nn.Conv2d) and tail5.kernel_size == (5, 5)
    # A replicate-padded encoder differs from a zero-padded one at the border only: same shapes, other values.
    zeros = type(encoder)((3, 64, 64), 20, padding_mode="zeros")
    zeros.load_state_dict(encoder.state_dict())
    x = torch.rand(2, 3, 64, 64)
    assert not torch.allclose(encoder(x), zeros(x))
    with pytest.raises(ValueError, match="padding_mode"):
        type(encoder)((3, 64, 64), 20, padding_mode="reflect")
