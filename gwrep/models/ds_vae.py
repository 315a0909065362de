"""Disentangled Sequential VAE (Li & Mandt, ICML 2018): a static code f and dynamic codes z_1..z_T.

Generative model (Eq. 1): p(x_1:T, z_1:T, f) = p(f) prod_t p(z_t | z_<t) p(x_t | z_t, f), with
p(f) = N(0, I), a learned recurrent prior p(z_t | z_<t) = N(mu_t, diag sigma_t^2) whose
parameters come from an LSTM over z_<t (z_0 = 0), and a frame decoder p(x_t | f, z_t) on
the concatenation [f, z_t] (the frame decoders of :mod:`gwrep.nets`).

Inference (Sec. 3): every frame goes through a frame encoder (:mod:`gwrep.nets`) to a
feature h_t; q(f | x_1:T) reads h_1:T with a bidirectional LSTM and maps the last forward
and first backward states to a diagonal Gaussian. Dynamic codes, ``posterior``:

- ``"factorized"``: q(z_1:T | x_1:T) = prod_t q(z_t | x_t), an MLP on h_t alone;
- ``"full"``: q(z_1:T | x_1:T, f), a bidirectional LSTM over [h_t, f] followed by a
  forward RNN, whose state at t gives q(z_t | .).

Loss: the negative ELBO per clip (Eq. 4), averaged over the batch:

    sum_t -log p(x_t | f, z_t) + KL(q(f | x_1:T) || p(f))
        + sum_t KL(q(z_t | .) || p(z_t | z_<t)),

the first term with f, z ~ q (one reparameterised sample), the reconstruction loss of
``ModelConfig.reconstruction_kind`` (Bernoulli or fixed-variance Gaussian, as the image
models), KL(q(f) || p(f)) in closed form and each dynamic KL in closed form between two
Gaussians, the prior's parameters evaluated at the sampled z_<t (a one-sample estimate
of E_q[KL], as the paper). The pure functions :func:`static_kl`, :func:`dynamic_kl` and
:func:`clip_reconstruction` are those terms.

Defaults are smaller than the paper's Sprites set-up (f 256, z 32, 64x64 frames on a GPU)
so that a CPU run of minutes learns the procedural ``sprite-clips``: f 16, z 8, 128 hidden units.

>>> model = DSVAE(DSVAEConfig(image_shape=(3, 28, 28), frames=4, latent_dim=3, dynamic_dim=2, hidden_dim=16))
>>> model.represent(torch.zeros(2, 4, 3, 28, 28)).shape  # [f, z_1..z_4]: 3 + 4 * 2
torch.Size([2, 11])
"""
from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from gwrep.config import check_choice, check_positive
from gwrep.models.losses import kl_normal_normal, kl_normal_standard, reconstruction_loss, reparameterize
from gwrep.models.sequence import SequenceConfig, SequenceModel
from gwrep.nets import build_decoder, build_encoder, mlp

__all__ = ["DSVAEConfig", "DSVAE", "static_kl", "dynamic_kl", "clip_reconstruction", "POSTERIORS"]

#: The paper's two posteriors of the dynamic codes.
POSTERIORS = ("factorized", "full")


def static_kl(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(q(f | x_1:T) || N(0, I)) per clip, summed over f's dimensions: (N, D) -> (N,)."""
    return kl_normal_standard(mean, logvar).sum(1)


def dynamic_kl(mean: Tensor, logvar: Tensor, prior_mean: Tensor, prior_logvar: Tensor) -> Tensor:
    """sum_t KL(q(z_t | .) || p(z_t | z_<t)) per clip, Gaussians in closed form: (N, T, D) each -> (N,)."""
    return kl_normal_normal(mean, logvar, prior_mean, prior_logvar).sum((1, 2))


def clip_reconstruction(x: Tensor, logits: Tensor, kind: str) -> Tensor:
    """sum_t -log p(x_t | f, z_t) per clip up to constants: clips and logits (N, T, C, H, W) -> (N,)."""
    n, t = x.shape[:2]
    return reconstruction_loss(x.flatten(0, 1), logits.flatten(0, 1), kind).view(n, t).sum(1)


@dataclasses.dataclass
class DSVAEConfig(SequenceConfig):
    """Options of the DS-VAE.

    Attributes:
        latent_dim: size of the static code f (default 16).
        dynamic_dim: size of each dynamic code z_t (default 8).
        hidden_dim: frame-feature size and LSTM width (default 128).
        posterior: ``"factorized"`` q(z_t | x_t) or ``"full"`` q(z_1:T | x_1:T, f) (default factorized).
    """

    latent_dim: int = 16
    dynamic_dim: int = 8
    hidden_dim: int = 128
    posterior: str = "factorized"

    def validate(self) -> None:
        super().validate()
        check_positive("dynamic_dim", self.dynamic_dim, integer=True)
        check_positive("hidden_dim", self.hidden_dim, integer=True)
        check_choice("posterior", self.posterior, POSTERIORS)


def _gaussian(params: Tensor) -> tuple[Tensor, Tensor]:
    """(mean, logvar) halves of the last axis."""
    mean, logvar = params.chunk(2, dim=-1)
    return mean, logvar


class DSVAE(SequenceModel):
    """Disentangled Sequential VAE (Li & Mandt 2018) with the factorized or full dynamic posterior."""

    config_class = DSVAEConfig
    config: DSVAEConfig

    def __init__(self, config: DSVAEConfig):
        super().__init__(config)
        c, h = config, config.hidden_dim
        self.static_dim, self.dynamic_dim = c.latent_dim, c.dynamic_dim
        self.frame_encoder = build_encoder(c.architecture, c.image_shape, h)
        self.static_rnn = nn.LSTM(h, h, batch_first=True, bidirectional=True)
        self.static_head = nn.Linear(2 * h, 2 * c.latent_dim)
        if c.posterior == "full":
            self.dynamic_birnn = nn.LSTM(h + c.latent_dim, h, batch_first=True, bidirectional=True)
            self.dynamic_rnn = nn.RNN(2 * h, h, batch_first=True)
            self.dynamic_head = nn.Linear(h, 2 * c.dynamic_dim)
        else:
            self.dynamic_head = mlp([h, h, 2 * c.dynamic_dim])
        self.prior_rnn = nn.LSTM(c.dynamic_dim, h, batch_first=True)
        self.prior_head = nn.Linear(h, 2 * c.dynamic_dim)
        self.decoder = build_decoder(c.architecture, c.image_shape, c.latent_dim + c.dynamic_dim)

    # ------------------------------------------------------------ inference
    def frame_features(self, x: Tensor) -> Tensor:
        """h_t of every frame: clips (N, T, C, H, W) -> (N, T, hidden_dim)."""
        n, t = x.shape[:2]
        return self.frame_encoder(x.flatten(0, 1)).view(n, t, -1)

    def _static(self, h: Tensor) -> tuple[Tensor, Tensor]:
        out, _ = self.static_rnn(h)  # (N, T, 2H)
        half = self.config.hidden_dim
        last = torch.cat([out[:, -1, :half], out[:, 0, half:]], dim=1)  # forward end, backward end
        return _gaussian(self.static_head(last))

    def _dynamic(self, h: Tensor, f: Tensor) -> tuple[Tensor, Tensor]:
        if self.config.posterior == "factorized":
            return _gaussian(self.dynamic_head(h))
        both, _ = self.dynamic_birnn(torch.cat([h, f[:, None].expand(-1, h.shape[1], -1)], dim=2))
        out, _ = self.dynamic_rnn(both)
        return _gaussian(self.dynamic_head(out))

    def encode_static(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self._static(self.frame_features(x))

    def encode_dynamic(self, x: Tensor, f: Tensor) -> tuple[Tensor, Tensor]:
        return self._dynamic(self.frame_features(x), f)

    # ----------------------------------------------------------- generation
    def prior_params(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of p(z_t | z_<t) for t = 1..T given z (N, T, D): the LSTM reads z_0 = 0, z_1..z_T-1."""
        shifted = torch.cat([torch.zeros_like(z[:, :1]), z[:, :-1]], dim=1)
        out, _ = self.prior_rnn(shifted)
        return _gaussian(self.prior_head(out))

    def sample_static(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.static_dim, generator=generator, device=self.device)

    def sample_dynamic(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z_1:T ~ p(z_t | z_<t), drawn one step at a time through the prior LSTM: (n, T, dynamic_dim)."""
        z_prev = torch.zeros(n, 1, self.dynamic_dim, device=self.device)
        state, steps = None, []
        for _ in range(self.config.frames):
            out, state = self.prior_rnn(z_prev, state)
            mean, logvar = _gaussian(self.prior_head(out))
            eps = torch.randn(mean.shape, generator=generator, device=self.device)
            z_prev = mean + torch.exp(0.5 * logvar) * eps
            steps.append(z_prev)
        return torch.cat(steps, dim=1)

    def decode_clip_logits(self, f: Tensor, z: Tensor) -> Tensor:
        n, t = z.shape[:2]
        fz = torch.cat([f[:, None].expand(-1, t, -1), z], dim=2)  # (N, T, Df + Dz)
        return self.decoder(fz.flatten(0, 1)).view(n, t, *self.config.image_shape)

    # ------------------------------------------------------------------ loss
    def elbo_terms(self, x: Tensor) -> dict[str, Tensor]:
        """reconstruction, kl_static, kl_dynamic per clip (N,), with one reparameterised sample of f and z."""
        h = self.frame_features(x)
        f_mean, f_logvar = self._static(h)
        f = reparameterize(f_mean, f_logvar)
        z_mean, z_logvar = self._dynamic(h, f)
        z = reparameterize(z_mean, z_logvar)
        p_mean, p_logvar = self.prior_params(z)
        logits = self.decode_clip_logits(f, z)
        return {"reconstruction": clip_reconstruction(x, logits, self.config.reconstruction_kind),
                "kl_static": static_kl(f_mean, f_logvar),
                "kl_dynamic": dynamic_kl(z_mean, z_logvar, p_mean, p_logvar)}
