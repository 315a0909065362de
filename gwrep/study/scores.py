"""Every per-run score of the study (Locatello et al. 2019), and the codes UDR compares across seeds.

:func:`score_run` fills one row of the tidy table (:data:`gwrep.study.table.SCORE_COLUMNS`, the per-run columns
but the identity and ``udr``): the six disentanglement metrics of :mod:`gwrep.eval.metrics` on
the mean representation (as ``gwrep eval``: its ``FACTOR_METRICS`` and ``HEADLINE`` names, one
:class:`~gwrep.eval.metrics.utils.CodeCache` shared by the six), the unsupervised scores of
:mod:`gwrep.eval.unsupervised` on the mean and on the sampled representation (suffix
``_sampled``), the downstream task of :mod:`gwrep.eval.downstream`, the reconstruction error and
the seconds it all took. :func:`udr_codes` gives a run's encoder means and log-variances on the
inputs every run of its cell encodes, from which :func:`gwrep.eval.udr.udr_scores` scores the cell.

One :class:`~gwrep.eval.metrics.utils.CodeCache` of each factor tuple's encoder mean and
log-variance serves everything drawn from the factor data (when it is an indexed set): MIG, SAP,
DCI and modularity draw their train and test tuples from the same ``seed``, so they share one
draw, and the unsupervised scores and the downstream task take the same tuples again (train pool
then test set, as SAP's ``sample_train_test``), so at the default sizes those seven scores render
and encode 15,000 observations in all. The sampled representation is z = mu + sigma * eps on the
pool (eps from a generator seeded by ``seed``), the posterior sample dlib's
``postprocess_configs/sampled.gin`` takes; a model without a variance (a deterministic encoder)
has no sampled representation: its ``_sampled`` scores are those of the mean, and
:func:`score_run` warns.

Settings (:data:`STUDY_DEFAULT`, :data:`STUDY_FAST`) against dlib's ``unsupervised_study_v1``:

======================  ===========================================  ==============================================
score                   dlib                                         ``STUDY_DEFAULT`` (``small``: <= 30 s per run
                                                                     at 28x28 on one thread, all scores)
======================  ===========================================  ==============================================
MIG                     10,000 points                                10,000
SAP                     10,000 train, 5,000 test                     10,000 / 5,000
DCI                     10,000 / 5,000, boosted-tree importance      5,000 / 5,000, random-forest importance (30)
Modularity/explicitn.   10,000 / 5,000                               10,000 / 5,000
BetaVAE                 10,000 train / 5,000 eval votes of 64 pairs  150 / 150 votes of 64 pairs
FactorVAE               10,000 / 5,000 votes of 64, 10,000 var. pts  150 / 150 votes of 64, 5,000 var. points
unsupervised            10,000 points, 20 bins                       10,000, 20 bins (mean and sampled)
downstream              sizes 10-10,000, 5,000 test; LR-CV(10 C, 5   same sizes; LR-CV(4 C, 3 folds, 50 it.),
                        folds), GradientBoostingClassifier (100)     HistGradientBoosting (10 rounds, 15 leaves)
reconstruction          (the training loss)                          the ``test_images`` given (runner: 1,000)
UDR                     1,000 inputs, Lasso                          1,000 inputs, Spearman (``udr``)
======================  ===========================================  ==============================================

Through the shared cache MIG, SAP, DCI, modularity, the unsupervised scores and the downstream
task encode one set of 15,000 observations; BetaVAE and FactorVAE votes of 64 pairs are the
expensive part at dlib's sizes (1.9M and 1.0M images), hence the fewer votes (38,400 and 24,200
images here; 150 evaluation votes put a binomial spread of about 0.03 on an accuracy of 0.8).
On shapes3d rendering dominates (each 28x28 image is rendered at 64x64 and resized). dlib's boosted
trees alone would take minutes per run (one tree per class per round: 113 classes on shapes2d).
``benchmarks/study_scores.py`` measures each group on one thread.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import time
import warnings
from typing import Any, Iterator, Mapping

import numpy as np

from gwrep.eval import downstream as _downstream

__all__ = ["score_run", "score_groups", "udr_codes", "udr_inputs", "sample_images", "encode_arrays",
           "STUDY_DEFAULT", "STUDY_FAST", "SETTINGS_KEYS"]

#: ``small``: every score of a run at 28x28 in <= 30 s on one thread (module docstring's table).
STUDY_DEFAULT: dict[str, Any] = {
    "metrics": {
        "mig": {"num_train": 10000},
        "sap": {"num_train": 10000, "num_test": 5000},
        "dci": {"num_train": 5000, "num_test": 5000, "importance": "random_forest"},
        "modularity_explicitness": {"num_train": 10000, "num_test": 5000},
        "beta_vae_score": {"batch_size": 64, "num_train": 150, "num_eval": 150},
        "factor_vae_score": {"batch_size": 64, "num_train": 150, "num_eval": 150, "num_variance_estimate": 5000},
    },
    "unsupervised": {"num_train": 10000, "num_bins": 20},
    "downstream": {"train_sizes": [10, 100, 1000, 10000], "num_test": 5000, **_downstream.STUDY},
    "reconstruction_num": 1000,
    "udr_num": 1000,
    "udr": {"method": "spearman", "kl_threshold": 0.01},
}

#: ``smoke``: a whole :func:`score_run` in a couple of seconds (checks the machinery, not the models).
STUDY_FAST: dict[str, Any] = {
    "metrics": {
        "mig": {"num_train": 300},
        "sap": {"num_train": 300, "num_test": 150},
        "dci": {"num_train": 300, "num_test": 150, "importance": "random_forest", "forest_trees": 10},
        "modularity_explicitness": {"num_train": 300, "num_test": 150},
        "beta_vae_score": {"batch_size": 8, "num_train": 60, "num_eval": 30},
        "factor_vae_score": {"batch_size": 8, "num_train": 60, "num_eval": 30, "num_variance_estimate": 300},
    },
    "unsupervised": {"num_train": 300, "num_bins": 20},
    "downstream": {"train_sizes": [10, 100], "num_test": 150, **_downstream.STUDY, "logreg_cs": 2, "logreg_folds": 2,
                   "logreg_max_iter": 20, "gbt_rounds": 3},
    "reconstruction_num": 64,
    "udr_num": 100,
    "udr": {"method": "spearman", "kl_threshold": 0.01},
}

#: Keys a settings dict may hold; ``reconstruction_num``, ``udr_num`` and ``udr`` are read by the runner.
SETTINGS_KEYS = ("metrics", "unsupervised", "downstream", "reconstruction_num", "udr_num", "udr")


def score_run(model: Any, factor_data: Any, test_images: Any, settings: Mapping[str, Any],
              seed: int) -> dict[str, float]:
    """Every per-run score of ``model`` (a gwrep Model) as ``{column: float}`` plus ``score_seconds``.

    Args:
        model: the trained model (eval mode is set for the scores and restored).
        factor_data: the run's :class:`~gwrep.data.base.FactorData` at the model's image shape.
        test_images: (N, C, H, W) float images in [0, 1] (array or tensor) for ``reconstruction_error``.
        settings: :data:`STUDY_DEFAULT`-shaped dict (``metrics``, ``unsupervised``, ``downstream``).
        seed: seed of every draw.
    """
    start = time.perf_counter()
    scores, _ = score_groups(model, factor_data, test_images, settings, seed)
    scores["score_seconds"] = time.perf_counter() - start
    return scores


def score_groups(model: Any, factor_data: Any, test_images: Any, settings: Mapping[str, Any],
                 seed: int) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """:func:`score_run`'s scores (without ``score_seconds``) and the seconds of each part,
    ``{part: {"wall_s": ..., "cpu_s": ...}}`` (cpu: this process's CPU time, what a shared machine hides)."""
    from gwrep.baselines.vae import eval_mode

    _check_settings(settings)
    test_images = _as_images(test_images, "test_images")
    timer = _Timer()
    scores: dict[str, float] = {}
    with eval_mode(model):
        full, data = _posterior_codes(model, factor_data)
        width = model.config.latent_dim

        def represent(x: np.ndarray) -> np.ndarray:  # the mean representation the six metrics take
            return full(x)[:, :width]

        scores.update(_metric_scores(represent, data, settings["metrics"], seed, timer))
        scores.update(_pool_scores(model, full, data, settings["unsupervised"], settings["downstream"], seed, timer))
        with timer("reconstruction"):
            scores["reconstruction_error"] = reconstruction_error(model, test_images, seed)
    return scores, timer.seconds


def _posterior_codes(model: Any, data: Any) -> tuple[Any, Any]:
    """(represent, data): ``represent`` maps ``data``'s observations to [mean | logvar] (n, 2d), or the mean
    (n, d) for a model without a variance, through one :class:`~gwrep.eval.metrics.utils.CodeCache` when
    ``data`` is an indexed factor set (its observations are then tuple indices: each rendered and encoded
    once for the six metrics and the pool)."""
    from gwrep.data import IndexedFactorData
    from gwrep.eval.metrics.utils import CodeCache

    width = model.config.latent_dim

    def represent(x: np.ndarray) -> np.ndarray:
        mean, logvar, _ = encode_arrays(model, x)
        if mean.shape[1] != width:
            raise ValueError(f"{type(model).__name__} encodes {mean.shape[1]} means but its latent_dim is {width}")
        return mean if logvar is None else np.hstack([mean, logvar])

    if not isinstance(data, IndexedFactorData):
        return represent, data
    cache = CodeCache(represent, data)
    return cache.represent, cache.data


def _metric_scores(represent: Any, data: Any, settings: Mapping[str, Any], seed: int,
                   timer: "_Timer") -> dict[str, float]:
    """The six metrics' headline numbers (``gwrep eval``'s summary names) on the mean representation."""
    from gwrep.eval.catalog import FACTOR_METRICS, summarize, warnings_summarized

    results: dict[str, dict[str, Any]] = {}
    for name, options in settings.items():
        module_name, function = FACTOR_METRICS[name]
        compute = getattr(importlib.import_module(f"gwrep.eval.metrics.{module_name}"), function)
        with timer(name), warnings_summarized(name):
            result = compute(represent, data, seed=seed, **options)
        results[name] = result[0] if isinstance(result, tuple) else result  # dci: (scores, importance matrix)
    return summarize(results)


def _pool_scores(model: Any, full: Any, data: Any, unsupervised: Mapping[str, Any], downstream: Mapping[str, Any],
                 seed: int, timer: "_Timer") -> dict[str, float]:
    """Unsupervised scores (mean and sampled) and the downstream task on one draw of [mean | logvar] codes
    (``full``): train pool then test set from ``seed``'s stream, the tuples SAP and modularity draw."""
    import torch

    from gwrep.eval.catalog import warnings_summarized
    from gwrep.eval.metrics.utils import sample_train_test
    from gwrep.eval.unsupervised import unsupervised_scores
    from gwrep.models.losses import reparameterize

    options = dict(downstream)
    sizes = [int(n) for n in options.pop("train_sizes", _downstream.TRAIN_SIZES)]
    num_test = int(options.pop("num_test", 5000))
    num_unsup = int(unsupervised.get("num_train", 10000))
    num_bins = int(unsupervised.get("num_bins", 20))
    with timer("pool_encode"):
        train, factors_train, test, factors_test = sample_train_test(full, data, max(num_unsup, *sizes), num_test, 16,
                                                                     seed)
    width = model.config.latent_dim
    mean = train[:, :width]
    if train.shape[1] == width:
        warnings.warn(f"{type(model).__name__} has no encoder variance: its _sampled scores are those of the mean "
                      f"representation", stacklevel=3)
        sampled = mean
    else:
        generator = torch.Generator().manual_seed(seed)
        sampled = reparameterize(torch.as_tensor(mean), torch.as_tensor(train[:, width:]), generator).numpy()
    out: dict[str, float] = {}
    for suffix, codes in (("", mean), ("_sampled", sampled)):
        with timer(f"unsupervised{suffix}"):
            result = unsupervised_scores(codes[:num_unsup], num_bins=num_bins)
        out.update({f"{k}{suffix}": float(v) for k, v in result.items() if not k.startswith("settings.")})
    for name in options.pop("classifiers", _downstream.CLASSIFIERS):
        with timer(f"downstream_{name}"), warnings_summarized(f"downstream_{name}"):
            result = _downstream.downstream_task(mean, factors_train, test[:, :width], factors_test,
                                                 train_sizes=sizes, classifiers=(name,), seed=seed, **options)
        out.update({k: float(v) for k, v in result.items() if not k.startswith("settings.")})
    return out


def reconstruction_error(model: Any, images: Any, seed: int = 0) -> float:
    """Mean per-image reconstruction loss of ``images`` (N, C, H, W): the model's own loss term,
    :func:`gwrep.models.losses.reconstruction_loss` of its ``reconstruction_kind`` (Bernoulli: summed
    binary cross-entropy), decoded from z ~ q(z|x) as in training (eps seeded; the mean without a variance)."""
    from gwrep.models.losses import reconstruction_loss

    x_all = _as_images(images, "test_images")
    total = 0.0
    for x, _, _, z in _encoded_batches(model, x_all, seed):
        total += float(reconstruction_loss(x, model.decode_logits(z), model.config.reconstruction_kind).sum())
    return total / x_all.shape[0]


def udr_codes(model: Any, inputs: Any) -> dict[str, np.ndarray]:
    """The encoder means and log-variances of ``inputs`` (N, C, H, W): ``{"means": (N, d), "logvars": (N, d)}``
    (float32; ``logvars`` absent for a model without a variance), for :func:`gwrep.eval.udr.udr_scores`."""
    from gwrep.baselines.vae import eval_mode

    with eval_mode(model):
        mean, logvar, _ = encode_arrays(model, inputs)
    out = {"means": mean.astype(np.float32)}
    if logvar is not None:
        out["logvars"] = logvar.astype(np.float32)
    return out


def udr_inputs(factor_data: Any, num: int = 1000, seed: int = 0) -> np.ndarray:
    """``num`` observations (num, C, H, W) drawn with ``seed``: the same inputs for every run of a cell."""
    return np.asarray(factor_data.sample_observations(num, np.random.default_rng(seed)), dtype=np.float32)


def sample_images(dataset: Any, num: int, seed: int = 0) -> np.ndarray:
    """``num`` images (num, C, H, W) of a torch ``Dataset`` of (image, target) items at seeded random indices
    (a split's rows are sorted, so its first items are not a sample of it)."""
    idx = np.sort(np.random.default_rng(seed).choice(len(dataset), size=min(num, len(dataset)), replace=False))
    return np.stack([np.asarray(dataset[int(i)][0], dtype=np.float32) for i in idx])


def encode_arrays(model: Any, images: Any, seed: int | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Means (N, d), log-variances (N, d) or None, and posterior samples (N, d) of ``images`` (float64).

    The samples are z = mu + sigma * eps (eps from a generator seeded with ``seed``; 0 when None);
    without a variance they are the means.
    """
    means, logvars, samples = [], [], []
    for _, mean, logvar, z in _encoded_batches(model, _as_images(images, "images"), 0 if seed is None else seed):
        means.append(mean.double().cpu().numpy())
        samples.append(z.double().cpu().numpy())
        if logvar is not None:
            logvars.append(logvar.double().cpu().numpy())
    return np.concatenate(means), (np.concatenate(logvars) if logvars else None), np.concatenate(samples)


def _encoded_batches(model: Any, images: Any, seed: int) -> Iterator[tuple[Any, Any, Any, Any]]:
    """(x, mean, logvar or None, z ~ q(z|x)) per pass of :func:`~gwrep.eval.metrics.utils.model_representation`'s
    batch size, under ``torch.inference_mode``."""
    import torch

    from gwrep.eval.metrics.utils import CPU_PIXELS_PER_PASS, DEVICE_BATCH_SIZE
    from gwrep.models.losses import reparameterize

    device = model.device
    step = max(1, CPU_PIXELS_PER_PASS // (images.shape[-1] * images.shape[-2])) if device.type == "cpu" \
        else DEVICE_BATCH_SIZE
    generator = torch.Generator(device=device).manual_seed(seed)
    with torch.inference_mode():
        for i in range(0, images.shape[0], step):
            x = torch.as_tensor(images[i:i + step]).to(device)
            mean, logvar = model.encode(x)
            yield x, mean, logvar, (mean if logvar is None else reparameterize(mean, logvar, generator))


class _Timer:
    """Wall and CPU seconds of named parts: ``with timer("mig"): ...``; :attr:`seconds` collects them."""

    def __init__(self) -> None:
        self.seconds: dict[str, dict[str, float]] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.seconds[name] = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def _as_images(images: Any, name: str) -> Any:
    """``images`` as a float32 (N, C, H, W) tensor with N >= 1, else ValueError naming the problem."""
    import torch

    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N >= 1, C, H, W), got {tuple(x.shape)}")
    if not torch.is_floating_point(x):
        raise ValueError(f"{name} must be float images in [0, 1], got dtype {x.dtype}")
    return x.float()


def _check_settings(settings: Mapping[str, Any]) -> None:
    """ValueError naming an unknown or missing group, metric or metric option."""
    from gwrep.eval.catalog import FACTOR_METRICS

    unknown = sorted(set(settings) - set(SETTINGS_KEYS))
    missing = [k for k in ("metrics", "unsupervised", "downstream") if k not in settings]
    if unknown or missing:
        raise ValueError(f"score settings: unknown keys {unknown}, missing {missing}; keys: {list(SETTINGS_KEYS)}")
    metrics = settings["metrics"]
    if sorted(metrics) != sorted(FACTOR_METRICS):
        raise ValueError(f"score settings: 'metrics' must name each of {sorted(FACTOR_METRICS)}, got {sorted(metrics)}")
    for name, options in metrics.items():
        module_name, function = FACTOR_METRICS[name]
        compute = getattr(importlib.import_module(f"gwrep.eval.metrics.{module_name}"), function)
        allowed = [p for p in inspect.signature(compute).parameters if p not in ("represent", "data", "seed")]
        bad = sorted(set(options) - set(allowed))
        if bad:
            raise ValueError(f"score settings: {name} has no option(s) {bad}; options: {allowed}")
    bad = sorted(set(settings["unsupervised"]) - {"num_train", "num_bins"})
    if bad:
        raise ValueError(f"score settings: unsupervised has no option(s) {bad}; options: ['num_bins', 'num_train']")
    allowed = [p for p in inspect.signature(_downstream.downstream_task).parameters 
               if not p.startswith(("codes_", "factors_")) and p != "seed"]
    bad = sorted(set(settings["downstream"]) - set(allowed) - {"num_test"})
    if bad:
        raise ValueError(f"score settings: downstream has no option(s) {bad}; options: {allowed + ['num_test']}")


