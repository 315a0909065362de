"""Generation and autoencoding quality of a model: PSNR of reconstructions, FID of prior
samples and of reconstructions.

PSNR (peak signal-to-noise ratio) of one image with values in [0, 1] (peak 1):
``PSNR = 20 log10(1) - 10 log10(MSE)``, MSE the mean squared error over its pixels and
channels; the reported number is the mean over images (not the PSNR of the pooled MSE).
An exact reconstruction has MSE 0 and an infinite PSNR, which neither averages nor goes
into JSON: the MSE is floored at 1e-10, so PSNR is capped at :data:`PSNR_MAX_DB` = 100 dB,
the common practice of image-quality code that reports a finite PSNR for identical images
(scikit-image returns inf instead). Far above what 8-bit images can tell apart (one grey
level of error is ~48 dB), the cap changes no imperfect reconstruction of such data;
:func:`reconstruction_psnr` counts the capped images.
FID comes from :mod:`gwrep.eval.fid`; "reconstruction FID" compares the test images with
their reconstructions, as the GWAE authors' framework reports it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from gwrep.eval.fid import FeatureExtractor
    from gwrep.models.base import Model

__all__ = ["PSNR_MAX_DB", "psnr_per_image", "psnr", "reconstruction_psnr", "generated_batches", "model_fid",
           "real_batches", "FID_MODES"]

#: Highest PSNR reported (dB): the PSNR of MSE 1e-10, the floor put under each image's MSE.
PSNR_MAX_DB = 100.0

#: What :func:`model_fid` compares the real images with.
FID_MODES = ("samples", "reconstructions")


def psnr_per_image(images: "np.ndarray | torch.Tensor", reconstructions: "np.ndarray | torch.Tensor") -> np.ndarray:
    """PSNR in dB of each image (peak value 1): ``-10 log10(max(mean((x - y)^2), 1e-10))``, shape (N,).

    Identical images give :data:`PSNR_MAX_DB` (100 dB), not ``inf`` (module docstring).

    >>> x = np.zeros((2, 1, 2, 2)); y = x.copy(); y[0] = 0.1
    >>> psnr_per_image(x, y).round(6).tolist()
    [20.0, 100.0]
    """
    x = np.asarray(images, dtype=np.float64)
    y = np.asarray(reconstructions, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"images {x.shape} and reconstructions {y.shape} differ in shape")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"need a non-empty batch (N, ...), got shape {x.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("images or reconstructions contain NaN or inf")
    mse = ((x - y) ** 2).reshape(x.shape[0], -1).mean(axis=1)
    return 20.0 * np.log10(1.0) - 10.0 * np.log10(np.maximum(mse, 10.0 ** (-PSNR_MAX_DB / 10.0)))


def psnr(images: "np.ndarray | torch.Tensor", reconstructions: "np.ndarray | torch.Tensor") -> float:
    """Mean over images of :func:`psnr_per_image`."""
    return float(psnr_per_image(images, reconstructions).mean())


def real_batches(dataset: "torch.utils.data.Dataset", batch_size: int, limit: int | None) -> Iterator["torch.Tensor"]:
    """The images of the first ``limit`` items of ``dataset`` (all when None), in order."""
    import torch

    n = len(dataset) if limit is None else min(limit, len(dataset))
    if n == 0:
        raise ValueError("dataset is empty")
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, range(n)), batch_size=batch_size)
    for batch in loader:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def reconstruction_psnr(model: "Model", dataset: "torch.utils.data.Dataset", batch_size: int = 256,
                        limit: int | None = None) -> dict[str, float | int]:
    """Mean PSNR of ``model.reconstruct`` over the first ``limit`` images of ``dataset``.

    Returns ``{"psnr", "psnr_std", "num_images", "num_capped", "settings.psnr_max_db"}``: std
    over images, and how many images reached the :data:`PSNR_MAX_DB` cap (exact reconstructions).
    """
    values = []
    for x in real_batches(dataset, batch_size, limit):
        recon = model.reconstruct(x.to(model.device)).cpu()
        values.append(psnr_per_image(x.numpy(), recon.numpy()))
    per_image = np.concatenate(values)
    return {"psnr": float(per_image.mean()), "psnr_std": float(per_image.std()), "num_images": int(per_image.size),
            "num_capped": int(np.sum(per_image >= PSNR_MAX_DB)), "settings.psnr_max_db": PSNR_MAX_DB}


def generated_batches(model: "Model", dataset: "torch.utils.data.Dataset", mode: str = "samples", num: int = 1000,
                      batch_size: int = 100, seed: int = 0) -> Iterator["torch.Tensor"]:
    """Model images on the CPU, ``batch_size`` at a time, ``min(num, len(dataset))`` in all.

    ``mode="samples"``: decoded prior samples (generator seeded with ``seed``);
    ``"reconstructions"``: reconstructions of the first images of ``dataset``.
    """
    import torch

    if mode not in FID_MODES:
        raise ValueError(f"unknown FID mode {mode!r}; choose one of {list(FID_MODES)}")
    n = min(num, len(dataset))
    if mode == "samples":
        generator = torch.Generator(device=model.device).manual_seed(seed)
        for start in range(0, n, batch_size):
            yield model.sample(min(batch_size, n - start), generator=generator).cpu()
    else:
        for x in real_batches(dataset, batch_size, n):
            yield model.reconstruct(x.to(model.device)).cpu()


def model_fid(model: "Model", dataset: "torch.utils.data.Dataset", extractor: "FeatureExtractor",
              mode: str = "samples", num: int = 1000, batch_size: int = 100, seed: int = 0,
              real_features: np.ndarray | None = None) -> dict[str, float | int | str]:
    """FID between the first ``num`` images of ``dataset`` and as many model images
    (:func:`generated_batches`). Pass ``real_features`` (from
    :func:`gwrep.eval.fid.extract_features` of those images) to reuse them across modes.

    Returns ``{"fid", "num_real", "num_fake", "mode"}``.
    """
    from gwrep.eval.fid import extract_features, fid_from_features

    fake = extract_features(generated_batches(model, dataset, mode, num, batch_size, seed), extractor)
    if real_features is None:
        real_features = extract_features(real_batches(dataset, batch_size, num), extractor)
    return {"fid": fid_from_features(real_features, fake), "num_real": int(real_features.shape[0]),
            "num_fake": int(fake.shape[0]), "mode": mode}
