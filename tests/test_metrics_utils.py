"""Tests of gwrep.eval.metrics.utils (eval/metrics/utils.py): shared metric pieces."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from metrics_data import IdentityFactorData, identity
from scipy.stats import entropy as scipy_entropy
from sklearn.metrics import mutual_info_score

from gwrep.eval.metrics.utils import (check_codes_factors, check_train_test, discrete_entropy,
                                      discrete_mutual_info, histogram_discretize, model_representation,
                                      normalize_codes, represent_groups, sample_codes_factors, top_two_gap,
                                      with_settings)


def test_histogram_discretize_labels_bins_like_dlib():
    codes = np.random.default_rng(0).normal(size=(500, 3))
    labels = histogram_discretize(codes, num_bins=20)
    assert labels.shape == codes.shape and labels.dtype == np.int64
    assert labels.min() == 1 and labels.max() == 20
    for j in range(3):
        edges = np.histogram(codes[:, j], 20)[1]
        np.testing.assert_array_equal(labels[:, j], np.digitize(codes[:, j], edges[:-1]))
        assert labels[np.argmax(codes[:, j]), j] == 20


def test_discrete_mutual_info_equals_sklearn():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 7, size=(400, 3))
    b = np.column_stack([a[:, 0] // 2, rng.integers(0, 3, 400)])
    got = discrete_mutual_info(a, b)
    want = np.array([[mutual_info_score(b[:, j], a[:, i]) for j in range(2)] for i in range(3)])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_discrete_entropy_equals_scipy():
    f = np.random.default_rng(2).integers(0, 5, size=(300, 2))
    want = [scipy_entropy(np.bincount(f[:, j])) for j in range(2)]
    np.testing.assert_allclose(discrete_entropy(f), want, atol=1e-12)


@pytest.mark.parametrize("codes, factors, match", [
    (np.zeros(5), np.zeros((5, 1), int), "codes must have shape"),
    (np.zeros((5, 2)), np.zeros(5, int), "factors must have shape"),
    (np.zeros((5, 2)), np.zeros((4, 1), int), "5 points but factors 4"),
    (np.full((5, 2), np.nan), np.zeros((5, 1), int), "NaN"),
    (np.zeros((5, 2)), np.full((5, 1), 0.5), "integer classes"),
    (np.zeros((5, 2), dtype=object), np.zeros((5, 1), int), "real array"),
])
def test_check_codes_factors_rejects_bad_input(codes, factors, match):
    with pytest.raises(ValueError, match=match):
        check_codes_factors(codes, factors)


def test_check_codes_factors_converts_once():
    codes, factors = check_codes_factors(np.ones((3, 2), np.float32), np.ones((3, 1)))
    assert codes.dtype == np.float64 and factors.dtype == np.int64


def test_check_train_test_rejects_width_mismatch():
    with pytest.raises(ValueError, match="widths differ"):
        check_train_test(np.zeros((4, 2)), np.zeros((4, 1), int), np.zeros((4, 3)), np.zeros((4, 1), int))


def test_normalize_codes_keeps_constant_columns_finite():
    codes = np.column_stack([np.arange(5.0), np.full(5, 3.0)])
    out, mean, std = normalize_codes(codes)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 1], 0.0)
    np.testing.assert_allclose(out[:, 0].std(), 1.0)
    np.testing.assert_allclose(normalize_codes(codes + 1, mean, std)[0][:, 0], out[:, 0] + 1 / std[0])


def test_sample_codes_factors_is_seeded_and_batched():
    data = IdentityFactorData()
    calls = []

    def represent(x):
        calls.append(x.shape[0])
        return identity(x)

    c1, f1 = sample_codes_factors(represent, data, 50, np.random.default_rng(3), batch_size=16)
    c2, f2 = sample_codes_factors(identity, data, 50, np.random.default_rng(3), batch_size=16)
    assert calls == [16, 16, 16, 2]
    assert c1.shape == (50, 3) and f1.shape == (50, 3) and f1.dtype == np.int64
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_allclose(c1, f1 / (np.array(data.factor_sizes) - 1))


def test_sample_codes_factors_rejects_bad_representation():
    with pytest.raises(ValueError, match="represent must map"):
        sample_codes_factors(lambda x: x, IdentityFactorData(), 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="NaN"):
        sample_codes_factors(lambda x: np.full((x.shape[0], 2), np.nan), IdentityFactorData(), 8, np.random.default_rng(0))


def test_represent_groups_keeps_groups_apart():
    data = IdentityFactorData()
    factors = data.sample_factors(7 * 5, np.random.default_rng(0)).reshape(7, 5, 3)
    codes = represent_groups(identity, data, factors, np.random.default_rng(0))
    np.testing.assert_allclose(codes, factors / (np.array(data.factor_sizes) - 1))


def test_model_representation_batches_a_torch_model():
    class Linear:
        def __init__(self):
            self.net = torch.nn.Linear(3, 2)
            self.seen: list[int] = []

        def represent(self, x):
            self.seen.append(x.shape[0])
            return self.net(x.flatten(1))

    model = Linear()
    x = np.random.default_rng(0).random((10, 3, 1, 1), dtype=np.float32)
    codes = model_representation(model, batch_size=4)(x)
    assert model.seen == [4, 4, 2] and codes.shape == (10, 2)
    np.testing.assert_allclose(codes, model.net(torch.from_numpy(x).flatten(1)).detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        model_representation(model, batch_size=0)


def test_model_representation_picks_a_cache_sized_batch_on_cpu():
    class PixelMeans:
        def __init__(self):
            self.seen: list[int] = []

        def represent(self, x):
            self.seen.append(x.shape[0])
            return x.mean(dim=(2, 3))

    model = PixelMeans()
    x = np.random.default_rng(0).random((40, 2, 128, 128), dtype=np.float32)
    codes = model_representation(model)(x)  # no device attribute: CPU; 64^3 pixels per pass
    assert model.seen == [16, 16, 8]
    np.testing.assert_allclose(codes, x.mean(axis=(2, 3)), rtol=1e-6)
    model_representation(model)(x[:, :, :64, :64])
    assert model.seen[3:] == [40]  # 64x64 images: 64 per pass


def test_top_two_gap_and_settings():
    assert top_two_gap(np.array([[0.2], [0.7], [0.5]])) == pytest.approx(0.2)
    assert top_two_gap(np.array([[0.4, 0.1]])) == pytest.approx(0.25)
    out = with_settings({"a": np.float32(0.5), "n": np.int64(3)}, num_bins=20)
    assert out == {"a": 0.5, "n": 3, "settings.num_bins": 20}
    assert type(out["a"]) is float and type(out["n"]) is int


_SIX = [("mig", "compute_mig", dict(num_train=300)),
        ("sap", "compute_sap", dict(num_train=200, num_test=100)),
        ("dci", "compute_dci", dict(num_train=200, num_test=100, importance="random_forest", forest_trees=5)),
        ("modularity", "compute_modularity_explicitness", dict(num_train=200, num_test=100)),
        ("beta_vae", "beta_vae_score", dict(batch_size=8, num_train=60, num_eval=30)),
        ("factor_vae", "factor_vae_score", dict(batch_size=8, num_train=60, num_eval=30, num_variance_estimate=100))]


@pytest.mark.parametrize("module, function, kwargs", _SIX, ids=[m for m, _, _ in _SIX])
def test_code_cache_gives_the_same_scores(module, function, kwargs):
    import importlib

    from gwrep.eval.metrics.utils import CodeCache

    data = IdentityFactorData((3, 4, 5, 4, 3))
    rng = np.random.default_rng(5)
    w = rng.normal(size=(5, 4))
    represent = lambda x: np.tanh(identity(x) @ w)  # noqa: E731 - a deterministic, mixed representation
    compute = getattr(importlib.import_module(f"gwrep.eval.metrics.{module}"), function)
    cache = CodeCache(represent, data)
    assert compute(cache.represent, cache.data, **kwargs) == compute(represent, data, **kwargs)
    assert cache.misses <= 720 and cache.hits + cache.misses > cache.misses  # 720 tuples in the grid, repeats hit


def test_code_cache_encodes_each_tuple_once_and_checks_its_data():
    from gwrep.eval.metrics.utils import CodeCache

    data = IdentityFactorData((2, 3))
    seen = []
    cache = CodeCache(lambda x: seen.append(len(x)) or identity(x), data)
    f = np.array([[0, 1], [1, 2], [0, 1], [1, 0]])
    indices = cache.data.sample_observations_from_factors(f, np.random.default_rng(0))
    np.testing.assert_array_equal(indices, data.space.factors_to_indices(f))
    np.testing.assert_array_equal(cache.represent(indices), identity(data.sample_observations_from_factors(f, None)))
    cache.represent(indices[:2])
    assert seen == [3] and (cache.hits, cache.misses) == (3, 3)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    np.testing.assert_array_equal(cache.data.sample_factors(50, rng_a), data.sample_factors(50, rng_b))

    from gwrep.data.base import FactorData

    class Plain(FactorData):  # a FactorData without a grid index
        factor_sizes, factor_names, observation_shape = (2,), ("a",), (1, 1, 1)

        def sample_factors(self, n, rng):
            return np.zeros((n, 1), int)

        def sample_observations_from_factors(self, factors, rng):
            return np.zeros((len(factors), 1, 1, 1), np.float32)

    with pytest.raises(ValueError, match="IndexedFactorData"):
        CodeCache(identity, Plain())
