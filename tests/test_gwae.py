"""Tests for GWAE (gwrep/models/gwae.py) and its nets (gwrep/nets/gwae_nets.py)."""
import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import gwrep.ot as gwot
from gwrep.models import build_model, load_model
from gwrep.models.base import NonFiniteLossError
from gwrep.models.gwae import (GWAE, GWAEConfig, critic_objective, joint_gradient_penalty,
                               wasserstein_reconstruction)
from gwrep.models.losses import gaussian_entropy_term
from gwrep.eval import ood_metrics
from gwrep.nets import build_decoder, build_encoder
from gwrep.nets.gwae_nets import JointCritic
from gwrep.priors import FactorizedNeuralPrior, GaussianMixturePrior

TINY = {"image_shape": (1, 28, 28), "latent_dim": 3, "critic_steps": 2}


def _tiny(name="gwae", **options):
    torch.manual_seed(0)
    return build_model(name, **{**TINY, **options})


def _blobs(n=8, seed=0):
    """n 28x28 gray images: a bright square at a random place on a dark background."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 28, 28)
    for i, (r, c) in enumerate(torch.randint(0, 20, (n, 2), generator=g).tolist()):
        x[i, 0, r:r + 8, c:c + 8] = 1.0
    return x


class LinearCritic(nn.Module):
    """f(x, z) = <a, x> + <b, z>: its gradient is (a, b) everywhere."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor):
        super().__init__()
        self.a, self.b = nn.Parameter(a), nn.Parameter(b)

    def forward(self, x, z):
        return (x.flatten(1) @ self.a.flatten() + z @ self.b)[:, None]


def _reference_gw(x_dec, z, log_beta):
    """Hand-written L_GW of docs/design.md: mean_ij | ||x_i - x_j|| - (beta / s) ||z_i - z_j|| |."""
    n = x_dec.shape[0]
    s = z.std(dim=0).mean()
    total = 0.0
    for i in range(n):
        for j in range(n):
            dx = (x_dec[i] - x_dec[j]).norm()
            dz = (z[i] - z[j]).norm() * math.exp(log_beta) / s
            total += abs(float(dx) - float(dz))
    return total / n ** 2


# ---------------------------------------------------------------- loss terms
def test_entropy_term_by_hand():
    logvar = torch.tensor([[0.0, math.log(2.0)], [math.log(4.0), math.log(0.5)]])
    assert math.isclose(float(gaussian_entropy_term(logvar)), -(math.log(2) + math.log(2)) / 2, rel_tol=1e-6)


def test_wasserstein_reconstruction_by_hand():
    x = torch.zeros(2, 1, 28, 28)
    x[0, 0, 0, 0] = 1.0
    logits = torch.zeros(2, 1, 28, 28)  # decoded image 0.5 everywhere
    # sample 0: 783 pixels at 0.25 + one at 0.25 -> 784 * 0.25 / 2; sample 1 the same
    assert math.isclose(float(wasserstein_reconstruction(x, logits, "gaussian")), 784 * 0.25 / 2, rel_tol=1e-6)


def test_gradient_penalty_of_a_linear_critic():
    a = torch.zeros(1, 2, 2)
    a[0, 0, 0] = 2.0
    critic = LinearCritic(a, torch.tensor([1.0, 2.0]))  # ||grad|| = sqrt(4 + 1 + 4) = 3 everywhere
    x_a, x_b = torch.rand(5, 1, 2, 2), torch.rand(5, 1, 2, 2)
    z_a, z_b = torch.randn(5, 2), torch.randn(5, 2)
    gp = joint_gradient_penalty(critic, x_a, z_a, x_b, z_b)
    assert math.isclose(float(gp.detach()), (3.0 - 1.0) ** 2, rel_tol=1e-6)
    gp.backward()  # d/da of (||(a, b)|| - 1)^2 = 2 (3 - 1) a / 3
    assert torch.allclose(critic.a.grad, 2 * 2 * a / 3)


def test_gradient_penalty_interpolates_image_and_code_with_one_t():
    seen = {}

    class Recorder(nn.Module):
        def forward(self, x, z):
            seen["x"], seen["z"] = x.detach(), z.detach()
            return (x.flatten(1).sum(1) + z.sum(1))[:, None]

    x_a, x_b = torch.ones(3, 1, 2, 2), torch.zeros(3, 1, 2, 2)
    z_a, z_b = torch.ones(3, 2), torch.zeros(3, 2)
    t = torch.tensor([0.1, 0.5, 0.9])
    joint_gradient_penalty(Recorder(), x_a, z_a, x_b, z_b, t=t)
    assert torch.allclose(seen["x"][:, 0, 0, 0], t) and torch.allclose(seen["z"][:, 0], t)


def test_critic_objective_by_hand():
    critic = LinearCritic(torch.zeros(1, 2, 2), torch.tensor([1.0, 0.0]))  # f = z_0, ||grad|| = 1
    z_q, z_p = torch.tensor([[1.0, 0.0], [3.0, 0.0]]), torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    x = torch.zeros(2, 1, 2, 2)
    loss, logs = critic_objective(critic, x, z_q, x, z_p, gp_coef=10.0, drift=0.1)
    gap = 1.0 - 2.0  # mean f(x_p, z_p) - mean f(x_q, z_q)
    drift = (1 + 9) / 2 + (0 + 4) / 2
    assert math.isclose(float(logs["critic_gap"]), gap, abs_tol=1e-6)
    assert math.isclose(float(logs["critic_gp"]), 0.0, abs_tol=1e-6)
    assert math.isclose(float(loss.detach()), -gap + 0.1 * drift, rel_tol=1e-6)


def test_gw_estimator_matches_hand_computation():
    torch.manual_seed(3)
    x_dec, z, log_beta = torch.rand(5, 1, 28, 28), torch.randn(5, 3), math.log(2.5)
    got = gwot.gwae_gw_loss(x_dec, z, torch.tensor(log_beta))
    assert math.isclose(float(got), _reference_gw(x_dec, z, log_beta), rel_tol=1e-4)


# ------------------------------------------------------------ gradient routing
def _grad_norm(module):
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


def test_gw_term_trains_decoder_prior_and_beta_but_not_the_encoder():
    model = _tiny()
    model.loss_terms(_blobs())["gw"].backward()
    assert _grad_norm(model.encoder) == 0.0
    assert _grad_norm(model.decoder) > 0 and _grad_norm(model.prior) > 0
    assert model.log_beta.grad is not None and float(model.log_beta.grad.abs()) > 0


def test_entropic_gw_term_reaches_encoder_and_beta():
    model = _tiny(gw_term="entropic", gw_epsilon=0.1)
    model.loss_terms(_blobs())["gw"].backward()
    assert _grad_norm(model.encoder) > 0 and float(model.log_beta.grad.abs()) > 0
    assert _grad_norm(model.decoder) == 0.0


def test_main_loss_gives_the_critic_no_gradient():
    model = _tiny()
    loss, _ = model.loss(_blobs())
    loss.backward()
    assert _grad_norm(model.critic) == 0.0
    assert all(p.requires_grad for p in model.critic.parameters())  # frozen only inside the step


@pytest.mark.parametrize("options", [{}, {"critic_resample": True}, {"share_generator_pass": False}])
def test_inner_critic_loop_updates_only_the_critic(options):
    model = _tiny(**options)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    logs = model.inner_updates(_blobs())
    assert set(logs) == {"critic_loss", "critic_gap", "critic_gp"}
    for name, value in model.named_parameters():
        changed = not torch.equal(value, before[name])
        assert changed == name.startswith("critic."), name
    assert all(p.grad is None for p in model.encoder.parameters())
    assert (model._cached_pass is not None) == model.config.share_generator_pass


def test_main_loss_reuses_the_generator_pass_of_the_critic_steps_only_for_that_batch():
    model = _tiny()
    x = _blobs()
    model.inner_updates(x)
    cached = model._cached_pass
    assert cached is not None and cached.x is x and cached.x_p.requires_grad
    model.loss(x)
    assert model._cached_pass is None  # consumed once
    model.inner_updates(x)
    calls = []
    model.decoder.register_forward_hook(lambda *args: calls.append(1))
    model.loss(_blobs(seed=1))  # another batch: a fresh pass, the stale one dropped
    assert len(calls) == 1 and model._cached_pass is None


def test_training_step_moves_every_player_and_logs_terms():
    model = _tiny()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    logs = model.training_step(_blobs())
    assert {"loss", "gw", "w", "d", "h", "beta", "critic_loss"} <= set(logs)
    for prefix in ("encoder.", "decoder.", "prior.", "critic.", "log_beta"):
        assert any(not torch.equal(v, before[k]) for k, v in model.named_parameters() if k.startswith(prefix))
    assert int(model.step) == 1


def test_total_loss_is_the_weighted_sum():
    model = _tiny(coef_gw=2.0, coef_w=0.5, coef_d=3.0, coef_h=0.1)
    torch.manual_seed(1)
    loss, terms = model.loss(_blobs())
    expected = 2.0 * terms["gw"] + 0.5 * terms["w"] + 3.0 * terms["d"] + 0.1 * terms["h"]
    assert torch.allclose(loss, expected)


def test_a_few_steps_lower_the_loss():
    model = _tiny()
    x = _blobs(8)
    logs = [model.training_step(x) for _ in range(10)]
    for key in ("loss", "w"):
        first, last = [sum(step[key] for step in part) / 3 for part in (logs[:3], logs[-3:])]
        assert last < 0.8 * first, key


# ------------------------------------------------------------ non-finite guard
def _poison_decoder(model):
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.fill_(float("nan"))


@pytest.mark.parametrize("options", [{}, {"share_generator_pass": False}, {"divergence": "mmd"}])
def test_nan_decoder_raises_non_finite_loss_error_before_anything_moves(options):
    model = _tiny(**options)
    _poison_decoder(model)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    with pytest.raises(NonFiniteLossError, match=r"non-finite decoder output .* at step 0"):
        model.training_step(_blobs())
    for name, value in model.named_parameters():  # the critic did not step on NaN pairs either
        assert torch.equal(value, before[name]) or name.startswith("decoder."), name
    with pytest.raises(NonFiniteLossError, match="decoder"):
        model.validation_step(_blobs())


def test_nan_encoder_is_named_as_the_encoder():
    model = _tiny()
    with torch.no_grad():
        model.encoder.net[-1].bias.fill_(float("inf"))
    with pytest.raises(NonFiniteLossError, match="non-finite encoder output 'mean'"):
        model.training_step(_blobs())


def test_non_finite_critic_loss_stops_before_the_critic_steps():
    """Finite generator outputs whose posterior std overflows (logvar ~ 400, possible with the authors' unbounded
    log-variance): the critic must not step on NaN."""
    model = _tiny(share_generator_pass=False, logvar_max=None)  # z_q is drawn inside the critic loop only
    with torch.no_grad():
        model.encoder.net[-1].bias[model.config.latent_dim:].fill_(400.0)
    before = {k: v.detach().clone() for k, v in model.critic.named_parameters()}
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss \(nan\) in the 'critic' update"):
        model.inner_updates(_blobs())
    assert all(torch.equal(v, before[k]) for k, v in model.critic.named_parameters())


def test_trainer_stops_on_a_nan_decoder_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    """Decoder weights turn NaN mid-run: the run fails with the non-finite message, last.pt stays good."""
    from tiny_models import blobs

    from gwrep.train import TrainConfig, load_run, train
    from gwrep.train.checkpoint import load_checkpoint

    original = GWAE.training_step

    def poisoned_at_step_2(self, x):
        if int(self.step) == 2:
            _poison_decoder(self)
        return original(self, x)

    monkeypatch.setattr(GWAE, "training_step", poisoned_at_step_2)
    cfg = TrainConfig(model="gwae", data="unused", model_options={**TINY, "critic_steps": 1}, steps=4, batch_size=8,
                      checkpoint_every=2, eval_every=100, patience=0, figures=False, out=str(tmp_path / "run"))
    with pytest.raises(NonFiniteLossError, match=r"decoder output .*last good checkpoint .*last\.pt \(step 2\)"):
        train(cfg, dataset=blobs(16), val_dataset=blobs(8, seed=1), progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert ckpt["trainer"]["step"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    summary = load_run(tmp_path / "run").summary
    assert summary["status"] == "failed" and "non-finite decoder output" in summary["message"]


# ------------------------------------------------------- prior running stats
@pytest.mark.parametrize("options", [{}, {"critic_resample": True}, {"share_generator_pass": False},
                                     {"critic_resample": True, "share_generator_pass": False}])
def test_prior_running_stats_move_once_per_step_whatever_the_sampling(options):
    """Only the main loss's prior draw updates BN's running statistics (one EMA update per step)."""
    model = _tiny(critic_steps=3, **options)
    norm, m = model.prior.norm, model.prior.norm.momentum
    grad_inputs = []
    norm.register_forward_pre_hook(
        lambda mod, args: grad_inputs.append(args[0].detach().clone()) if torch.is_grad_enabled() else None)
    model.training_step(_blobs())
    assert len(grad_inputs) == 1 and int(norm.num_batches_tracked) == 1
    z_pre = grad_inputs[0]  # (N, d) the main pass's pre-normalisation draw; buffers start at 0 and 1
    assert torch.allclose(norm.running_mean, m * z_pre.mean(0), atol=1e-6)
    assert torch.allclose(norm.running_var, (1 - m) + m * z_pre.var(0), atol=1e-6)


def test_prior_running_stats_do_not_depend_on_critic_resample():
    stats = []
    for resample in (False, True):
        model = _tiny(critic_resample=resample)
        torch.manual_seed(5)
        model.training_step(_blobs())
        stats.append((model.prior.norm.running_mean.clone(), model.prior.norm.running_var.clone()))
    assert torch.equal(stats[0][0], stats[1][0]) and torch.equal(stats[0][1], stats[1][1])


# ----------------------------------------------------------- variants, I/O
def test_registry_names_pick_the_prior():
    assert isinstance(_tiny().prior, FactorizedNeuralPrior)
    gmp = _tiny("gwae-gmp", prior_options={"num_components": 4, "hard_gumbel_max": True})
    assert isinstance(gmp.prior, GaussianMixturePrior) and gmp.prior.num_components == 4
    assert gmp.config.prior == "gmp"


def test_component_posterior_needs_a_mixture_prior():
    gmp = _tiny("gwae-gmp", prior_options={"num_components": 4})
    post = gmp.component_posterior(_blobs(5))
    assert post.shape == (5, 4) and torch.allclose(post.sum(1), torch.ones(5))
    with pytest.raises(ValueError, match="mixture prior"):
        _tiny().component_posterior(_blobs(2))


def test_mmd_ablation_has_no_critic():
    model = _tiny(divergence="mmd")
    assert model.critic is None and set(model.optimizers) == {"main"}
    logs = model.training_step(_blobs())
    assert math.isfinite(logs["d"]) and "critic_loss" not in logs
    with pytest.raises(ValueError, match="divergence='mmd'"):
        model.ood_score(_blobs(2))


def test_ood_score_is_the_critic_of_the_decoded_mean_code():
    model = _tiny().eval()
    x = _blobs(4)
    with torch.no_grad():
        mean, _ = model.encode(x)
        expected = model.critic(model.decode(mean), mean).squeeze(1)
    assert torch.allclose(model.ood_score(x), expected)


@pytest.mark.slow
def test_ood_score_ranks_out_of_distribution_images_higher_after_training():
    """The sign of the score, checked with data: after 20 steps on blob images (the authors' 5
    critic steps each), held-out blobs score below uniform noise and below inverted blobs.

    The negated score gives AUROC ~0 here. Over init seeds 0-8 with this recipe, 8 give AUROC 1.0
    on both sets; seed 6 is a run whose critic has not yet separated the pairs (gap ~0.4 against
    ~13) and agrees only after 40-60 steps, so the test pins seed 0 rather than claim more.
    """
    model = _tiny(critic_steps=5)
    train, held = _blobs(256, seed=10), _blobs(64, seed=11)
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        model.training_step(train[torch.randint(0, 256, (16,), generator=g)])
    scores_in = model.ood_score(held).numpy()
    out_sets = {"uniform noise": torch.rand(64, 1, 28, 28, generator=g), "inverted blobs": 1 - _blobs(64, seed=12)}
    for name, x_out in out_sets.items():
        auroc = ood_metrics(scores_in, model.ood_score(x_out).numpy())["auroc"]
        assert auroc > 0.9, (name, auroc)


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = _tiny("gwae-gmp")
    model.training_step(_blobs())
    model.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert isinstance(back, GWAE) and back.config == model.config and back.registry_name == "gwae-gmp"
    x = _blobs(4, seed=1)
    assert torch.equal(back.represent(x), model.represent(x))
    assert torch.equal(back.ood_score(x), model.ood_score(x))
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(back.sample(3, generator=g1), model.sample(3, generator=g2))


def test_dlib_architecture_and_64x64_colour_work():
    model = _tiny(architecture="dlib", image_shape=(3, 64, 64), critic_steps=1)
    logs = model.training_step(torch.rand(4, 3, 64, 64))
    assert math.isfinite(logs["loss"])


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 28, 28), (1, 64, 64), (3, 64, 64)])
def test_nets_shapes(shape):
    x = torch.rand(2, *shape)
    assert build_encoder("gwae", shape, 6)(x).shape == (2, 6)
    assert build_decoder("gwae", shape, 3)(torch.randn(2, 3)).shape == (2, *shape)
    assert JointCritic(shape, 3)(x, torch.randn(2, 3)).shape == (2, 1)


def _weight_layers(module):
    return [m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def test_every_critic_layer_is_spectrally_normalised():
    """Each weight-bearing layer is parametrized and, once the power iteration converges, has sigma_max ~ 1.

    torch's spectral norm (Miyato et al. 2018, Sec. 2.1) normalises a convolution's kernel
    reshaped to (out_channels, in_channels * kh * kw), so that matrix is what is checked.
    """
    torch.manual_seed(0)
    critic = JointCritic((1, 28, 28), 3)
    layers = _weight_layers(critic)
    assert len(layers) == 4 + 1 + 3 + 3  # image convolutions, image head, code branch, joint head
    assert all(parametrize.is_parametrized(layer, "weight") for layer in layers)
    critic.train()
    with torch.no_grad():
        for _ in range(60):  # one power iteration per training-mode forward
            critic(torch.rand(1, 1, 28, 28), torch.randn(1, 3))
    for i, layer in enumerate(layers):  # the power estimate of sigma approaches it from below: W / sigma_est >= 1
        sigma = float(torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2))
        assert 1.0 - 1e-3 <= sigma <= 1.02, (i, layer, sigma)
    plain = JointCritic((1, 28, 28), 3, spectral=False)
    assert not any(parametrize.is_parametrized(layer) for layer in _weight_layers(plain))
    assert max(float(torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2))
               for m in _weight_layers(plain)) > 1.05  # the check above can fail: unnormalised layers exceed 1


def test_config_pins_defaults():
    cfg = GWAEConfig()
    assert (cfg.architecture, cfg.prior, cfg.gw_term, cfg.divergence) == ("gwae", "fnp", "paper", "critic")
    assert (cfg.coef_gw, cfg.coef_w, cfg.coef_d, cfg.coef_h) == (1.0, 1.0, 1.0, 0.03)
    assert (cfg.beta_init, cfg.critic_steps, cfg.gp_coef, cfg.critic_drift, cfg.lr, cfg.critic_lr) == (
        2.5, 5, 10.0, 1e-3, 1e-4, 1e-4)
    assert cfg.logvar_max == 2.0  # the stability deviation (None: the authors' unbounded log-variance)
    assert GWAEConfig.from_dict(cfg.to_dict()) == cfg
    model = _tiny()
    assert {k: type(v).__name__ for k, v in model.optimizers.items()} == {"main": "RMSprop", "critic": "RMSprop"}


@pytest.mark.parametrize("options, match", [
    ({"prior": "uniform"}, "known priors: fnp, gaussian, gmp, np"),
    ({"coef_h": -0.1}, "coef_h"),
    ({"gp_coef": -1.0}, "gp_coef"),
    ({"image_shape": (1, 32, 32)}, "32x32"),
    ({"gw_term": "exact"}, "gw_term"),
    ({"divergence": "kl"}, "divergence"),
    ({"prior_options": {"num_components": 3}}, "num_components"),
    ({"critic_steps": 0}, "critic_steps"),
])
def test_bad_configs_raise_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        build_model("gwae", **options)


def test_unknown_architecture_raises():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_model("gwae", architecture="resnet")


def test_bounded_logvar_by_hand():
    """b - softplus(b - raw): raw well below b unchanged, never above b, the authors' raw value with None."""
    from gwrep.models.gwae import bounded_logvar

    raw = torch.tensor([-10.0, 0.0, 2.0, 50.0, 1e4])
    out = bounded_logvar(raw, 2.0)
    expected = 2.0 - torch.log1p(torch.exp(2.0 - raw))
    assert torch.allclose(out, expected)
    assert abs(float(out[0]) + 10.0) < 1e-5 and float(out[2]) == pytest.approx(2.0 - math.log(2.0))
    assert float(out.max()) <= 2.0 and torch.isfinite(out).all()
    assert torch.equal(bounded_logvar(raw, None), raw)


def test_encoder_logvar_stays_below_its_bound_even_when_the_head_blows_up():
    """A raw log-variance of 1e3 (what a runaway encoder head produced) gives sigma <= e and finite codes;
    logvar_max=None is the authors' unbounded value, which overflows exp(logvar / 2)."""
    from gwrep.models.losses import reparameterize

    bounded, authors = _tiny(logvar_max=2.0), _tiny(logvar_max=None)
    authors.load_state_dict(bounded.state_dict())
    for model in (bounded, authors):
        with torch.no_grad():
            head = model.encoder.net[-1]
            head.bias[model.config.latent_dim:] = 1e3  # the log-variance half of the head
    x = torch.rand(4, *bounded.config.image_shape)
    _, logvar = bounded.encode(x)
    assert float(logvar.max()) <= 2.0 and torch.isfinite(reparameterize(*bounded.encode(x))).all()
    _, raw = authors.encode(x)
    assert float(raw.max()) > 900 and not torch.isfinite(reparameterize(*authors.encode(x))).all()
    with pytest.raises(ValueError, match="logvar_max"):
        build_model("gwae", logvar_max=float("inf"))
