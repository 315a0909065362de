"""GWAE: the Gromov-Wasserstein Autoencoder (Nakagawa et al., ICLR 2023, arXiv 2209.07007).

The objective, as the authors' code trains it (docs/design.md, "The authors' objective"):

    L = c_GW L_GW + c_W L_W + c_D L_D + c_H L_H      (c_H = 0.03, the others 1)

- L_GW, the GW term. ``gw_term="paper"``: the sample estimator of the paper's relaxed GW
  objective (Eq. 9), mean_ij | ||G(z_i) - G(z_j)|| - (beta / s) ||z_i - z_j|| | over prior
  samples z ~ p_theta (:func:`gwrep.ot.gwae_gw_loss`); only the decoder G, the prior and
  beta = exp(log_beta) learn from it, the encoder never sees it. ``gw_term="entropic"``:
  the entropic GW between the data batch x and the encoded batch z ~ q(z|x) scaled by
  beta / s (:func:`gwrep.ot.coupled_gw_loss`); there the encoder and beta learn from it.
- L_W = E_x E_{z~q(z|x)} 1/2 ||x - G(z)||^2 summed over pixels (Eq. 10's reconstruction).
- L_D, the merged sufficient condition (Sec. 4.1): mean f(G(z_p), z_p) - mean f(x, z_q) with
  a joint critic f trained ``critic_steps`` times per main step to maximise it, with WGAN-GP
  (Gulrajani et al. 2017) on joint interpolations of the two pairs and spectral norm
  (Miyato et al. 2018); or ``divergence="mmd"``: MMD_IMQ(z_q, z_p) (the authors' ablation).
- L_H = - mean sum_k log sigma_k^2, the encoder-entropy term.

Critic loop cost. The authors re-run the encoder, the prior and two decoder passes with
full autograd graphs in every one of the 5 critic steps, throw those graphs away, and then
run the encoder and decoder again for the main step. Here one generator pass per step
(encoder, prior, and a single decoder pass over posterior and prior codes together) serves
both players: the critic steps use detached copies of it (the critic's updates do not
change the encoder, decoder or prior, so the outputs stay exact) and redraw only the
posterior noise. That reuse of one prior batch is a deviation from the authors, who draw
fresh prior samples in each critic step (``critic_resample=True`` here): the expectation
of the critic objective is unchanged, its variance is not. The main loss then
backpropagates through the same pass, with the critic's parameters frozen and both
critic evaluations in one batch.
``benchmarks/train_step.py`` measures the difference.

Update order. The authors' step runs the main update first and then the critic steps on
the same batch; here the critic steps come first (the usual WGAN order), which is what lets
one generator pass serve both players. Over a run both are the same alternation of critic
and main updates, shifted by half a step: the critic sees each batch before the generator
has moved on it rather than after.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Iterator

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

import gwrep.ot as gwot
from gwrep.config import check_choice, check_nonnegative, check_positive
from gwrep.models.base import Model, ModelConfig, NonFiniteLossError, parameters_of
from gwrep.models.losses import gaussian_entropy_term, reconstruction_loss, reparameterize
from gwrep.nets import build_decoder, build_encoder
from gwrep.nets.gwae_nets import JointCritic
from gwrep.priors import build_prior, check_prior_options, frozen_running_stats

__all__ = ["GWAEConfig", "GWAE", "bounded_logvar", "joint_gradient_penalty", "critic_objective", "wasserstein_reconstruction",
           "check_finite_outputs"]

GW_TERMS = ("paper", "entropic")
DIVERGENCES = ("critic", "mmd")


@dataclasses.dataclass
class GWAEConfig(ModelConfig):
    """GWAE's options (defaults: the authors' ``settings/gwae.yaml``).

    Attributes:
        architecture: encoder/decoder family; ``"gwae"`` = the authors' nets, ``"dlib"`` works too.
        reconstruction: ``"gaussian"`` (L_W = 1/2 ||x - G(z)||^2, the authors') or
            ``"bernoulli"`` (cross-entropy with the decoder logits); ``"auto"`` as ModelConfig.
        prior: registered prior name (``gaussian``, ``np``, ``fnp``, ``gmp``).
        prior_options: keyword options of the prior (e.g. ``{"num_components": 10}`` for gmp).
        gw_term: ``"paper"`` (sample estimator on prior samples) or ``"entropic"`` (entropic GW
            between the data batch and the encoded batch).
        gw_epsilon: entropic regularisation of the ``"entropic"`` GW term, relative to the
            product of the two mean normalised costs (see :func:`gwrep.ot.coupled_gw_loss`);
            0.2 converges without iteration-limit warnings on 64-image batches of shapes3d at
            28x28 and 64x64 against 10-d codes, 0.05 did not at 28x28.
        gw_max_iter, gw_tol: outer iteration limit and (outer and inner Sinkhorn) tolerance of the
            entropic GW solver.
        coef_gw, coef_w, coef_d, coef_h: weights of L_GW, L_W, L_D, L_H (1, 1, 1, 0.03).
        beta_init: initial scale beta of the latent distances (authors: 2.5).
        learn_beta: learn log beta with the main optimizer (authors: yes).
        divergence: ``"critic"`` (joint WGAN-GP critic) or ``"mmd"`` (IMQ MMD on z).
        critic_steps: critic updates per main step (authors: 5).
        critic_lr: RMSprop learning rate of the critic (authors: 1e-4).
        gp_coef: WGAN-GP coefficient (authors: 10).
        critic_drift: weight of the drift term E[f^2] on both pairs in the critic loss (the
            authors add 1e-4 E[f^2] inside the penalty scaled by 10, i.e. 1e-3).
        critic_spectral_norm: spectral normalisation of every critic layer (authors: yes).
        critic_resample: ``True`` = the authors' sampling: fresh prior samples, decoded, in
            every critic step (one more prior and decoder pass per critic step).
            Deviation from the authors: the default ``False`` draws and decodes one batch of
            prior samples per main step and reuses it in all ``critic_steps`` critic updates
            (only the posterior noise is redrawn). The expected critic objective is the same,
            its variance across critic steps is not; chosen for speed.
        share_generator_pass: compute the batch's encoder/prior/decoder pass once, with graphs,
            for both the critic steps and the main loss (faster); ``False`` keeps no graph
            during the critic steps (lower peak memory, one more decoder pass per step).
        mmd_scale: kernel scale of the MMD ablation (``None`` = the WAE paper's scales).
        logvar_max: soft upper bound b of the encoder's log-variance,
            ``logvar = b - softplus(b - raw)`` (equal to ``raw`` well below b, never above it;
            sigma <= e^(b/2) = 2.7 prior standard deviations at b = 2). Deviation from the
            authors, whose log-variance is unbounded (``None`` here): in the first steps
            RMSprop moves every weight by about 10 x lr in the direction of its gradient's
            sign, the log-variance head jumps by several units a step, and once sigma is large
            the critic term's push on it grows with sigma (f is piecewise linear in z), so it
            runs away until z overflows (``benchmarks/stability.py``; ``docs/design.md``).
    """

    architecture: str = "gwae"
    reconstruction: str = "gaussian"
    prior: str = "fnp"
    prior_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    gw_term: str = "paper"
    gw_epsilon: float = 0.2
    gw_max_iter: int = 100
    gw_tol: float = 1e-6
    coef_gw: float = 1.0
    coef_w: float = 1.0
    coef_d: float = 1.0
    coef_h: float = 0.03
    beta_init: float = 2.5
    learn_beta: bool = True
    divergence: str = "critic"
    critic_steps: int = 5
    critic_lr: float = 1e-4
    gp_coef: float = 10.0
    critic_drift: float = 1e-3
    critic_spectral_norm: bool = True
    critic_resample: bool = False
    share_generator_pass: bool = True
    mmd_scale: float | None = None
    logvar_max: float | None = 2.0

    def validate(self) -> None:
        super().validate()
        for name in ("coef_gw", "coef_w", "coef_d", "coef_h", "gp_coef", "critic_drift"):
            check_nonnegative(name, getattr(self, name))
        for name in ("gw_epsilon", "gw_tol", "beta_init", "critic_lr"):
            check_positive(name, getattr(self, name))
        check_positive("critic_steps", self.critic_steps, integer=True)
        check_positive("gw_max_iter", self.gw_max_iter, integer=True)
        check_choice("gw_term", self.gw_term, GW_TERMS)
        check_choice("divergence", self.divergence, DIVERGENCES)
        if not isinstance(self.prior_options, dict):
            raise ValueError(f"prior_options must be a dict, got {type(self.prior_options).__name__}")
        self.prior_options = check_prior_options(self.prior, self.prior_options)  # typed; unknown prior: ValueError
        if self.mmd_scale is not None:
            check_positive("mmd_scale", self.mmd_scale)
        if self.logvar_max is not None and not math.isfinite(self.logvar_max):
            raise ValueError(f"logvar_max must be a finite number or None (unbounded), got {self.logvar_max!r}")


def bounded_logvar(raw: Tensor, upper: float | None) -> Tensor:
    """``upper - softplus(upper - raw)``: a smooth upper bound on a log-variance (``None``: ``raw`` as is).

    Below the bound it is ``raw`` (difference ``softplus(upper - raw)`` -> 0, e.g. 0.13 at
    ``raw = upper - 2``), it never exceeds ``upper``, and its gradient ``sigmoid(upper - raw)``
    fades to 0 above it, so no gradient can drive sigma past e^(upper/2).
    """
    if upper is None:
        return raw
    return upper - torch.nn.functional.softplus(upper - raw)


def wasserstein_reconstruction(x: Tensor, logits: Tensor, kind: str) -> Tensor:
    """L_W: batch mean of 1/2 ||x - sigmoid(logits)||^2 (``"gaussian"``) or of the Bernoulli NLL."""
    per_sample = reconstruction_loss(x, logits, kind)  # (N,)
    return (0.5 * per_sample if kind == "gaussian" else per_sample).mean()


def joint_gradient_penalty(critic: nn.Module, x_a: Tensor, z_a: Tensor, x_b: Tensor, z_b: Tensor,
                           t: Tensor | None = None) -> Tensor:
    """WGAN-GP on joint interpolations: mean_i (||grad_(x,z) f(x_t, z_t)||_2 - 1)^2.

    Gulrajani et al. 2017, Eq. 3, on the pair space: x_t = t x_a + (1 - t) x_b and
    z_t = t z_a + (1 - t) z_b with one t ~ U(0, 1) per sample shared by image and code;
    the gradient norm is over the concatenation of both parts.

    Args:
        critic: f(x, z) -> (N, 1).
        x_a, x_b: (N, C, H, W) images; z_a, z_b: (N, d) codes (no gradient needed).
        t: (N,) interpolation weights; drawn uniformly when ``None``.
    """
    n = x_a.shape[0]
    if t is None:
        t = torch.rand(n, dtype=x_a.dtype, device=x_a.device)
    x_t = (t.view(n, 1, 1, 1) * x_a + (1 - t.view(n, 1, 1, 1)) * x_b).detach().requires_grad_(True)
    z_t = (t.view(n, 1) * z_a + (1 - t.view(n, 1)) * z_b).detach().requires_grad_(True)
    out = critic(x_t, z_t)
    grad_x, grad_z = torch.autograd.grad(out.sum(), [x_t, z_t], create_graph=True)
    norm = torch.cat([grad_x.flatten(1), grad_z], dim=1).norm(dim=1)  # (N,)
    return (norm - 1).pow(2).mean()


def critic_objective(critic: nn.Module, x_q: Tensor, z_q: Tensor, x_p: Tensor, z_p: Tensor,
                     gp_coef: float, drift: float) -> tuple[Tensor, dict[str, Tensor]]:
    """The critic's loss: -(mean f(x_p, z_p) - mean f(x_q, z_q)) + gp_coef GP + drift (E f_q^2 + E f_p^2).

    (x_q, z_q) are inference pairs (data, code from q(z|x)), (x_p, z_p) generative pairs
    (G(z), z with z from the prior). Minimising this maximises L_D over the critic.
    """
    f_q, f_p = critic(torch.cat([x_q, x_p]), torch.cat([z_q, z_p])).split(x_q.shape[0])  # one pass for both
    gap = f_p.mean() - f_q.mean()
    penalty = joint_gradient_penalty(critic, x_q, z_q, x_p, z_p)
    drift_term = f_q.pow(2).mean() + f_p.pow(2).mean()
    loss = -gap + gp_coef * penalty + drift * drift_term
    return loss, {"critic_loss": loss.detach(), "critic_gap": gap.detach(), "critic_gp": penalty.detach()}


@dataclasses.dataclass
class _GeneratorPass:
    """One batch's encoder/prior/decoder outputs (with graphs), shared by critic steps and main loss."""

    x: Tensor
    mean: Tensor
    logvar: Tensor
    z_q: Tensor  # (N, d) posterior sample
    z_p: Tensor  # (N, d) prior sample
    logits_q: Tensor  # decoder logits of z_q
    x_p: Tensor  # decoded prior samples G(z_p) in [0, 1]

    def check_finite(self, step: int) -> None:
        """:func:`check_finite_outputs` over every player's outputs in this pass."""
        check_finite_outputs(step, encoder={"mean": self.mean, "logvar": self.logvar, "z_q": self.z_q},
                             prior={"z_p": self.z_p}, decoder={"logits": self.logits_q, "x_p": self.x_p})


def check_finite_outputs(step: int, **players: dict[str, Tensor]) -> None:
    """Raise :class:`NonFiniteLossError` naming the player and tensor that holds NaN or inf.

    ``players`` maps a player name (``encoder``, ``prior``, ``decoder``) to its named
    outputs. GWAE checks its generator pass with this before any loss is formed, so a
    diverged net stops training through the trainer's non-finite guard (last good
    checkpoint kept) instead of the ValueError that :mod:`gwrep.ot`'s input checks raise.
    """
    named = [(player, name, tensor.detach()) for player, tensors in players.items() for name, tensor in tensors.items()]
    if bool(torch.stack([torch.isfinite(t).all() for _, _, t in named]).all()):  # one device sync
        return
    for player, name, tensor in named:  # a failure: find the tensor to name
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            bad = int((~finite).sum())
            raise NonFiniteLossError(
                f"non-finite {player} output {name!r} ({bad} of {finite.numel()} entries NaN or inf) "
                f"at step {step}. Lower the learning rate or check the input data.")


@contextlib.contextmanager
def _frozen(module: nn.Module | None) -> Iterator[None]:
    """Turn off ``requires_grad`` of ``module``'s parameters inside the block (restored after)."""
    if module is None:
        yield
        return
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


class GWAE(Model):
    """Gromov-Wasserstein Autoencoder with a learnable meta-prior (see the module docstring).

    Players: encoder q(z|x) (Gaussian, mean and log-variance), decoder G (pixel logits),
    prior p_theta (a :mod:`gwrep.priors` module), scale log_beta, and the joint critic f
    (trained in :meth:`inner_updates`). RMSprop for every player (the authors').
    """

    config_class = GWAEConfig

    def __init__(self, config: GWAEConfig):
        super().__init__(config)
        c = config
        self.encoder = build_encoder(c.architecture, c.image_shape, 2 * c.latent_dim)
        self.decoder = build_decoder(c.architecture, c.image_shape, c.latent_dim)
        self.prior = build_prior(c.prior, c.latent_dim, **c.prior_options)
        self.log_beta = nn.Parameter(torch.tensor(math.log(c.beta_init)), requires_grad=c.learn_beta)
        self.critic = (JointCritic(c.image_shape, c.latent_dim, spectral=c.critic_spectral_norm)
                       if c.divergence == "critic" else None)
        self._cached_pass: _GeneratorPass | None = None

    # ------------------------------------------------------------------ hooks
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, bounded_logvar(logvar, self.config.logvar_max)

    def decode_logits(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.prior.sample(n, generator=generator)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        main = [p for p in parameters_of(self.encoder, self.decoder, self.prior) if p.requires_grad]
        if self.log_beta.requires_grad:
            main.append(self.log_beta)
        optimizers = {"main": torch.optim.RMSprop(main, lr=self.config.lr)}
        if self.critic is not None:
            optimizers["critic"] = torch.optim.RMSprop(self.critic.parameters(), lr=self.config.critic_lr)
        return optimizers

    def _generator_pass(self, x: Tensor) -> _GeneratorPass:
        """Encoder, prior and decoder outputs for batch ``x`` (one decoder pass for both code batches),
        checked for NaN/inf once here, the one place a pass is built."""
        n = x.shape[0]
        mean, logvar = self.encode(x)
        z_q = reparameterize(mean, logvar)
        z_p = self.prior(n)
        logits_q, logits_p = self.decode_logits(torch.cat([z_q, z_p])).split(n)
        g = _GeneratorPass(x, mean, logvar, z_q, z_p, logits_q, torch.sigmoid(logits_p))
        g.check_finite(int(self.step))
        return g

    def loss_terms(self, x: Tensor) -> dict[str, Tensor]:
        """The unweighted terms ``gw``, ``w``, ``d``, ``h`` of one batch (with graphs)."""
        c = self.config
        cached, self._cached_pass = self._cached_pass, None
        g = cached if cached is not None and cached.x is x else self._generator_pass(x)
        if c.gw_term == "paper":
            gw = gwot.gwae_gw_loss(g.x_p, g.z_p, self.log_beta)
        else:
            gw = gwot.coupled_gw_loss(x, g.z_q, epsilon=c.gw_epsilon, log_beta=self.log_beta,
                                      max_iter=c.gw_max_iter, tol=c.gw_tol, inner_tol=c.gw_tol)
        if self.critic is not None:
            with _frozen(self.critic):  # the critic's parameters are not the main step's to learn
                f_p, f_q = self.critic(torch.cat([g.x_p, x]), torch.cat([g.z_p, g.z_q])).split(x.shape[0])
            d = f_p.mean() - f_q.mean()
        else:
            d = gwot.mmd_imq(g.z_q, g.z_p, scale=c.mmd_scale)
        return {"gw": gw, "w": wasserstein_reconstruction(x, g.logits_q, c.reconstruction_kind),
                "d": d, "h": gaussian_entropy_term(g.logvar)}

    def loss(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        c = self.config
        terms = self.loss_terms(x)
        total = c.coef_gw * terms["gw"] + c.coef_w * terms["w"] + c.coef_d * terms["d"] + c.coef_h * terms["h"]
        return total, {**terms, "beta": self.log_beta.detach().exp()}

    @torch.no_grad()
    def _generative_pairs(self, n: int) -> tuple[Tensor, Tensor]:
        """Critic-side pairs (G(z_p), z_p), no graphs, checked for NaN/inf.

        The prior's batch norm normalises with this draw's batch statistics (as in
        training) but does not update its running statistics: those move once per step,
        in the main loss's pass, whatever ``critic_resample`` and ``share_generator_pass``.
        """
        with frozen_running_stats(self.prior):
            z_p = self.prior(n)
        x_p = self.decode(z_p)
        check_finite_outputs(int(self.step), prior={"z_p": z_p}, decoder={"x_p": x_p})
        return x_p, z_p

    def inner_updates(self, x: Tensor) -> dict[str, float]:
        """``critic_steps`` updates of the critic; nothing else moves.

        The batch's generator pass (encoder, prior, decoder) runs once, with graphs, and is
        kept for the main loss that follows in :meth:`training_step`: the critic steps
        change only the critic, so those outputs and graphs stay valid. The critic steps
        use detached copies and redraw only the posterior noise (``critic_resample=True``:
        fresh prior samples too, the authors' sampling). With ``share_generator_pass=False``
        the critic's inputs are computed without graphs instead and the main loss runs its
        own pass (one more decoder pass, lower peak memory). Non-finite generator outputs
        or a non-finite critic loss raise :class:`NonFiniteLossError` before the critic moves.
        """
        if self.critic is None:
            return {}
        c = self.config
        if c.share_generator_pass:
            g = self._generator_pass(x)
            self._cached_pass = g if torch.is_grad_enabled() else None
            mean, logvar, x_p, z_p = g.mean.detach(), g.logvar.detach(), g.x_p.detach(), g.z_p.detach()
        else:
            with torch.no_grad():
                mean, logvar = self.encode(x)
            check_finite_outputs(int(self.step), encoder={"mean": mean, "logvar": logvar})
            x_p, z_p = self._generative_pairs(x.shape[0])
        std = torch.exp(0.5 * logvar)
        logs: dict[str, Tensor] = {}  # the last critic step's values
        for step in range(c.critic_steps):
            if c.critic_resample and step > 0:
                x_p, z_p = self._generative_pairs(x.shape[0])
            z_q = mean + std * torch.randn_like(std)
            with parametrize.cached():  # spectral-normalised weights computed once for the step's two passes
                loss, logs = critic_objective(self.critic, x, z_q, x_p, z_p, c.gp_coef, c.critic_drift)
            self.optimizer_step("critic", loss, logs)  # checks loss and gradients before NaN reaches its weights
        return {k: float(v) for k, v in logs.items()}

    def component_posterior(self, x: Tensor) -> Tensor:
        """p(k | z) of the GMP prior's components at the mean codes of ``x``, shape (N, K) (clustering)."""
        if not hasattr(self.prior, "posterior"):
            raise ValueError("component_posterior needs a mixture prior ('gmp'); "
                             f"this GWAE has prior={self.config.prior!r}")
        was_training = self.prior.training
        self.prior.eval()  # the density uses the BN running statistics (see gwrep.priors.mixture)
        with torch.no_grad():
            post = self.prior.posterior(self.represent(x))
        self.prior.train(was_training)
        return post

    @torch.no_grad()
    def ood_score(self, x: Tensor) -> Tensor:
        """Anomaly score f(G(z), z) with z the encoder mean of x, shape (N,); higher = more anomalous.

        The score of docs/design.md ("OoD score"), the critic value itself. The critic is trained to maximise
        mean f(G(z_p), z_p) - mean f(x, z_q), i.e. to be low on inference pairs (data with
        their codes). For an in-distribution x the decoded mean code G(z) is close to x and
        (G(z), z) looks like an inference pair, so f is low; an out-of-distribution x is
        encoded away from the codes the critic saw and f is high. Checked with data in
        ``tests/test_gwae.py`` (a briefly trained GWAE ranks uniform noise and inverted
        images above held-out training-like images, AUROC > 0.9; the negated value ranks
        them below).
        """
        if self.critic is None:
            raise ValueError("ood_score needs the joint critic; this GWAE was trained with divergence='mmd'")
        was_training = self.training
        self.eval()
        mean, _ = self.encode(x.to(self.device))
        score = self.critic(self.decode(mean), mean).squeeze(1)
        self.train(was_training)
        return score
