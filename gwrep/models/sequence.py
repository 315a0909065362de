"""The clip-model interface: models of videos (n, T, C, H, W) with a static code f and dynamic codes z_1..z_T.

A :class:`SequenceModel` is a :class:`~gwrep.models.base.Model` whose inputs are clips
(``takes_clips = True``; the trainer checks that the data yields clips). It implements
five hooks, after the split of Li & Mandt (ICML 2018, Eq. 1) into a static f and dynamic
z_1:T:

    encode_static(x) -> (mean, logvar) of q(f | x_1:T), each (N, static_dim)
    encode_dynamic(x, f) -> (mean, logvar) of q(z_1:T | ...), each (N, T, dynamic_dim)
    decode_clip_logits(f, z) -> pixel logits (N, T, C, H, W)
    sample_static(n, generator) -> f ~ p(f), (n, static_dim)
    sample_dynamic(n, generator) -> z_1:T ~ p(z_1:T), (n, T, dynamic_dim)

and ``elbo_terms(x)`` (per-clip loss terms, (N,) each, summed into the loss). From them
this class gives the shared interface on a flat code ``[f, z_1, ..., z_T]`` of
``code_dim = static_dim + T * dynamic_dim``: ``encode`` (f at its mean for z's full
posterior), ``represent``, ``decode``, ``prior_sample``, ``sample``, ``reconstruct``, the
loss (mean over clips of the summed terms) and an OoD score (the negative ELBO, seeded).
A model without a static code (the per-frame VAE) has ``static_dim = 0``.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
from torch import Tensor

from gwrep.config import check_positive
from gwrep.models.base import Model, ModelConfig

__all__ = ["SequenceConfig", "SequenceModel"]


@dataclasses.dataclass
class SequenceConfig(ModelConfig):
    """Options of every clip model.

    Attributes:
        image_shape: (C, H, W) of one frame.
        frames: clip length T (the trainer sets it from the data's ``clip_length``).
        ood_seed: seed of the posterior sample of the OoD score (the negative ELBO).
    """

    image_shape: tuple[int, int, int] = (3, 64, 64)
    frames: int = 8
    ood_seed: int = 0

    def validate(self) -> None:
        super().validate()
        check_positive("frames", self.frames, integer=True)


class SequenceModel(Model):
    """Base of the clip models: the flat-code interface from the static/dynamic hooks."""

    config_class: ClassVar[type[ModelConfig]] = SequenceConfig
    config: SequenceConfig
    #: The trainer feeds clips (N, T, C, H, W), not images, to models that say so.
    takes_clips: ClassVar[bool] = True
    static_dim: int
    dynamic_dim: int

    # ------------------------------------------------------------ hooks
    def encode_static(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def encode_dynamic(self, x: Tensor, f: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def decode_clip_logits(self, f: Tensor, z: Tensor) -> Tensor:
        raise NotImplementedError

    def sample_static(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def sample_dynamic(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def elbo_terms(self, x: Tensor) -> dict[str, Tensor]:
        """Per-clip terms of the negative ELBO, each (N,); their sum is the loss of a clip."""
        raise NotImplementedError

    # --------------------------------------------------------- provided
    @property
    def code_dim(self) -> int:
        """Width of the flat code [f, z_1, ..., z_T]."""
        return self.static_dim + self.config.frames * self.dynamic_dim

    def check_clips(self, x: Tensor) -> Tensor:
        """``x`` if it is a batch of clips (N, T, C, H, W) of this model's T and frame shape, else ValueError."""
        expected = (self.config.frames, *self.config.image_shape)
        if x.ndim != 5 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"{type(self).__name__} takes clips (N, {', '.join(map(str, expected))}); got a tensor "
                             f"of shape {tuple(x.shape)}")
        return x

    def split_code(self, code: Tensor) -> tuple[Tensor, Tensor]:
        """f (N, static_dim) and z (N, T, dynamic_dim) of flat codes (N, code_dim)."""
        if code.ndim != 2 or code.shape[1] != self.code_dim:
            raise ValueError(f"codes must be (N, {self.code_dim}) = [f, z_1..z_T]; got shape {tuple(code.shape)}")
        f, z = code.split([self.static_dim, self.code_dim - self.static_dim], dim=1)
        return f, z.reshape(len(code), self.config.frames, self.dynamic_dim)

    @staticmethod
    def join_code(f: Tensor, z: Tensor) -> Tensor:
        """The flat code (N, code_dim) of f (N, static_dim) and z (N, T, dynamic_dim)."""
        return torch.cat([f, z.flatten(1)], dim=1)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of the flat code; z's posterior is taken at f's mean (deterministic)."""
        x = self.check_clips(x)
        f_mean, f_logvar = self.encode_static(x)
        z_mean, z_logvar = self.encode_dynamic(x, f_mean)
        return self.join_code(f_mean, z_mean), self.join_code(f_logvar, z_logvar)

    def decode_logits(self, code: Tensor) -> Tensor:
        """Pixel logits (N, T, C, H, W) of flat codes (N, code_dim)."""
        return self.decode_clip_logits(*self.split_code(code))

    def decode_clip(self, f: Tensor, z: Tensor) -> Tensor:
        """Clips in [0, 1] (N, T, C, H, W) decoded from f and z (the decoder mean)."""
        return torch.sigmoid(self.decode_clip_logits(f, z))

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Flat codes (n, code_dim) with f ~ p(f) and z_1:T ~ p(z_1:T)."""
        return self.join_code(self.sample_static(n, generator), self.sample_dynamic(n, generator))

    def loss(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Mean over clips of the negative ELBO; the logged terms are the batch means of :meth:`elbo_terms`."""
        terms = self.elbo_terms(self.check_clips(x))
        total = torch.stack(list(terms.values())).sum(0).mean()
        return total, {k: v.mean() for k, v in terms.items()}

    @torch.no_grad()
    def ood_score(self, x: Tensor) -> Tensor:
        """The negative ELBO of each clip, (N,), with posterior samples seeded by ``config.ood_seed``."""
        was_training = self.training
        self.eval()
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.ood_seed)
            terms = self.elbo_terms(self.check_clips(x.to(self.device)))
        self.train(was_training)
        return torch.stack(list(terms.values())).sum(0)
