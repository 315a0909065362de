"""Encoders, decoders and critics for 28x28 and 64x64 images, gray or colour.

Architectures are chosen by name (``ModelConfig.architecture``):

- ``"dlib"``: disentanglement_lib's convolutional encoder/decoder (``conv_encoder``,
  ``deconv_decoder``), adapted to 28x28 by using two stride-2 layers instead of four.
- ``"mlp"``: disentanglement_lib's fully connected nets (1200-1200).

Further families (the GWAE authors' nets) register themselves in :data:`ARCHITECTURES`.
An encoder maps (N, C, H, W) to (N, out_dim); a decoder maps (N, latent_dim) to pixel
logits (N, C, H, W).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from gwrep.nets.dlib import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, mlp

__all__ = ["ARCHITECTURES", "build_encoder", "build_decoder", "register_architecture", "mlp",
           "ConvEncoder", "ConvDecoder", "MLPEncoder", "MLPDecoder"]

# name -> (encoder factory, decoder factory); factories take (image_shape, dim).
ARCHITECTURES: dict[str, tuple[Callable[..., nn.Module], Callable[..., nn.Module]]] = {
    "dlib": (ConvEncoder, ConvDecoder),
    "mlp": (MLPEncoder, MLPDecoder),
}


#: registered by :mod:`gwrep.nets.gwae_nets` on first use (it imports spectral norm etc.).
GWAE_ARCHITECTURES = ("gwae", "gwae-tail5x5")


def register_architecture(name: str, encoder: Callable[..., nn.Module], decoder: Callable[..., nn.Module]) -> None:
    """Make an encoder/decoder pair available under ``name``."""
    ARCHITECTURES[name] = (encoder, decoder)


def _lookup(name: str):
    if name in GWAE_ARCHITECTURES and name not in ARCHITECTURES:
        import gwrep.nets.gwae_nets  # noqa: F401  registers itself
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {sorted(set(ARCHITECTURES) | set(GWAE_ARCHITECTURES))}")
    return ARCHITECTURES[name]


def build_encoder(name: str, image_shape: tuple[int, int, int], out_dim: int) -> nn.Module:
    """Encoder ``name`` for images of ``image_shape`` with ``out_dim`` outputs."""
    return _lookup(name)[0](image_shape, out_dim)


def build_decoder(name: str, image_shape: tuple[int, int, int], latent_dim: int) -> nn.Module:
    """Decoder ``name`` from ``latent_dim`` codes to pixel logits of ``image_shape``."""
    return _lookup(name)[1](image_shape, latent_dim)
