"""A tiny registered-on-demand model and a synthetic data set for the trainer tests.

Not a test module: ``tests/test_train_*.py`` and ``tests/test_figures.py`` import it and
register :class:`TinyVAE` under the name ``"tiny-vae"`` with ``monkeypatch``.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from gwrep.models.base import Model, ModelConfig
from gwrep.registry import Entry

NAME = "tiny-vae"
ENTRY = Entry(f"{__name__}:TinyVAE", {}, "tiny linear VAE for trainer tests")


@dataclasses.dataclass
class TinyConfig(ModelConfig):
    """A linear VAE's options; ``nan_at_step`` makes the loss NaN at that model step, and
    ``inf_grad_at_step`` gives ``decoder.bias`` an infinite gradient there (the loss stays finite)."""

    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 2
    lr: float = 1e-2
    kl_weight: float = 1.0
    nan_at_step: int = -1
    inf_grad_at_step: int = -1

    def validate(self) -> None:
        super().validate()
        if self.kl_weight < 0:
            raise ValueError(f"kl_weight must be >= 0, got {self.kl_weight}")


class TinyVAE(Model):
    """Linear encoder and decoder; Bernoulli reconstruction plus KL (draws from the torch RNG)."""

    config_class = TinyConfig

    def __init__(self, config: TinyConfig):
        super().__init__(config)
        pixels = config.image_shape[0] * config.image_shape[1] * config.image_shape[2]
        self.encoder = nn.Linear(pixels, 2 * config.latent_dim)
        self.decoder = nn.Linear(config.latent_dim, pixels)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return mean, logvar

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(z).view(-1, *self.config.image_shape)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.config.latent_dim, generator=generator, device=self.device)

    def loss(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        mean, logvar = self.encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        rec = nn.functional.binary_cross_entropy_with_logits(self.decode_logits(z), x, reduction="none")
        rec = rec.flatten(1).sum(1).mean()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
        loss = rec + self.config.kl_weight * kl
        if int(self.step) == self.config.nan_at_step:
            loss = loss * float("nan")
        if int(self.step) == self.config.inf_grad_at_step:
            first = self.decoder.bias[0]
            loss = loss + torch.sqrt(first - first.detach())  # + 0, with d/d(bias[0]) = +inf
        return loss, {"reconstruction": rec, "kl": kl}

    def ood_score(self, x: Tensor) -> Tensor:
        mean, _ = self.encode(x)
        rec = nn.functional.binary_cross_entropy_with_logits(self.decode_logits(mean), x, reduction="none")
        return rec.flatten(1).sum(1)


def blobs(n: int, seed: int = 0, size: int = 28) -> TensorDataset:
    """``n`` gray images of one bright square at a random place; target = its column."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, size, size)
    pos = torch.randint(0, size - 6, (n, 2), generator=gen)
    for i, (r, c) in enumerate(pos.tolist()):
        images[i, 0, r:r + 6, c:c + 6] = 1.0
    return TensorDataset(images, pos[:, 1].clone())
