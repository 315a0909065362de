"""Tests for gwrep.priors (priors/: base.py, gaussian.py, neural.py, mixture.py, __init__.py)."""
import math

import pytest
import torch

from gwrep.priors import (FactorizedNeuralPrior, GaussianMixturePrior, GaussianPrior, NeuralPrior, build_prior,
                          frozen_running_stats, prior_options)

NAMES = ["gaussian", "np", "fnp", "gmp"]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_seeding_and_eval_mode(name):
    prior = build_prior(name, 5)
    z = prior(16, generator=_gen())
    assert z.shape == (16, 5) and z.dtype == torch.float32
    prior.eval()  # eval mode: running statistics, so the same seed gives the same numbers
    assert torch.equal(prior.sample(7, generator=_gen(3)), prior.sample(7, generator=_gen(3)))
    assert prior.sample(1, generator=_gen()).shape == (1, 5)


@pytest.mark.parametrize("name", ["np", "fnp", "gmp"])
def test_batchnorm_output_is_standardised_in_training(name):
    prior = build_prior(name, 4)
    seen = []
    prior.norm.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    z = prior(512, generator=_gen())
    pre_var = seen[0].var(0, unbiased=False)  # BN divides by sqrt(var + eps), eps = 1e-5
    assert torch.allclose(z.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(z.var(0, unbiased=False), pre_var / (pre_var + 1e-5), atol=1e-4)


@pytest.mark.parametrize("name", ["np", "fnp", "gmp"])
def test_reparameterization_gradient_reaches_every_parameter(name):
    prior = build_prior(name, 3)
    z = prior(64, generator=_gen())
    (z * torch.arange(1.0, 4.0)).pow(3).sum().backward()
    for pname, p in prior.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


def test_neural_prior_gradients_pass_gradcheck():
    prior = NeuralPrior(2, hidden_ratio=2).double().eval()  # eval: BN is a fixed affine map
    eps = torch.randn(6, 2, dtype=torch.float64)
    weight = prior.net[0].weight.detach().clone().requires_grad_(True)

    def push(w):
        return prior.norm(torch.func.functional_call(prior.net, {"0.weight": w}, (eps,)))

    assert torch.autograd.gradcheck(push, (weight,))


def test_fnp_equals_loop_over_per_dimension_mlps():
    prior = FactorizedNeuralPrior(4)
    eps = torch.randn(9, 4)
    grouped = prior.transform(eps)
    looped = torch.cat([prior.dimension_mlp(k)(eps[:, k:k + 1]) for k in range(4)], dim=1)
    assert torch.allclose(grouped, looped, atol=1e-6)
    # factorized: changing one noise coordinate moves only its own output
    eps2 = eps.clone()
    eps2[:, 2] += 1.0
    moved = (prior.transform(eps2) - grouped).abs().sum(0)
    assert moved[2] > 0 and torch.count_nonzero(moved) == 1


def test_gaussian_log_prob_closed_form():
    z = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    expected = torch.tensor([-math.log(2 * math.pi) - 0.5, -math.log(2 * math.pi) - 2.5])
    assert torch.allclose(GaussianPrior(2).log_prob(z), expected)


@pytest.mark.parametrize("name", ["np", "fnp"])
def test_implicit_priors_have_no_log_prob(name):
    with pytest.raises(NotImplementedError, match="no tractable log-density"):
        build_prior(name, 2).log_prob(torch.zeros(1, 2))


def test_gmp_logits_learn_with_straight_through_and_not_with_hard_gumbel_max():
    soft = GaussianMixturePrior(3, num_components=4)
    soft(32, generator=_gen()).pow(2).sum().backward()
    assert soft.logits.grad is not None and soft.logits.grad.abs().sum() > 0

    hard = GaussianMixturePrior(3, num_components=4, hard_gumbel_max=True)
    hard(32, generator=_gen()).pow(2).sum().backward()
    assert hard.logits.grad is None or hard.logits.grad.abs().sum() == 0
    assert hard.means.grad.abs().sum() > 0  # the chosen components still learn


def test_gmp_straight_through_and_hard_give_the_same_samples():
    torch.manual_seed(1)
    soft = GaussianMixturePrior(3, num_components=4)
    hard = GaussianMixturePrior(3, num_components=4, hard_gumbel_max=True)
    hard.load_state_dict(soft.state_dict())
    zs, cs = soft.sample(20, generator=_gen(5), return_component=True)
    zh, ch = hard.sample(20, generator=_gen(5), return_component=True)
    assert torch.equal(cs, ch)
    assert torch.allclose(zs, zh, atol=1e-5)


def test_gmp_log_prob_matches_torch_distributions():
    torch.manual_seed(2)
    prior = GaussianMixturePrior(2, num_components=3)
    prior(256, generator=_gen())  # move the BN running statistics away from the identity
    prior.eval()
    z = torch.randn(10, 2)
    mean = prior.norm.running_mean
    std = torch.sqrt(prior.norm.running_var + prior.norm.eps)
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=prior.logits.detach()),
        torch.distributions.MultivariateNormal(prior.means.detach(), scale_tril=prior.scale_tril.detach()))
    expected = mix.log_prob(z * std + mean) + torch.log(std).sum()  # change of variables through BN
    assert torch.allclose(prior.log_prob(z), expected, atol=1e-4)
    post = prior.posterior(z)
    assert torch.allclose(post.sum(1), torch.ones(10))
    assert torch.equal(prior.component(z), post.argmax(1))


def test_gmp_posterior_recovers_the_sampled_component_of_separated_clusters():
    prior = GaussianMixturePrior(2, num_components=3, init_scale=0.05).eval()
    with torch.no_grad():
        prior.means.copy_(torch.tensor([[-5.0, 0.0], [0.0, 5.0], [5.0, 0.0]]))
        prior.scale_raw.copy_(0.05 * torch.eye(2).expand(3, 2, 2))
    z, c = prior.sample(50, generator=_gen(), return_component=True)
    assert torch.equal(prior.component(z), c)


@pytest.mark.parametrize("name, options, match", [
    ("nope", {}, "known priors: fnp, gaussian, gmp, np"),
    ("gmp", {"components": 3}, r"no option\(s\) \['components'\]"),
    ("gmp", {"num_components": 0}, "num_components"),
    ("gmp", {"temperature": -1.0}, "temperature"),
    ("np", {"batchnorm_momentum": 0.0}, "batchnorm_momentum"),
    ("fnp", {"hidden_ratio": 1.5}, "hidden_ratio"),
])
def test_bad_prior_options_raise_value_error(name, options, match):
    with pytest.raises(ValueError, match=match):
        build_prior(name, 3, **options)


def test_bad_sample_size_and_latent_dim():
    with pytest.raises(ValueError, match="n must be a"):
        GaussianPrior(2).sample(0)
    with pytest.raises(ValueError, match="latent_dim"):
        NeuralPrior(0)


def test_prior_options_lists_defaults():
    assert prior_options("gmp") == {"num_components": 10, "hard_gumbel_max": False, "temperature": 1.0,
                                    "init_scale": 1.0, "batchnorm_momentum": 0.5}


@pytest.mark.parametrize("name", ["np", "fnp", "gmp"])
def test_frozen_running_stats_keeps_buffers_and_uses_batch_statistics(name):
    prior = build_prior(name, 4)
    prior(32, generator=_gen(1))  # one tracked update, so the buffers are not at their init values
    before = {k: v.clone() for k, v in prior.norm.state_dict().items()}
    with frozen_running_stats(prior):
        frozen = prior(32, generator=_gen(2))
    assert all(torch.equal(v, prior.norm.state_dict()[k]) for k, v in before.items())
    assert prior.norm.track_running_stats  # restored
    tracked = prior(32, generator=_gen(2))  # the same draw with tracking: the same batch-normalised values
    assert torch.equal(frozen, tracked)
    assert not torch.equal(prior.norm.running_mean, before["running_mean"])
    assert int(prior.norm.num_batches_tracked) == 2
