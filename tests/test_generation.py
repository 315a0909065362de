"""Tests of eval/generation.py (gwrep.eval.generation): PSNR and model-level FID/PSNR."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

from gwrep.eval.fid import FeatureExtractor
from gwrep.eval.generation import PSNR_MAX_DB, model_fid, psnr, psnr_per_image, reconstruction_psnr


def test_psnr_hand_values() -> None:
    x = np.zeros((2, 1, 2, 2))
    y = x.copy()
    y[0] = 0.1           # MSE 0.01 -> 20 dB
    y[1, 0, 0, 0] = 0.2  # MSE 0.04 / 4 = 0.01 -> 20 dB
    np.testing.assert_allclose(psnr_per_image(x, y), [20.0, 20.0])
    y[1] = 0.01          # MSE 1e-4 -> 40 dB ; mean over images (20 + 40) / 2
    assert psnr(x, y) == pytest.approx(30.0)


def test_psnr_of_exact_reconstruction_is_capped() -> None:
    # MSE floored at 1e-10: an exact copy scores 100 dB instead of inf, and so does an error below the floor
    x = np.random.default_rng(0).random((3, 1, 4, 4))
    y = x.copy()
    y[1] += 1e-6          # MSE 1e-12 < 1e-10: capped too
    y[2] += 1e-3          # MSE 1e-6 -> 60 dB, untouched by the cap
    np.testing.assert_allclose(psnr_per_image(x, y), [PSNR_MAX_DB, PSNR_MAX_DB, 60.0])
    assert PSNR_MAX_DB == 100.0
    assert psnr(x, x) == PSNR_MAX_DB


class _Exact(torch.nn.Module):
    device = torch.device("cpu")

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


def test_reconstruction_psnr_of_a_perfect_model_is_finite_json() -> None:
    import json

    out = reconstruction_psnr(_Exact(), _dataset(), batch_size=7, limit=20)
    assert out["psnr"] == PSNR_MAX_DB and out["psnr_std"] == 0.0
    assert out["num_capped"] == 20 and out["settings.psnr_max_db"] == PSNR_MAX_DB
    json.dumps(out, allow_nan=False)  # what gwrep eval writes; inf used to be refused here
    assert reconstruction_psnr(_HalfModel(), _dataset(), limit=20)["num_capped"] == 0


def test_psnr_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        psnr(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-empty"):
        psnr(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        psnr(np.full((1, 3), np.nan), np.zeros((1, 3)))


class _HalfModel(torch.nn.Module):
    """Reconstructs every image as x / 2 and samples constant 0.5 images."""

    device = torch.device("cpu")

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return x / 2

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(n, 1, 4, 4, generator=generator) * 0 + 0.5


class _Means(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], 1)


def _dataset(n: int = 30) -> torch.utils.data.Dataset:
    images = torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    return torch.utils.data.TensorDataset(images, torch.zeros(n, dtype=torch.long))


def test_reconstruction_psnr_matches_direct() -> None:
    ds = _dataset()
    out = reconstruction_psnr(_HalfModel(), ds, batch_size=7, limit=20)
    x = ds.tensors[0][:20].numpy()
    assert out["num_images"] == 20
    assert out["psnr"] == pytest.approx(psnr(x, x / 2))


def test_model_fid_modes() -> None:
    extractor = FeatureExtractor(torch.jit.script(_Means()), input_size=4)
    ds = _dataset()
    samples = model_fid(_HalfModel(), ds, extractor, mode="samples", num=25, batch_size=10)
    recon = model_fid(_HalfModel(), ds, extractor, mode="reconstructions", num=25, batch_size=10)
    assert samples["num_real"] == samples["num_fake"] == 25
    assert samples["fid"] > 0 and recon["fid"] > 0 and samples["fid"] != recon["fid"]
    with pytest.raises(ValueError, match="FID mode"):
        model_fid(_HalfModel(), ds, extractor, mode="bogus")


def test_model_fid_reuses_real_features() -> None:
    from gwrep.eval.fid import extract_features
    from gwrep.eval.generation import real_batches

    extractor = FeatureExtractor(torch.jit.script(_Means()), input_size=4)
    ds = _dataset()
    real = extract_features(real_batches(ds, 10, 25), extractor)
    direct = model_fid(_HalfModel(), ds, extractor, mode="reconstructions", num=25, batch_size=10)
    reused = model_fid(_HalfModel(), ds, extractor, mode="reconstructions", num=25, batch_size=10, real_features=real)
    assert reused["fid"] == pytest.approx(direct["fid"], rel=1e-12)
