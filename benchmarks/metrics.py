"""Cost of the six disentanglement metrics on one model at disentanglement_lib's sample sizes (issue 7).

Times MIG, SAP, DCI, modularity/explicitness, BetaVAE and FactorVAE the way ``gwrep eval``
runs them, on a real model's encoder: an untrained registered model (default ``beta-vae``,
disentanglement_lib's conv encoder, 10 latents; untrained weights cost what trained ones
do) built with :func:`gwrep.models.base.build_model` for the 64x64 images of ``shapes2d``
(the procedural dSprites of :mod:`gwrep.data`), its mean code through
:func:`gwrep.eval.metrics.model_representation` (eval mode, ``torch.inference_mode``,
passes of 64 64x64 images), and one :class:`gwrep.eval.metrics.utils.CodeCache` shared by
the six (each factor tuple rendered and encoded once; ``--no-code-cache`` encodes every
draw, as dlib does). Each row gives wall and process CPU seconds (the CPU time is what a
machine shared with other jobs would take alone) and splits the wall time into rendering
observations, the representation (the encoder) and the rest (the metric itself), with
the images encoded and the factor tuples drawn. FactorVAE runs with ``prune_threshold=0``:
an untrained encoder's codes vary by less than dlib's 0.05, which would prune every
dimension and skip the votes that a trained model's score costs. A second table times the six on a fixed
random linear projection of the same images: the metric cost alone (``--model none``
for only that one). The total of the six on the model is checked against the goal,
<= 60 s on this CPU, when the sizes are dlib's (``--scale 1``, no ``--fast``).

At dlib's sizes the six draw ~2.95 million tuples (BetaVAE 1.92M: 15000 votes x 64 pairs x
2; FactorVAE 0.97M); a conv encoder encodes a few thousand 64x64 images per second on one
CPU core, so the representation is the cost. ``--scale F`` multiplies every sample size
(points, votes, variance points; never a vote's batch of 64; at least 20) by F for a short
run, and estimates the full-size rendering and encoding time from the measured images/s
and the images dlib's sizes need (an estimate: the metric cost does not scale linearly,
so time it at full size with ``--model none``, which is cheap). ``--variants N`` measures
the encoder's throughput on N images for passes of 64 and 256, ``no_grad`` against
``inference_mode``, channels-last memory format, and 1 and 2 threads.

DCI with dlib's gradient-boosted trees grows one tree per class per boosting round (113
classes x 100 rounds on shapes2d): it is timed on the first ``--gbt-factors`` factors of
the projection and extrapolated to all factors by class count ("dci[gbt]" row, marked
estimated); the six-metric totals use the fast random-forest option. ``--agreement``
also measures how far the random-forest DCI is from the gradient-boosting DCI on
representations from perfect to useless (the numbers quoted in :mod:`gwrep.eval.metrics.dci`).
Writes JSON to ``benchmarks/results/metrics[_fast][_dummy][_scaled].json`` (or ``--out``).

    python benchmarks/metrics.py                  # dlib sizes, beta-vae encoder, shapes2d
    python benchmarks/metrics.py --scale 0.01     # a 1% run, extrapolated
    python benchmarks/metrics.py --fast           # each metric's FAST settings
    python benchmarks/metrics.py --variants 1024  # plus encoder throughput variants
    python benchmarks/metrics.py --agreement      # plus the DCI forest-vs-boosting table
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_SECONDS = 60.0
#: The metrics' sample-size arguments (points, votes, variance points), the ones ``--scale`` multiplies.
SIZE_ARGS = ("num_train", "num_test", "num_eval", "num_variance_estimate")
#: Fewest points or votes a scaled size keeps (the classifiers need every class a few times).
MIN_SIZE = 20
SCORE_KEYS = ("discrete_mig", "SAP_score", "disentanglement", "completeness", "informativeness_test",
              "modularity_score", "explicitness_score_test", "eval_accuracy", "num_active_dims")
#: name -> (module of gwrep.eval.metrics, function, fixed options)
METRICS = {
    "mig": ("mig", "compute_mig", {}),
    "sap": ("sap", "compute_sap", {}),
    "dci[random_forest]": ("dci", "compute_dci", {"importance": "random_forest"}),
    "modularity": ("modularity", "compute_modularity_explicitness", {}),
    "beta_vae": ("beta_vae", "beta_vae_score", {}),
    # prune_threshold 0: an untrained encoder's codes vary by less than dlib's 0.05, so every dimension would be
    # pruned and the votes (the metric's cost) skipped; a trained model keeps its active dimensions
    "factor_vae": ("factor_vae", "factor_vae_score", {"prune_threshold": 0.0}),
}
HEADER = (f"{'metric':<22} {'total s':>8} {'cpu s':>8} {'render':>8} {'repr.':>8} {'metric':>8} {'images':>9} "
          f"{'draws':>9}  scores")


class Timed:
    """A representation and a FactorData view that add up the seconds spent in each."""

    def __init__(self, data: Any, represent: Callable[[np.ndarray], np.ndarray]):
        from gwrep.data.base import FactorData

        self._represent = represent
        self.render_s = self.represent_s = 0.0
        self.images = 0
        timer = self

        class TimedData(FactorData):
            factor_names, factor_sizes = data.factor_names, data.factor_sizes
            observation_shape = data.observation_shape

            def sample_factors(self, n, rng):
                return data.sample_factors(n, rng)

            def sample_observations_from_factors(self, factors, rng):
                start = time.perf_counter()
                out = data.sample_observations_from_factors(factors, rng)
                timer.render_s += time.perf_counter() - start
                timer.images += len(factors)
                return out

        self.data = TimedData()

    def represent(self, x: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        out = self._represent(x)
        self.represent_s += time.perf_counter() - start
        return out


def random_projection(shape: tuple[int, int, int], num_codes: int = 10, seed: int = 0):
    """Codes = flattened image @ W, W fixed Gaussian / sqrt(pixels) (float32)."""
    pixels = int(np.prod(shape))
    w = (np.random.default_rng(seed).normal(size=(pixels, num_codes)) / np.sqrt(pixels)).astype(np.float32)
    return lambda x: x.reshape(x.shape[0], -1) @ w


def metric_sizes(function: Callable[..., dict], fast: dict[str, Any] | None, scale: float) -> dict[str, int]:
    """The sample sizes (:data:`SIZE_ARGS`) of a metric: dlib's defaults or ``fast``, times ``scale``.

    >>> from gwrep.eval.metrics.beta_vae import beta_vae_score
    >>> metric_sizes(beta_vae_score, None, 0.01)
    {'num_train': 100, 'num_eval': 50}
    """
    sizes = {name: p.default for name, p in inspect.signature(function).parameters.items() if name in SIZE_ARGS}
    sizes.update({k: v for k, v in (fast or {}).items() if k in sizes})
    return {k: v if scale == 1 else max(MIN_SIZE, int(round(v * scale))) for k, v in sizes.items()}


@contextlib.contextmanager
def _quiet():
    """Silence the classifiers' repeated convergence warnings (gwrep eval counts them instead)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def run_metric(name: str, fn: Callable[..., dict], data: Any, represent, cache: Any = None,
               **kwargs: Any) -> dict[str, Any]:
    """Time one metric; with ``cache`` (a CodeCache whose pair ``data``/``represent`` are), split its work out."""
    timed = Timed(data, represent)
    before = (cache.render_s, cache.misses) if cache is not None else (0.0, 0)
    start, cpu_start = time.perf_counter(), time.process_time()
    with _quiet():
        out = fn(timed.represent, timed.data, **kwargs)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    render, represent_s, images = timed.render_s, timed.represent_s, timed.images
    if cache is not None:  # rendering happens inside the cache's represent, for the tuples it has not seen
        inner = cache.render_s - before[0]
        render, represent_s, images = render + inner, represent_s - inner, cache.misses - before[1]
    row = {"metric": name, "seconds": total, "cpu_s": cpu, "render_s": render, "represent_s": represent_s,
           "metric_s": total - render - represent_s, "images": images, "draws": timed.images,
           "sizes": {k: v for k, v in kwargs.items() if k in SIZE_ARGS}, "result": out}
    print_row(row)
    return row


def print_row(row: dict[str, Any]) -> None:
    out = row.get("result", {})
    scores = ", ".join(f"{k}={out[k]:.3f}" if isinstance(out[k], float) else f"{k}={out[k]}"
                       for k in SCORE_KEYS if k in out)
    print(f"{row['metric']:<22} {row['seconds']:8.1f} {row['cpu_s']:8.1f} {row['render_s']:8.1f} "
          f"{row['represent_s']:8.1f} {row['metric_s']:8.1f} {row['images']:>9} {row['draws']:>9}  {scores}",
          flush=True)


def total_row(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    keys = ("seconds", "cpu_s", "render_s", "represent_s", "metric_s", "images", "draws")
    row = {"metric": label, **{k: sum(r[k] for r in rows) for k in keys}}
    print_row(row)
    return row


def build_encoder(name: str, shape: tuple[int, int, int], latent_dim: int, seed: int, channels_last: bool):
    """An untrained registered model for ``shape`` images in eval mode (weights seeded by ``seed``)."""
    import torch

    from gwrep.models.base import build_model

    torch.manual_seed(seed)
    model = build_model(name, image_shape=tuple(shape), latent_dim=latent_dim).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def time_six(data: Any, represent, metrics: list[tuple[str, Callable, dict]], use_cache: bool,
             label: str) -> tuple[list[dict[str, Any]], dict[str, Any], Any]:
    """The six metrics on ``represent``, through one shared CodeCache when ``use_cache``; rows and total row."""
    from gwrep.eval.metrics.utils import CodeCache

    cache = CodeCache(represent, data) if use_cache else None
    pair = (cache.data, cache.represent) if cache is not None else (data, represent)
    print(f"\n{label}\n{HEADER}")
    rows = [run_metric(name, fn, pair[0], pair[1], cache, seed=0, **kwargs) for name, fn, kwargs in metrics]
    return rows, total_row(rows, "total (six)"), cache


def encoder_variants(model: Any, data: Any, num_images: int, thread_counts: tuple[int, ...] = (1, 2)
                     ) -> list[dict[str, Any]]:
    """Images/s of ``model.represent`` on ``num_images`` rendered images for each pass size, grad mode,
    memory format and thread count (the images are rendered once, outside the timing)."""
    import torch

    x = torch.as_tensor(data.sample_observations(num_images, np.random.default_rng(0)))
    saved_threads = torch.get_num_threads()
    rows = []
    print(f"\nencoder throughput on {num_images} images {tuple(x.shape[1:])} (images/s)")
    print(f"{'threads':>7} {'pass':>5} {'mode':<15} {'format':<14} {'images/s':>9}")
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for batch in (64, 256):
            for mode, ctx in (("no_grad", torch.no_grad), ("inference_mode", torch.inference_mode)):
                for fmt in (torch.contiguous_format, torch.channels_last):
                    model.to(memory_format=fmt)
                    with ctx():
                        model.represent(x[:batch].contiguous(memory_format=fmt))  # warm-up
                        start = time.perf_counter()
                        for i in range(0, num_images, batch):
                            model.represent(x[i:i + batch].contiguous(memory_format=fmt))
                        rate = num_images / (time.perf_counter() - start)
                    name = "channels_last" if fmt == torch.channels_last else "contiguous"
                    rows.append({"threads": threads, "batch": batch, "mode": mode, "format": name, "images_s": rate})
                    print(f"{threads:>7} {batch:>5} {mode:<15} {name:<14} {rate:9.0f}", flush=True)
    model.to(memory_format=torch.contiguous_format)
    torch.set_num_threads(saved_threads)
    return rows


def estimate_gbt(data: Any, represent, num_factors: int, fast: bool) -> dict[str, Any]:
    """Gradient-boosting DCI importance on the first factors at full size, extrapolated by class count."""
    from gwrep.eval.metrics.dci import FAST, importance_matrix
    from gwrep.eval.metrics.utils import sample_train_test

    num_train, num_test = (FAST["num_train"], FAST["num_test"]) if fast else (10000, 5000)
    splits = sample_train_test(represent, data, num_train, num_test, 16, 0)
    sub = [s if i % 2 == 0 else s[:, :num_factors] for i, s in enumerate(splits)]
    start = time.perf_counter()
    importance_matrix(*sub, importance="gbt", seed=0)
    measured = time.perf_counter() - start
    sizes = np.asarray(data.factor_sizes)
    per_class = measured / sizes[:num_factors].sum()
    estimate = per_class * sizes.sum()
    print(f"{'dci[gbt] (estimated)':<22} {estimate:8.1f}   (measured {measured:.1f} s on factors "
          f"{list(data.factor_names[:num_factors])}, {sizes[:num_factors].sum()} of {sizes.sum()} classes)")
    return {"metric": "dci[gbt]", "estimated_seconds": estimate, "measured_seconds": measured,
            "measured_factors": list(data.factor_names[:num_factors]), "num_train": num_train, "num_test": num_test}


def agreement(seed: int = 0, num_train: int = 2000, num_test: int = 1000) -> list[dict[str, Any]]:
    """DCI scores with gradient boosting and with the random forest on codes from good to useless."""
    from gwrep.eval.metrics.dci import dci

    sizes = np.array([3, 6, 10, 8, 8])
    rng = np.random.default_rng(seed)
    n = num_train + num_test
    f = rng.integers(0, sizes, size=(n, sizes.size))
    z = (f - (sizes - 1) / 2) / sizes  # centred, similar scales
    rot = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    reps = {
        "identity": z,
        "identity+noise0.1": z + 0.1 * rng.normal(size=z.shape),
        "mix0.3": z @ (np.eye(5) + 0.3 * rng.normal(size=(5, 5))),
        "mix1.0+noise0.1": z @ (np.eye(5) + rng.normal(size=(5, 5))) + 0.1 * rng.normal(size=z.shape),
        "rotation": z @ rot,
        "half-noise": np.hstack([z[:, :3], rng.normal(size=(n, 2))]),
        "noise": rng.normal(size=z.shape),
    }
    rows = []
    print(f"\nDCI agreement, {num_train}/{num_test} points, factor sizes {sizes.tolist()}")
    print(f"{'codes':<18} {'D gbt':>7} {'D rf':>7} {'C gbt':>7} {'C rf':>7} {'I gbt':>7} {'I rf':>7}"
          f" {'s gbt':>6} {'s rf':>6}")
    for name, codes in reps.items():
        res = {}
        for method in ("gbt", "random_forest"):
            start = time.perf_counter()
            res[method] = dci(codes[:num_train], f[:num_train], codes[num_train:], f[num_train:], method, seed=seed)
            res[method]["seconds"] = time.perf_counter() - start
        g, r = res["gbt"], res["random_forest"]
        print(f"{name:<18} {g['disentanglement']:7.3f} {r['disentanglement']:7.3f} {g['completeness']:7.3f} "
              f"{r['completeness']:7.3f} {g['informativeness_test']:7.3f} {r['informativeness_test']:7.3f}"
              f" {g['seconds']:6.1f} {r['seconds']:6.1f}", flush=True)
        rows.append({"codes": name, **{f"{m}.{k}": v for m in res for k, v in res[m].items()
                                       if not k.startswith("settings")}})
    for key in ("disentanglement", "completeness", "informativeness_test"):
        diffs = [abs(row[f"gbt.{key}"] - row[f"random_forest.{key}"]) for row in rows]
        print(f"max |rf - gbt| {key}: {max(diffs):.3f} (mean {np.mean(diffs):.3f})")
    return rows


def full_size_images(data: Any, metrics: list[tuple[str, Callable, dict]], use_cache: bool) -> int:
    """Images the six render and encode at dlib's sizes: the factor tuples drawn, or with the cache the
    expected number of distinct ones among them, N (1 - exp(-draws / N)) on a grid of N tuples."""
    draws = 0
    for name, fn, _ in metrics:
        sizes = metric_sizes(fn, None, 1.0)
        group = inspect.signature(fn).parameters.get("batch_size").default
        if name == "beta_vae":
            draws += (sizes["num_train"] + sizes["num_eval"]) * group * 2
        elif name == "factor_vae":
            draws += sizes["num_variance_estimate"] + (sizes["num_train"] + sizes["num_eval"]) * group
        else:
            draws += sum(sizes.values())
    if not use_cache:
        return draws
    states = float(np.prod(data.factor_sizes))
    return int(round(states * -np.expm1(-draws / states)))


def goal_verdict(total: dict[str, Any], full_size: bool, full_images: int) -> dict[str, Any]:
    """Whether the six on the model meet :data:`GOAL_SECONDS`; for other sizes, the full-size encoder estimate."""
    if full_size:
        met = total["seconds"] <= GOAL_SECONDS
        print(f"goal <= {GOAL_SECONDS:.0f} s for the six on the model at dlib's sizes: "
              f"{'met' if met else 'NOT met'} ({total['seconds']:.1f} s)")
        return {"goal_seconds": GOAL_SECONDS, "goal_met": met}
    per_image = (total["render_s"] + total["represent_s"]) / max(total["images"], 1)
    estimate = per_image * full_images
    print(f"goal <= {GOAL_SECONDS:.0f} s applies to dlib's sizes (--scale 1, no --fast): not checked. Estimate at "
          f"dlib's sizes: rendering + encoding {full_images:,} images at {1 / per_image:.0f} images/s = "
          f"~{estimate:.0f} s, plus the metric cost (--scale 1 --model none times it)")
    return {"goal_seconds": GOAL_SECONDS, "goal_met": None, "full_size_images": full_images,
            "estimated_full_size_encoding_seconds": estimate}


def _warm_imports() -> None:
    """Import the classifiers' modules up front, so the first timed metric does not pay for them."""
    for name in ("sklearn.svm", "sklearn.linear_model", "sklearn.ensemble", "sklearn.metrics"):
        importlib.import_module(name)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="shapes2d", choices=["shapes2d", "dummy"])
    parser.add_argument("--model", default="beta-vae",
                        help="registered model whose untrained encoder is timed (default beta-vae: dlib's conv "
                             "encoder); 'none': only the projection (metric cost alone)")
    parser.add_argument("--latent-dim", type=int, default=10, help="latent size of the model (default 10)")
    parser.add_argument("--fast", action="store_true", help="each metric's FAST settings instead of dlib's")
    parser.add_argument("--scale", type=float, default=1.0,
                        help=f"multiply every sample size by this (>= {MIN_SIZE} kept; default 1: dlib's sizes)")
    parser.add_argument("--no-code-cache", action="store_true",
                        help="render and encode every draw (default: each factor tuple once, as gwrep eval)")
    parser.add_argument("--no-projection", action="store_true", help="skip the projection (metric cost) table")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per encoder pass (default: model_representation's choice, 64 64x64 on a CPU)")
    parser.add_argument("--channels-last", action="store_true", help="the model in channels-last memory format")
    parser.add_argument("--variants", type=int, default=0, metavar="N",
                        help="also measure encoder throughput variants on N images (0: skip)")
    parser.add_argument("--gbt-factors", type=int, default=2, help="factors timed for the gbt DCI estimate (0: skip)")
    parser.add_argument("--agreement", action="store_true", help="also compare random-forest and gbt DCI")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/metrics[...].json)")
    args = parser.parse_args(argv)
    if not args.scale > 0:
        parser.error(f"--scale must be positive, got {args.scale}")
    if args.data == "dummy" and args.model != "none":
        parser.error("--data dummy has (K, 1, 1) observations, not images for an encoder: add --model none")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from gwrep.data import DummyFactorData, load_factor_data
    from gwrep.eval.metrics import model_representation

    data = load_factor_data("shapes2d") if args.data == "shapes2d" else DummyFactorData()
    _warm_imports()
    metrics = []
    for name, (module_name, function, fixed) in METRICS.items():
        module = importlib.import_module(f"gwrep.eval.metrics.{module_name}")
        fn = getattr(module, function)
        fast = {k: v for k, v in module.FAST.items() if k != "importance"} if args.fast else None
        metrics.append((name, fn, {**fixed, **metric_sizes(fn, fast, args.scale)}))
    full_size = args.scale == 1 and not args.fast
    print(f"data {args.data} {data.observation_shape}, factors {dict(zip(data.factor_names, data.factor_sizes))}, "
          f"{'FAST' if args.fast else 'dlib default'} sample sizes x {args.scale:g}, {args.threads} thread(s), "
          f"code cache {'off' if args.no_code_cache else 'on'}")
    load_before = os.getloadavg()[0]
    print(f"load average before: {load_before:.1f} on {os.cpu_count()} cores (cpu s: this process's CPU time)")
    result: dict[str, Any] = {"data": args.data, "model": args.model, "latent_dim": args.latent_dim,
                              "fast": args.fast, "scale": args.scale, "threads": args.threads,
                              "code_cache": not args.no_code_cache, "batch_size": args.batch_size,
                              "channels_last": args.channels_last, "machine": platform.platform(),
                              "processor": platform.processor(), "load_average_1min": load_before,
                              "sizes": {name: {k: v for k, v in kw.items() if k in SIZE_ARGS}
                                        for name, _, kw in metrics}}
    model = None
    if args.model != "none":
        model = build_encoder(args.model, data.observation_shape, args.latent_dim, 0, args.channels_last)
        represent = model_representation(model, batch_size=args.batch_size)
        label = (f"the six on an untrained {args.model} encoder ({args.latent_dim} latents, "
                 f"{sum(p.numel() for p in model.parameters()):,} parameters)")
        rows, total, cache = time_six(data, represent, metrics, not args.no_code_cache, label)
        result.update(rows=rows, total=total, total_seconds=total["seconds"], total_cpu_seconds=total["cpu_s"],
                      **goal_verdict(total, full_size, full_size_images(data, metrics, not args.no_code_cache)))
        if cache is not None:
            result["cache"] = {"hits": cache.hits, "misses": cache.misses}
            print(f"code cache: {cache.misses:,} tuples encoded for {cache.hits + cache.misses:,} drawn")
    projection = random_projection(data.observation_shape)
    if not args.no_projection:
        rows, total, _ = time_six(data, projection, metrics, not args.no_code_cache,
                                  "metric cost alone: the six on a fixed random linear projection (10 codes)")
        result.update(projection_rows=rows, projection_total=total)
    if args.variants > 0 and model is not None:
        result["encoder_variants"] = encoder_variants(model, data, args.variants)
    if args.gbt_factors > 0:
        result["gbt_estimate"] = estimate_gbt(data, projection, args.gbt_factors, args.fast)
    if args.agreement:
        result["agreement"] = agreement()
    if args.out is not None:
        path = Path(args.out)
    else:
        suffix = ("_fast" if args.fast else "") + ("" if args.data == "shapes2d" else "_" + args.data) + \
            ("" if args.scale == 1 else "_scaled")
        path = RESULTS / f"metrics{suffix}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=float))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
