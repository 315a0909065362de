"""The GWAE authors' encoder, decoder and joint critic (Nakagawa et al. 2023, App. C).

Layer by layer the nets of vaetc's ``network/cnn.py`` on branch ``develop_may`` (the vaetc
the gwae repository installs), built as GWAE builds them (batch norm off, no residual blocks):

- Encoder (their ``ConvGaussianEncoder``): ``SigmoidInverse`` (logit of the input clamped to
  [1e-4, 1 - 1e-4]), four 4x4 stride-2 convolutions 3-32-64-128-256 (padding 1,
  ``padding_mode="replicate"``), each followed by SiLU (64 -> 4), Flatten, Linear 4096 -> 256,
  SiLU, and two linear heads 256 -> d (mean, log-variance), here one 256 -> 2d layer split in
  halves (the same parameters). vaetc pads with zeros only when
  ``torch.use_deterministic_algorithms`` is on (their ``--seed``); ``padding_mode`` selects it.
- Decoder (their ``ConvDecoder``): Linear d -> 256, SiLU, Linear 256 -> 4096, SiLU, Unflatten
  256x4x4, 4x4 stride-2 transposed convolutions 256-128-64-32 each followed by SiLU, a last
  4x4 stride-2 transposed convolution 32 -> C (4 -> 64) and a sigmoid. Here the decoder returns
  the logits and :meth:`gwrep.models.base.Model.decode` applies the sigmoid.
  Parameter counts at 64x64x3, d = 64: encoder 1,771,872, decoder 1,759,203, critic 913,657 (pinned in
  ``tests/test_nets_gwae.py``).
- ``architecture="gwae-tail5x5"`` is another decoder, not the authors': the last transposed
  convolution maps 32 -> 32 and a SiLU and a 5x5 convolution 32 -> C follow (a vaetc commit that
  was later reverted). It costs ~2.5x the authors' decoder on a CPU; kept only as an option.

For 28x28 the nets keep the first two (encoder) / last two (decoder) resolution steps
(28 -> 14 -> 7 with 32-64 filters), the same adaptation as the dlib nets here (the authors
resize every image to 64x64).

Joint critic f(x, z) (their ``Discriminator`` in gwae's ``models/gwae.py``): an image branch
of 4x4 stride-2 convolutions with 8, 16, 32, ... filters down to 1x1 (six at 64x64, four at
28x28) and a linear map to 64 features; a code branch d -> 256 -> 256 -> 64; the two 64-feature
vectors are concatenated, halved, and mapped 128 -> 256 -> 256 -> 1. LeakyReLU(0.2)
throughout and spectral normalisation (Miyato et al. 2018) on every layer.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from gwrep.nets import register_architecture

__all__ = ["GWAEEncoder", "GWAEDecoder", "JointCritic", "SigmoidInverse", "WindowConv2d"]


class SigmoidInverse(nn.Module):
    """logit(clamp(x, eps, 1 - eps)): maps [0, 1] pixels to the real line (the authors' first layer)."""

    def __init__(self, eps: float = 1e-4):
        super().__init__()
        self.eps = float(eps)

    def forward(self, x: Tensor) -> Tensor:
        return torch.logit(x, eps=self.eps)


def _filters(size: int, encoder: bool) -> list[int]:
    chans = [32, 64, 128, 256] if size == 64 else [32, 64]
    return chans if encoder else chans[::-1]


PADDING_MODES = ("replicate", "zeros")


class GWAEEncoder(nn.Module):
    """(N, C, H, W) images in [0, 1] -> (N, out_dim) features (GWAE splits them into mean, log-variance).

    Args:
        image_shape: (C, H, W), H = W = 28 or 64.
        out_dim: number of outputs (2 d for a Gaussian encoder).
        padding_mode: of the convolutions; ``"replicate"`` is vaetc's default, ``"zeros"``
            what vaetc uses under deterministic algorithms.
    """

    def __init__(self, image_shape: tuple[int, int, int], out_dim: int, padding_mode: str = "replicate"):
        super().__init__()
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        c, h, _ = image_shape
        chans = _filters(h, encoder=True)
        layers: list[nn.Module] = [SigmoidInverse()]
        prev = c
        for ch in chans:
            layers += [nn.Conv2d(prev, ch, 4, stride=2, padding=1, padding_mode=padding_mode), nn.SiLU()]
            prev = ch
        side = h // 2 ** len(chans)
        layers += [nn.Flatten(), nn.Linear(prev * side * side, 256), nn.SiLU(), nn.Linear(256, out_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class GWAEDecoder(nn.Module):
    """(N, latent_dim) codes -> (N, C, H, W) pixel logits.

    Args:
        image_shape: (C, H, W), H = W = 28 or 64.
        latent_dim: size of z.
        tail: ``"authors"`` (last transposed convolution 32 -> C) or ``"conv5x5"`` (32 -> 32,
            SiLU, then a 5x5 convolution 32 -> C; not the authors', see the module docstring).
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, tail: str = "authors"):
        super().__init__()
        if tail not in ("authors", "conv5x5"):
            raise ValueError(f"tail must be 'authors' or 'conv5x5', got {tail!r}")
        c, h, _ = image_shape
        chans = _filters(h, encoder=False)
        side = h // 2 ** len(chans)
        layers: list[nn.Module] = [nn.Linear(latent_dim, 256), nn.SiLU(), nn.Linear(256, chans[0] * side * side),
                                   nn.SiLU(), nn.Unflatten(1, (chans[0], side, side))]
        for ch_in, ch_out in zip(chans, chans[1:]):
            layers += [nn.ConvTranspose2d(ch_in, ch_out, 4, stride=2, padding=1), nn.SiLU()]
        if tail == "authors":
            layers.append(nn.ConvTranspose2d(chans[-1], c, 4, stride=2, padding=1))
        else:
            layers += [nn.ConvTranspose2d(chans[-1], chans[-1], 4, stride=2, padding=1), nn.SiLU(),
                       nn.Conv2d(chans[-1], c, 5, stride=1, padding=2)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class WindowConv2d(nn.Conv2d):
    """A Conv2d that runs as one matrix product when a single window covers the padded input.

    The critic's last convolution maps 2x2 (3x3 at 28x28) to 1x1: its output is
    W[:, :, p:p+h, p:p+w] . x + b, the kernel entries outside that slice meeting only
    padding zeros. ``F.linear`` on that slice is the same function, gradients (first and
    second order, for the gradient penalty) and parameters, and about 7x faster on a CPU
    than the library convolution at this tiny spatial size. Other inputs use Conv2d as is.
    """

    def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        h, w = x.shape[-2:]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ph, pw = self.padding if isinstance(self.padding, tuple) else (None, None)
        one_window = (ph is not None and self.groups == 1 and self.padding_mode == "zeros"
                      and self.dilation == (1, 1) and h + ph <= kh and w + pw <= kw
                      and 0 <= h + 2 * ph - kh < sh and 0 <= w + 2 * pw - kw < sw)
        if not one_window:
            return super()._conv_forward(x, weight, bias)
        return F.linear(x.flatten(1), weight[:, :, ph:ph + h, pw:pw + w].flatten(1), bias)[:, :, None, None]


class JointCritic(nn.Module):
    """f(x, z) -> (N, 1): the critic on (image, code) pairs of GWAE's merged condition.

    Args:
        image_shape: (C, H, W), H = W = 28 or 64.
        latent_dim: size of z.
        spectral: wrap every layer in spectral normalisation (the authors: yes).
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, spectral: bool = True):
        super().__init__()
        c, h, w = image_shape
        if (h, w) not in ((28, 28), (64, 64)):
            raise ValueError(f"JointCritic supports 28x28 and 64x64 images, got {h}x{w}")
        norm = spectral_norm if spectral else (lambda layer: layer)
        depth = 6 if h == 64 else 4  # 4x4 stride-2 convolutions down to 1x1: 64 -> 1, 28 -> 14 -> 7 -> 3 -> 1
        chans = [c] + [8 * 2 ** i for i in range(depth)]
        x_layers: list[nn.Module] = []
        for ch_in, ch_out in zip(chans[:-1], chans[1:]):
            x_layers += [norm(WindowConv2d(ch_in, ch_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        self.x_net = nn.Sequential(*x_layers, nn.Flatten(), norm(nn.Linear(chans[-1], 64)))
        self.z_net = nn.Sequential(norm(nn.Linear(latent_dim, 256)), nn.LeakyReLU(0.2),
                                   norm(nn.Linear(256, 256)), nn.LeakyReLU(0.2),
                                   norm(nn.Linear(256, 64)), nn.LeakyReLU(0.2))
        self.xz_net = nn.Sequential(norm(nn.Linear(128, 256)), nn.LeakyReLU(0.2),
                                    norm(nn.Linear(256, 256)), nn.LeakyReLU(0.2),
                                    norm(nn.Linear(256, 1)))

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        # channels-last layout: the same function, ~11% less time per critic update on a CPU
        # (mkldnn reorders less for these 3-256-channel convolutions; benchmarks/train_step.py)
        x = x.contiguous(memory_format=torch.channels_last)
        h = torch.cat([self.x_net(x), self.z_net(z)], dim=1) / 2  # (N, 128)
        return self.xz_net(h)  # (N, 1)


def _tail5x5_decoder(image_shape: tuple[int, int, int], latent_dim: int) -> GWAEDecoder:
    return GWAEDecoder(image_shape, latent_dim, tail="conv5x5")


register_architecture("gwae", GWAEEncoder, GWAEDecoder)
register_architecture("gwae-tail5x5", GWAEEncoder, _tail5x5_decoder)
