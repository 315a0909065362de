"""Tests of gwrep/models/ds_vae.py, gwrep/models/frame_vae.py and gwrep/models/sequence.py (the clip models).

Hand-checked ELBO terms on tiny tensors, the loss as the sum of those terms on the model's
own internals, the structure of the posteriors and the recurrent prior, and training
through the shared trainer (exact resume, clip/image mismatches refused).
"""
import math

import numpy as np
import pytest
import torch

from gwrep.models.base import build_model, load_model
from gwrep.models.ds_vae import DSVAE, DSVAEConfig, clip_reconstruction, dynamic_kl, static_kl
from gwrep.models.losses import kl_normal_normal, kl_normal_standard, reparameterize
from gwrep.train import train

TINY = {"image_shape": (3, 28, 28), "frames": 4, "latent_dim": 3, "dynamic_dim": 2, "hidden_dim": 16}


def _clips(n=3, t=4, seed=0):
    return torch.rand(n, t, 3, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_static_kl_by_hand():
    # q = N((1, 0), diag(1, 2)): 0.5 (1 + 1 - 0 - 1) + 0.5 (0 + 2 - log 2 - 1)
    mean = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    expected = 0.5 + 0.5 * (1.0 - math.log(2.0))
    assert static_kl(mean, logvar).item() == pytest.approx(expected, abs=1e-6)


def test_dynamic_kl_by_hand():
    # t=1: KL(N(1, 1) || N(0, 4)) = 0.5 (log 4 - 0 + (1 + 1) / 4 - 1); t=2: q = p, KL 0.
    mean = torch.tensor([[[1.0], [0.5]]])
    logvar = torch.tensor([[[0.0], [math.log(0.25)]]])
    p_mean = torch.tensor([[[0.0], [0.5]]])
    p_logvar = torch.tensor([[[math.log(4.0)], [math.log(0.25)]]])
    expected = 0.5 * (math.log(4.0) + 0.5 - 1.0)
    assert dynamic_kl(mean, logvar, p_mean, p_logvar).item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.443147, abs=1e-6)


def test_kl_normal_normal_against_standard_prior_is_kl_normal_standard():
    g = torch.Generator().manual_seed(1)
    mean, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    zero = torch.zeros(5, 3)
    torch.testing.assert_close(kl_normal_normal(mean, logvar, zero, zero), kl_normal_standard(mean, logvar))


def test_clip_reconstruction_by_hand():
    x = torch.ones(1, 2, 1, 2, 2)
    # Bernoulli: -log sigmoid(0) = log 2 per pixel, 2 frames x 4 pixels
    assert clip_reconstruction(x, torch.zeros_like(x), "bernoulli").item() == pytest.approx(8 * math.log(2.0), abs=1e-5)
    # Gaussian: squared error of sigmoid(logits); frame 2 has one pixel at sigmoid(0) = 0.5: (1 - 0.5)^2
    logits = torch.full_like(x, 50.0)
    logits[0, 1, 0, 0, 0] = 0.0
    assert clip_reconstruction(x, logits, "gaussian").item() == pytest.approx(0.25, abs=1e-6)
    assert clip_reconstruction(x.repeat(3, 1, 1, 1, 1), logits.repeat(3, 1, 1, 1, 1), "gaussian").shape == (3,)


@pytest.mark.parametrize("posterior", ["factorized", "full"])
def test_loss_is_the_sum_of_the_hand_terms_on_the_models_internals(posterior):
    model = DSVAE(DSVAEConfig(**TINY, posterior=posterior))
    x = _clips()
    torch.manual_seed(7)
    loss, terms = model.loss(x)
    torch.manual_seed(7)  # the same draws, step by step
    h = model.frame_features(x)
    f_mean, f_logvar = model._static(h)
    f = reparameterize(f_mean, f_logvar)
    z_mean, z_logvar = model._dynamic(h, f)
    z = reparameterize(z_mean, z_logvar)
    shifted = torch.cat([torch.zeros_like(z[:, :1]), z[:, :-1]], dim=1)
    p_mean, p_logvar = model.prior_head(model.prior_rnn(shifted)[0]).chunk(2, dim=-1)
    fz = torch.cat([f[:, None].expand(-1, 4, -1), z], dim=2).flatten(0, 1)
    logits = model.decoder(fz).view(3, 4, 3, 28, 28)
    recon = ((torch.sigmoid(logits) - x) ** 2).flatten(2).sum((1, 2))  # colour: Gaussian, summed over frames
    kl_f = (0.5 * (f_mean**2 + f_logvar.exp() - f_logvar - 1)).sum(1)
    kl_z = (0.5 * (p_logvar - z_logvar + (z_logvar.exp() + (z_mean - p_mean) ** 2) / p_logvar.exp() - 1)).sum((1, 2))
    torch.testing.assert_close(terms["reconstruction"], recon.mean())
    torch.testing.assert_close(terms["kl_static"], kl_f.mean())
    torch.testing.assert_close(terms["kl_dynamic"], kl_z.mean())
    torch.testing.assert_close(loss, (recon + kl_f + kl_z).mean())


def test_factorized_posterior_reads_one_frame_and_full_reads_the_clip():
    x = _clips(n=2)
    y = x.clone()
    y[:, 2] = 1.0 - y[:, 2]  # change frame 3 only
    fact = DSVAE(DSVAEConfig(**TINY, posterior="factorized"))
    f = torch.zeros(2, 3)
    a, _ = fact.encode_dynamic(x, f)
    b, _ = fact.encode_dynamic(y, f)
    assert torch.equal(a[:, [0, 1, 3]], b[:, [0, 1, 3]]) and not torch.allclose(a[:, 2], b[:, 2])
    full = DSVAE(DSVAEConfig(**TINY, posterior="full"))
    a, _ = full.encode_dynamic(x, f)
    b, _ = full.encode_dynamic(y, f)
    assert not torch.allclose(a[:, 0], b[:, 0])  # the bidirectional pass carries frame 3 back to frame 1
    c, _ = full.encode_dynamic(x, f + 1.0)
    assert not torch.allclose(a, c)  # q(z | x, f) depends on f


def test_recurrent_prior_is_causal_and_sampling_is_seeded():
    model = DSVAE(DSVAEConfig(**TINY))
    z = torch.randn(2, 4, 2, generator=torch.Generator().manual_seed(0))
    w = z.clone()
    w[:, 2] += 5.0
    m1, v1 = model.prior_params(z)
    m2, v2 = model.prior_params(w)
    torch.testing.assert_close(m1[:, :3], m2[:, :3])  # p(z_t | z_<t) for t <= 3 does not see z_3
    assert not torch.allclose(m1[:, 3], m2[:, 3])
    torch.testing.assert_close(m1[0, 0], m1[1, 0])  # p(z_1) is the same for every clip
    s1 = model.sample_dynamic(5, torch.Generator().manual_seed(3))
    s2 = model.sample_dynamic(5, torch.Generator().manual_seed(3))
    assert s1.shape == (5, 4, 2) and torch.equal(s1, s2)


def test_flat_code_interface():
    model = build_model("ds-vae", **TINY)
    x = _clips(n=2)
    code = model.represent(x)
    assert code.shape == (2, model.code_dim) == (2, 3 + 4 * 2)
    f, z = model.split_code(code)
    torch.testing.assert_close(model.join_code(f, z), code)
    assert model.decode(code).shape == x.shape and model.sample(3).shape == (3, 4, 3, 28, 28)
    scores = model.ood_score(x)
    torch.testing.assert_close(scores, model.ood_score(x))  # seeded
    with pytest.raises(ValueError, match=r"takes clips \(N, 4, 3, 28, 28\)"):
        model.represent(torch.rand(2, 3, 28, 28))
    with pytest.raises(ValueError, match="unknown posterior .bidirectional.; choose one of"):
        build_model("ds-vae", posterior="bidirectional")


def test_frame_vae_is_a_vae_per_frame():
    model = build_model("frame-vae", image_shape=(3, 28, 28), frames=4, latent_dim=2)
    x = _clips(n=2)
    y = x.clone()
    y[:, 1] = 0.0
    assert model.static_dim == 0 and model.represent(x).shape == (2, 8)
    a, b = model.represent(x).view(2, 4, 2), model.represent(y).view(2, 4, 2)
    assert torch.equal(a[:, [0, 2, 3]], b[:, [0, 2, 3]])
    torch.manual_seed(0)
    _, terms = model.loss(x)
    mean, logvar = model.encoder(x.flatten(0, 1)).chunk(2, dim=1)
    torch.testing.assert_close(terms["kl"], kl_normal_standard(mean, logvar).sum(1).view(2, 4).sum(1).mean())


def _train_config(tmp_path, name, **extra):
    return {"model": name, "data": "sprite-clips", "data_options": {"image_size": 28}, "batch_size": 4, "steps": 4,
            "eval_every": 2, "val_batches": 1, "checkpoint_every": 2, "figures": False,
            "out": str(tmp_path / name),
            "model_options": {"latent_dim": 3, "dynamic_dim": 2, "hidden_dim": 16, "lr": 1e-3},
            **extra}


def test_trains_through_the_trainer_and_resumes_exactly(tmp_path):
    straight = train(_train_config(tmp_path, "ds-vae", out=str(tmp_path / "a")))
    assert straight.model.config.frames == 8  # derived from the data's clip length
    cut = train(_train_config(tmp_path, "ds-vae", out=str(tmp_path / "b"), steps=2))
    resumed = train(_train_config(tmp_path, "ds-vae", out=str(tmp_path / "b")), resume=True)
    assert resumed.summary["step"] == 4 and cut.summary["step"] == 2
    a, b = load_model(tmp_path / "a" / "model"), load_model(tmp_path / "b" / "model")
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key


def test_trainer_refuses_clip_and_image_mismatches(tmp_path):
    with pytest.raises(ValueError, match="takes images; the data yields clips of 8 frames"):
        train({**_train_config(tmp_path, "vae"), "model_options": {"latent_dim": 3}})
    with pytest.raises(ValueError, match="takes clips"):
        train({**_train_config(tmp_path, "ds-vae"), "data": "shapes2d", "data_options": {"image_size": 28}})
    with pytest.raises(ValueError, match="frames=4 but the data's clips have 8"):
        train({**_train_config(tmp_path, "ds-vae"),
               "model_options": {"latent_dim": 3, "dynamic_dim": 2, "hidden_dim": 16, "frames": 4}})
    assert not (tmp_path / "ds-vae").exists()  # refused before the run folder is written


def test_sequence_figures_are_written(tmp_path):
    from gwrep.eval.sequence import save_sequence_figures

    model = build_model("ds-vae", **TINY)
    paths = save_sequence_figures(model, _clips(n=3), tmp_path / "none.jsonl", tmp_path / "fig", seed=0)
    assert sorted(p.name for p in paths) == ["f_traversal.png", "resampled.png", "swap.png"]
    frame = build_model("frame-vae", image_shape=(3, 28, 28), frames=4, latent_dim=2)
    paths = save_sequence_figures(frame, _clips(n=3), tmp_path / "none.jsonl", tmp_path / "fig2", seed=0)
    assert sorted(p.name for p in paths) == ["resampled.png", "swap.png"]  # no static code to traverse
    assert np.all([p.stat().st_size > 1000 for p in paths])
