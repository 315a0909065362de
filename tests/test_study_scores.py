"""gwrep.study.scores: every per-run score of the study on a tiny model, and the codes UDR compares."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from tiny_models import TinyConfig, TinyVAE

from gwrep import data as gd
from gwrep.eval.metrics import compute_mig
from gwrep.eval.metrics.utils import model_representation
from gwrep.eval.unsupervised import unsupervised_scores
from gwrep.models.losses import reconstruction_loss
from gwrep.study import scores as st

#: The schema's per-run columns that score_run fills (gwrep.study.table.SCORE_COLUMNS), FAST's downstream sizes only.
METRIC_COLUMNS = ["beta_vae_score", "factor_vae_score", "mig", "sap", "dci_disentanglement", "dci_completeness",
                  "dci_informativeness", "modularity", "explicitness"]
UNSUPERVISED = ["gaussian_total_correlation", "gaussian_wasserstein_correlation",
                "gaussian_wasserstein_correlation_norm", "mutual_info_score"]


@pytest.fixture(scope="module")
def shapes():
    test = gd.load("shapes2d", split="test", image_size=28)
    return test.factor_data, st.sample_images(test, 32, seed=0)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return TinyVAE(TinyConfig(latent_dim=4)).eval()


@pytest.fixture(scope="module")
def scored(model, shapes):
    factor_data, images = shapes
    return st.score_run(model, factor_data, images, st.STUDY_FAST, seed=3)


def test_score_run_fills_every_column(scored):
    sizes = st.STUDY_FAST["downstream"]["train_sizes"]
    expected = (METRIC_COLUMNS + UNSUPERVISED + [f"{k}_sampled" for k in UNSUPERVISED]
                + [f"downstream_{c}_acc_{n}" for c in ("logreg", "gbt") for n in sizes]
                + ["reconstruction_error", "score_seconds"])
    assert sorted(scored) == sorted(expected)
    assert all(isinstance(v, float) and math.isfinite(v) for v in scored.values())
    assert scored["score_seconds"] > 0
    for c in ("logreg", "gbt"):
        assert all(0.0 <= scored[f"downstream_{c}_acc_{n}"] <= 1.0 for n in sizes)


def test_score_run_is_deterministic_and_mode_restored(model, shapes, scored):
    factor_data, images = shapes
    model.train()
    again = st.score_run(model, factor_data, images, st.STUDY_FAST, seed=3)
    assert model.training  # restored
    model.eval()
    assert {k: v for k, v in again.items() if k != "score_seconds"} == \
        {k: v for k, v in scored.items() if k != "score_seconds"}


def test_metric_columns_match_the_metric_functions(model, shapes, scored):
    """MIG through score_run's shared cache equals compute_mig on the plain model representation."""
    factor_data, _ = shapes
    direct = compute_mig(model_representation(model), factor_data, seed=3, **st.STUDY_FAST["metrics"]["mig"])
    assert scored["mig"] == pytest.approx(direct["discrete_mig"], abs=1e-12)


def test_unsupervised_columns_are_those_of_the_pool_codes(model, shapes, scored):
    """The mean representation's scores are unsupervised_scores of the encoder means of the pool's draw."""
    from gwrep.eval.metrics.utils import sample_train_test

    factor_data, _ = shapes
    num = st.STUDY_FAST["unsupervised"]["num_train"]
    pool = max(num, *st.STUDY_FAST["downstream"]["train_sizes"])
    codes = sample_train_test(model_representation(model), factor_data, pool,
                              st.STUDY_FAST["downstream"]["num_test"], 16, 3)[0]
    ref = unsupervised_scores(codes[:num])
    for key in UNSUPERVISED:
        assert scored[key] == pytest.approx(ref[key], rel=1e-9)
    # the posterior samples are noisier than the means: their dimensions are less correlated
    assert scored["gaussian_total_correlation_sampled"] < scored["gaussian_total_correlation"]


def test_reconstruction_error_is_the_models_loss(model, shapes, scored):
    _, images = shapes
    x = torch.as_tensor(images)
    with torch.no_grad():
        mean, logvar = model.encode(x)
        at_mean = reconstruction_loss(x, model.decode_logits(mean), "bernoulli").mean().item()
    # decoded from posterior samples, as in training: near the loss at the mean, but not it
    assert scored["reconstruction_error"] == pytest.approx(at_mean, rel=0.05)
    assert scored["reconstruction_error"] != at_mean
    assert st.reconstruction_error(model, images, seed=3) == scored["reconstruction_error"]


def test_udr_codes_and_inputs(model, shapes):
    factor_data, _ = shapes
    inputs = st.udr_inputs(factor_data, 50, seed=1)
    assert np.array_equal(inputs, st.udr_inputs(factor_data, 50, seed=1))
    codes = st.udr_codes(model, inputs)
    with torch.no_grad():
        mean, logvar = model.encode(torch.as_tensor(inputs))
    assert sorted(codes) == ["logvars", "means"] and codes["means"].dtype == np.float32
    np.testing.assert_allclose(codes["means"], mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(codes["logvars"], logvar.numpy(), atol=1e-6)


def test_deterministic_encoder_uses_the_mean_and_warns(shapes):
    class Deterministic(TinyVAE):
        def encode(self, x):
            return super().encode(x)[0], None

    torch.manual_seed(1)
    model = Deterministic(TinyConfig(latent_dim=3)).eval()
    factor_data, images = shapes
    with pytest.warns(UserWarning, match="no encoder variance"):
        out = st.score_run(model, factor_data, images, st.STUDY_FAST, seed=0)
    for key in UNSUPERVISED:
        assert out[f"{key}_sampled"] == out[key]
    assert "logvars" not in st.udr_codes(model, images)


def test_bad_settings_fail_with_a_clear_message(model, shapes):
    factor_data, images = shapes
    bad = copy.deepcopy(st.STUDY_FAST)
    bad["metrics"]["mig"]["num_bin"] = 3
    with pytest.raises(ValueError, match="mig has no option"):
        st.score_run(model, factor_data, images, bad, seed=0)
    with pytest.raises(ValueError, match="unknown keys \\['extra'\\]"):
        st.score_run(model, factor_data, images, {**st.STUDY_FAST, "extra": 1}, seed=0)
    with pytest.raises(ValueError, match="test_images must have shape"):
        st.score_run(model, factor_data, images[0], st.STUDY_FAST, seed=0)


def test_presets_cover_every_metric():
    from gwrep.commands.eval import FACTOR_METRICS

    for preset in (st.STUDY_DEFAULT, st.STUDY_FAST):
        assert sorted(preset["metrics"]) == sorted(FACTOR_METRICS)
    assert st.STUDY_DEFAULT["downstream"]["train_sizes"] == [10, 100, 1000, 10000]
    assert st.STUDY_DEFAULT["downstream"]["num_test"] == 5000
    assert st.STUDY_DEFAULT["unsupervised"]["num_train"] == 10000
