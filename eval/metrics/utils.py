"""Pieces the disentanglement metrics share.

Follows ``disentanglement_lib/evaluation/metrics/utils.py`` (Locatello et al. 2019) with
one change of convention: arrays are (num_points, num_codes) / (num_points, num_factors),
not dlib's transposed [num_codes, num_points]. Inputs are checked and converted once, at
the public entry of each metric (:func:`check_codes_factors`).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from gwrep.data.base import FactorData

__all__ = [
    "Representation", "check_codes", "check_codes_factors", "check_train_test", "histogram_discretize",
    "discrete_mutual_info", "discrete_entropy", "normalize_codes", "sample_codes_factors", "sample_train_test",
    "call_represent", "model_representation", "check_positive_int", "with_settings", "top_two_gap",
    "represent_groups", "IMAGES_PER_CALL", "CPU_PIXELS_PER_PASS", "DEVICE_BATCH_SIZE", "CodeCache",
    "CACHE_MAX_STATES",
]

#: A representation function: float32 observations (n, C, H, W) -> codes (n, d).
Representation = Callable[[np.ndarray], np.ndarray]


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int if it is a positive integer, else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_codes(codes: Any, name: str = "codes") -> np.ndarray:
    """``codes`` as a finite float64 (N, d) array with N, d >= 1, else ValueError naming ``name``."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] == 0 or codes.shape[1] == 0:
        raise ValueError(f"{name} must have shape (num_points, num_codes), got {codes.shape}")
    if not (np.issubdtype(codes.dtype, np.floating) or np.issubdtype(codes.dtype, np.integer)):
        raise ValueError(f"{name} must be a real array, got dtype {codes.dtype}")
    codes = codes.astype(np.float64)
    if not np.all(np.isfinite(codes)):
        raise ValueError(f"{name} contain NaN or infinite values")
    return codes


def check_codes_factors(codes: Any, factors: Any, name: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``codes`` (N, d) to float64 and ``factors`` (N, K) to int64.

    Raises ValueError when a shape, dtype or value is unusable: codes not 2-D or not
    finite, factors not 2-D integers, or different numbers of points.
    """
    suffix = f"_{name}" if name else ""
    codes = check_codes(codes, f"codes{suffix}")
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] == 0:
        raise ValueError(f"factors{suffix} must have shape (num_points, num_factors), got {factors.shape}")
    if not np.issubdtype(factors.dtype, np.integer):
        if not (np.issubdtype(factors.dtype, np.floating) and np.all(factors == np.round(factors))):
            raise ValueError(f"factors{suffix} must hold integer classes, got dtype {factors.dtype}")
    if factors.shape[0] != codes.shape[0]:
        raise ValueError(f"codes{suffix} have {codes.shape[0]} points but factors{suffix} {factors.shape[0]}")
    return codes, factors.astype(np.int64)


def check_train_test(codes_train: Any, factors_train: Any, codes_test: Any,
                     factors_test: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`check_codes_factors` on a train and a test split with matching widths."""
    ctr, ftr = check_codes_factors(codes_train, factors_train, "train")
    cte, fte = check_codes_factors(codes_test, factors_test, "test")
    if ctr.shape[1] != cte.shape[1] or ftr.shape[1] != fte.shape[1]:
        raise ValueError(f"train and test widths differ: codes {ctr.shape[1]} vs {cte.shape[1]}, "
                         f"factors {ftr.shape[1]} vs {fte.shape[1]}")
    return ctr, ftr, cte, fte


def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Bin each code column into ``num_bins`` equal-width bins over its own range.

    dlib's ``_histogram_discretize``: ``np.digitize`` against the left bin edges, so the
    bin labels are 1..num_bins and the maximum falls in the last bin.

    Args:
        codes: (N, d) float array.
        num_bins: number of equal-width bins per code.

    Returns:
        (N, d) int64 bin labels.

    >>> histogram_discretize(np.array([[0.0], [0.4], [1.0]]), num_bins=2).ravel().tolist()
    [1, 1, 2]
    """
    out = np.empty(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], bins=num_bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def discrete_mutual_info(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Mutual information I(c_i; v_k) in nats between each code column and each factor.

    Args:
        discrete_codes: (N, d) integer labels.
        factors: (N, K) integer classes.

    Returns:
        (d, K) float64 matrix: the plug-in estimate of scikit-learn's ``mutual_info_score``,
        which dlib calls, sum_ab p(a, b) log(p(a, b) / (p(a) p(b))) over the joint histogram.
    """
    d, k = discrete_codes.shape[1], factors.shape[1]
    m = np.empty((d, k))
    for i in range(d):
        for j in range(k):
            m[i, j] = _plugin_mutual_info(discrete_codes[:, i], factors[:, j])
    return m


def _plugin_mutual_info(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in I(a; b) in nats of two integer label vectors, from their contingency table."""
    a_idx = np.unique(a, return_inverse=True)[1]
    b_idx = np.unique(b, return_inverse=True)[1]
    nb = b_idx.max() + 1
    joint = np.bincount(a_idx * nb + b_idx).astype(np.float64)
    cells = np.flatnonzero(joint)
    p = joint[cells] / a.shape[0]
    pa = np.bincount(a_idx)[cells // nb] / a.shape[0]
    pb = np.bincount(b_idx)[cells % nb] / a.shape[0]
    return float(max(np.sum(p * np.log(p / (pa * pb))), 0.0))


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """Plug-in entropy H(v_k) in nats of each column of (N, K) ``factors``; shape (K,).

    >>> print(round(float(discrete_entropy(np.array([[0], [1], [0], [1]]))[0]), 6), round(np.log(2), 6))
    0.693147 0.693147
    """
    out = np.empty(factors.shape[1])
    for j in range(factors.shape[1]):
        p = np.unique(factors[:, j], return_counts=True)[1] / factors.shape[0]
        out[j] = -np.sum(p * np.log(p))
    return out


def top_two_gap(scores: np.ndarray) -> float:
    """Mean over columns (factors) of the best minus the second-best row (code).

    The gap of MIG (on MI / H) and SAP (on predictability); with one code, its score.

    >>> round(top_two_gap(np.array([[0.9, 0.2], [0.1, 0.3]])), 6)
    0.45
    """
    ranked = np.sort(scores, axis=0)[::-1]
    second = ranked[1] if ranked.shape[0] > 1 else 0.0
    return float(np.mean(ranked[0] - second))


def normalize_codes(codes: np.ndarray, mean: np.ndarray | None = None,
                    std: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardize (N, d) ``codes`` per column; returns (normalized, mean, std).

    As dlib's ``normalize_data``, but a constant column (std 0) is centred and left
    unscaled instead of becoming NaN (dlib divides by zero).
    """
    if mean is None:
        mean = codes.mean(axis=0)
    if std is None:
        std = codes.std(axis=0)
        std = np.where(std > 0, std, 1.0)
    return (codes - mean) / std, mean, std


def call_represent(represent: Representation, observations: np.ndarray) -> np.ndarray:
    """``represent(observations)`` checked to be a finite (n, d) array; float64."""
    codes = np.asarray(represent(observations))
    n = observations.shape[0]
    if codes.ndim != 2 or codes.shape[0] != n:
        raise ValueError(f"represent must map {n} observations to an (n, d) array, got shape {codes.shape}")
    codes = codes.astype(np.float64)
    if not np.all(np.isfinite(codes)):
        raise ValueError("represent returned NaN or infinite codes")
    return codes


def sample_codes_factors(represent: Representation, data: FactorData, num_points: int,
                         rng: np.random.Generator, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``num_points`` factor tuples, their observations and codes, ``batch_size`` at a time.

    dlib's ``generate_batch_factor_code`` without the transpose.

    Returns:
        codes (num_points, d) float64 and factors (num_points, K) int64.
    """
    num_points = check_positive_int("num_points", num_points)
    batch_size = check_positive_int("batch_size", batch_size)
    codes, factors = [], []
    for start in range(0, num_points, batch_size):
        f, x = data.sample(min(batch_size, num_points - start), rng)
        factors.append(np.asarray(f, dtype=np.int64))
        codes.append(call_represent(represent, x))
    return np.concatenate(codes), np.concatenate(factors)


def sample_train_test(represent: Representation, data: FactorData, num_train: int, num_test: int,
                      batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train then test (codes, factors) from one generator seeded with ``seed`` (dlib's order)."""
    rng = np.random.default_rng(seed)
    codes_train, factors_train = sample_codes_factors(represent, data, num_train, rng, batch_size)
    codes_test, factors_test = sample_codes_factors(represent, data, num_test, rng, batch_size)
    return codes_train, factors_train, codes_test, factors_test


#: Images per ``represent`` call when the intervention metrics encode groups of points.
IMAGES_PER_CALL = 4096


def represent_groups(represent: Representation, data: FactorData, factors: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Codes (G, B, d) of the observations of factor groups ``factors`` (G, B, K).

    Groups are encoded whole, about :data:`IMAGES_PER_CALL` images per call, so the
    intervention metrics (BetaVAE, FactorVAE) need few calls instead of one per vote.
    """
    g, b, k = factors.shape
    step = max(1, IMAGES_PER_CALL // b)
    parts = []
    for start in range(0, g, step):
        chunk = factors[start:start + step].reshape(-1, k)
        x = data.sample_observations_from_factors(chunk, rng)
        codes = call_represent(represent, x)
        parts.append(codes.reshape(-1, b, codes.shape[1]))
    return np.concatenate(parts)


#: Pixels per forward pass on a CPU when :func:`model_representation` picks the batch: 64 images of
#: 64x64. The first conv layer's activations then fit in cache; the dlib and GWAE encoders encode
#: 64x64 images 2-2.5x faster in passes of 64 than of 256 (1 and 2 threads; 28x28 images are not
#: slowed by 256, hence a pixel budget rather than an image count).
CPU_PIXELS_PER_PASS = 64 * 64 * 64

#: Images per forward pass on an accelerator when :func:`model_representation` picks the batch.
DEVICE_BATCH_SIZE = 256


def model_representation(model: Any, batch_size: int | None = None) -> Representation:
    """Adapt a gwrep :class:`~gwrep.models.base.Model` to a numpy representation function.

    The result maps float32 observations (n, C, H, W) to the model's mean codes (n, d)
    (``model.represent``), ``batch_size`` images at a time, under ``torch.inference_mode``
    (no autograd bookkeeping at all; ``no_grad`` measured the same speed on the dlib encoder). ``None``
    (default) picks the batch: :data:`CPU_PIXELS_PER_PASS` // (H W) images on a CPU,
    :data:`DEVICE_BATCH_SIZE` on an accelerator. The codes do not depend on the batch.
    """
    import torch  # local: keeps ``import gwrep.eval`` cheap for users of the array metrics

    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    on_cpu = torch.device(getattr(model, "device", "cpu")).type == "cpu"

    def represent(observations: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(observations, dtype=np.float32))
        step = batch_size
        if step is None:
            step = max(1, CPU_PIXELS_PER_PASS // (x.shape[-1] * x.shape[-2])) if on_cpu else DEVICE_BATCH_SIZE
        with torch.inference_mode():
            parts = [model.represent(x[i:i + step]).cpu().numpy() for i in range(0, x.shape[0], step)]
        return np.concatenate(parts)

    return represent


#: Largest factor grid :class:`CodeCache` indexes (an int32 slot per tuple: 200 MB at this size).
CACHE_MAX_STATES = 50_000_000


class CodeCache:
    """Codes of a factor data set's tuples, each tuple rendered and encoded once.

    The metrics draw many repeated factor tuples: at disentanglement_lib's sizes the six
    draw about 2.95 million (BetaVAE 1.92M, FactorVAE 0.97M, the others 55,000) from
    dSprites' grid of 737,280, so at most a quarter are distinct. When the observation is a
    function of the factor tuple (every :class:`~gwrep.data.IndexedFactorData` of gwrep:
    rendered grids, stored arrays and their transformed views take no random draws to
    render) and the representation is deterministic (a model's mean code), each distinct
    tuple needs rendering and encoding once. This is not in dlib, which renders and encodes
    every draw.

    Use the pair :attr:`data` and :meth:`represent` together, in place of ``(represent,
    data)``, in any of the metrics' public functions: :attr:`data` samples factors exactly
    as ``data`` (same random stream, so the same tuples), but its "observations" are the
    tuples' flat grid indices, int64 (n,), not images; :meth:`represent` maps those to
    codes, rendering and encoding only the tuples it has not seen. The scores equal those of
    ``(represent, data)`` up to the float rounding of encoding in other batches (a conv
    encoder's codes differ by ~1e-8 between batch layouts).

    Attributes ``hits``, ``misses`` (tuples looked up, tuples encoded), ``render_s`` and
    ``represent_s`` (seconds spent rendering and encoding misses) say what it saved.
    """

    def __init__(self, represent: Representation, data: Any) -> None:
        from gwrep.data import IndexedFactorData

        if not isinstance(data, IndexedFactorData):
            raise ValueError(f"CodeCache needs an IndexedFactorData (observations a function of the factors), "
                             f"got {type(data).__name__}")
        if getattr(data, "random_observations", False):  # nuisances (gwrep.data.nuisance): one code would freeze them
            raise ValueError(f"CodeCache: {getattr(data, 'source', type(data).__name__)} draws its observations at "
                             "random given the factors (nuisances); encode every draw instead")
        if data.space.num_states > CACHE_MAX_STATES:
            raise ValueError(f"CodeCache: {data.space.num_states} factor tuples exceed CACHE_MAX_STATES "
                             f"= {CACHE_MAX_STATES}")
        self._represent, self._source = represent, data
        self._slot = np.full(data.space.num_states, -1, dtype=np.int32)  # tuple index -> row of _codes
        self._codes: np.ndarray | None = None
        self._count = 0
        self.hits = self.misses = 0
        self.render_s = self.represent_s = 0.0
        self.data = _IndexObservations(data)

    def represent(self, indices: np.ndarray) -> np.ndarray:
        """Codes (n, d) of the tuples with flat grid indices ``indices`` (n,) from :attr:`data`."""
        import time

        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        new = np.unique(indices[self._slot[indices] < 0])
        if new.size:
            start = time.perf_counter()
            x = self._source.sample_observations_from_factors(self._source.space.indices_to_factors(new),
                                                               np.random.default_rng(0))
            mid = time.perf_counter()
            codes = call_represent(self._represent, x)
            self.render_s += mid - start
            self.represent_s += time.perf_counter() - mid
            self._store(new, codes)
        self.misses += int(new.size)
        self.hits += int(indices.size - new.size)
        return self._codes[self._slot[indices]]

    def _store(self, indices: np.ndarray, codes: np.ndarray) -> None:
        """Append ``codes`` (m, d) of new tuples ``indices`` (m,), doubling the storage when full."""
        if self._codes is None:
            self._codes = np.empty((max(1024, len(codes)), codes.shape[1]))
        if self._count + len(codes) > len(self._codes):
            grown = np.empty((max(2 * len(self._codes), self._count + len(codes)), self._codes.shape[1]))
            grown[:self._count] = self._codes[:self._count]
            self._codes = grown
        self._codes[self._count:self._count + len(codes)] = codes
        self._slot[indices] = np.arange(self._count, self._count + len(codes), dtype=np.int32)
        self._count += len(codes)


class _IndexObservations(FactorData):
    """``data``'s factors and random stream, with each tuple's flat grid index for an observation."""

    def __init__(self, data: Any) -> None:
        self._data = data
        self.factor_names, self.factor_sizes = data.factor_names, data.factor_sizes
        self.observation_shape = data.observation_shape

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._data.sample_factors(n, rng)

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._data.space.factors_to_indices(np.asarray(factors, dtype=np.int64))


def with_settings(scores: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """Scores (dlib key names) plus every knob echoed as ``"settings.<name>"``."""
    out = {k: _plain(v) for k, v in scores.items()}
    out.update({f"settings.{k}": _plain(v) for k, v in settings.items()})
    return out


def _plain(value: Any) -> Any:
    """numpy scalars as Python floats/ints, so the dicts serialize to JSON."""
    if isinstance(value, (np.floating, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
