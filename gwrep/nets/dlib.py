"""disentanglement_lib's encoder and decoder architectures, in torch.

Locatello et al. 2019 (Table 1 of the appendix): conv encoder 32-32-64-64 filters of
4x4 with stride 2, a 256-unit dense layer, then the code; the decoder mirrors it.
For 28x28 inputs the two middle stride-2 layers are dropped (28 -> 14 -> 7).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["ConvEncoder", "ConvDecoder", "MLPEncoder", "MLPDecoder", "mlp"]


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU, final_activation: bool = False) -> nn.Sequential:
    """Fully connected layers ``sizes[0] -> sizes[1] -> ...`` with ``activation`` between."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or final_activation:
            layers.append(activation())
    return nn.Sequential(*layers)


def _conv_channels(size: int) -> list[int]:
    return [32, 32, 64, 64] if size == 64 else [32, 64]


class ConvEncoder(nn.Module):
    """dlib ``conv_encoder``: (N, C, H, W) -> (N, out_dim)."""

    def __init__(self, image_shape: tuple[int, int, int], out_dim: int):
        super().__init__()
        c, h, _ = image_shape
        chans = _conv_channels(h)
        layers: list[nn.Module] = []
        prev = c
        for ch in chans:
            layers += [nn.Conv2d(prev, ch, 4, stride=2, padding=1), nn.ReLU()]
            prev = ch
        self.features = nn.Sequential(*layers, nn.Flatten())
        side = h // 2 ** len(chans)
        self.head = nn.Sequential(nn.Linear(prev * side * side, 256), nn.ReLU(), nn.Linear(256, out_dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class ConvDecoder(nn.Module):
    """dlib ``deconv_decoder``: (N, latent_dim) -> pixel logits (N, C, H, W)."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        c, h, _ = image_shape
        chans = _conv_channels(h)[::-1]
        self.side = h // 2 ** len(chans)
        self.first = chans[0]
        self.fc = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(),
                                nn.Linear(256, chans[0] * self.side * self.side), nn.ReLU())
        layers: list[nn.Module] = []
        for i, ch in enumerate(chans):
            out = chans[i + 1] if i + 1 < len(chans) else c
            layers.append(nn.ConvTranspose2d(ch, out, 4, stride=2, padding=1))
            if i + 1 < len(chans):
                layers.append(nn.ReLU())
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        h = self.fc(z).view(z.shape[0], self.first, self.side, self.side)
        return self.deconv(h)


class MLPEncoder(nn.Module):
    """dlib ``fc_encoder``: flatten, 1200-1200 ReLU, then ``out_dim``."""

    def __init__(self, image_shape: tuple[int, int, int], out_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), mlp([math.prod(image_shape), 1200, 1200, out_dim]))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class MLPDecoder(nn.Module):
    """dlib ``fc_decoder``: 1200-1200-1200 tanh, then pixel logits."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = mlp([latent_dim, 1200, 1200, 1200, math.prod(image_shape)], activation=nn.Tanh)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)
