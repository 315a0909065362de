"""Per-frame VAE on clips: every frame encoded and decoded on its own, the baseline of the DS-VAE.

The VAE of Kingma & Welling (2014) applied to each frame of a clip with the same frame
nets as :class:`~gwrep.models.ds_vae.DSVAE` (:mod:`gwrep.nets`): q(z_t | x_t) a diagonal
Gaussian, p(z_t) = N(0, I) independently per frame, p(x_t | z_t) the frame decoder. Its
loss is the VAE's negative ELBO summed over the T frames of a clip (so it is on the scale
of the DS-VAE's per-clip ELBO), averaged over clips.

In the clip-model interface it has no static code (``static_dim = 0``): every code is
per frame, so the judge evaluation (:mod:`gwrep.eval.sequence`) shows what a model that
does not separate content from motion gives: resampling its (empty) f changes nothing,
resampling z changes everything.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from gwrep.models.ds_vae import clip_reconstruction
from gwrep.models.losses import kl_normal_standard, reparameterize
from gwrep.models.sequence import SequenceConfig, SequenceModel
from gwrep.nets import build_decoder, build_encoder

__all__ = ["FrameVAEConfig", "FrameVAE"]


@dataclasses.dataclass
class FrameVAEConfig(SequenceConfig):
    """Options of the per-frame VAE; ``latent_dim`` is the size of each frame's code z_t (default 8)."""

    latent_dim: int = 8


class FrameVAE(SequenceModel):
    """A VAE on single frames, run over clips (N, T, C, H, W); codes z_1..z_T, no static code."""

    config_class = FrameVAEConfig
    config: FrameVAEConfig

    def __init__(self, config: FrameVAEConfig):
        super().__init__(config)
        c = config
        self.static_dim, self.dynamic_dim = 0, c.latent_dim
        self.encoder = build_encoder(c.architecture, c.image_shape, 2 * c.latent_dim)
        self.decoder = build_decoder(c.architecture, c.image_shape, c.latent_dim)

    def encode_static(self, x: Tensor) -> tuple[Tensor, Tensor]:
        empty = x.new_zeros(len(x), 0)
        return empty, empty

    def encode_dynamic(self, x: Tensor, f: Tensor) -> tuple[Tensor, Tensor]:
        n, t = x.shape[:2]
        mean, logvar = self.encoder(x.flatten(0, 1)).view(n, t, -1).chunk(2, dim=2)
        return mean, logvar

    def decode_clip_logits(self, f: Tensor, z: Tensor) -> Tensor:
        n, t = z.shape[:2]
        return self.decoder(z.flatten(0, 1)).view(n, t, *self.config.image_shape)

    def sample_static(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.zeros(n, 0, device=self.device)

    def sample_dynamic(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z_t ~ N(0, I) independently per frame: (n, T, latent_dim)."""
        return torch.randn(n, self.config.frames, self.dynamic_dim, generator=generator, device=self.device)

    def elbo_terms(self, x: Tensor) -> dict[str, Tensor]:
        """reconstruction and kl per clip (N,), each summed over the frames."""
        mean, logvar = self.encode_dynamic(x, x.new_zeros(len(x), 0))
        z = reparameterize(mean, logvar)
        return {"reconstruction": clip_reconstruction(x, self.decode_clip_logits(z[:, :, :0], z),
                                                      self.config.reconstruction_kind),
                "kl": kl_normal_standard(mean, logvar).sum((1, 2))}
