"""Tiny deterministic inputs for the baseline tests (not a test module).

``binary_squares`` draws 28x28 binary images of one filled square of random size and
position, a stand-in for procedural shapes that needs nothing but torch.
"""
from __future__ import annotations

import torch

from gwrep.registry import MODELS

#: Every model registered from gwrep.baselines.
BASELINE_NAMES = sorted(name for name, entry in MODELS.items() if entry.target.startswith("gwrep.baselines."))

#: Small, fast options for any baseline: 28x28 gray, a 4-dimensional code, small discriminators.
TINY = {"image_shape": (1, 28, 28), "latent_dim": 4}
TINY_DISCRIMINATOR = {"discriminator_hidden": 32, "discriminator_layers": 2}


def tiny_options(name: str, **extra) -> dict:
    """``TINY`` plus small discriminator sizes for the models that have one."""
    options = dict(TINY)
    if name in ("factor-vae", "wae-gan"):
        options.update(TINY_DISCRIMINATOR)
    if name == "beta-tcvae":
        options["dataset_size"] = 1000
    options.update(extra)
    return options


def binary_squares(n: int, seed: int = 0, size: int = 28) -> torch.Tensor:
    """``n`` images (n, 1, size, size) in {0, 1}, each one square of side 4-10 at a random place."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, size, size)
    sides = torch.randint(4, 11, (n,), generator=g)
    for i in range(n):
        s = int(sides[i])
        top, left = torch.randint(0, size - s + 1, (2,), generator=g).tolist()
        images[i, 0, top:top + s, left:left + s] = 1.0
    return images


def forward_by_hand(model, x: torch.Tensor, seed: int) -> dict:
    """Encoder outputs, the reparameterised z drawn as ``model.loss`` draws it after
    ``torch.manual_seed(seed)``, and the reconstruction and KL terms written out by hand
    (Bernoulli cross-entropy or squared error summed over pixels, closed-form Gaussian
    KL summed over latents, both averaged over the batch)."""
    with torch.no_grad():
        mean, logvar = model.encode(x)
        torch.manual_seed(seed)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape)
        p = torch.sigmoid(model.decode_logits(z))
        if model.config.reconstruction_kind == "bernoulli":
            per_pixel = -(x * torch.log(p) + (1 - x) * torch.log(1 - p))
        else:
            per_pixel = (p - x) ** 2
        recon = per_pixel.flatten(1).sum(1).mean()
        kl = (0.5 * (mean ** 2 + logvar.exp() - logvar - 1)).sum(1).mean()
    return {"mean": mean, "logvar": logvar, "z": z, "reconstruction": recon, "kl": kl}


def loss_with_seed(model, x: torch.Tensor, seed: int):
    """``model.loss(x)`` (no gradient) with the global RNG seeded first: (loss, terms)."""
    with torch.no_grad():
        torch.manual_seed(seed)
        return model.loss(x)
