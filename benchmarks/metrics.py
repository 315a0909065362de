"""Cost of the six disentanglement metrics at disentanglement_lib's sample sizes (issue 7).

Times MIG, SAP, DCI, modularity/explicitness, BetaVAE and FactorVAE on one
representation: a fixed random linear projection (seeded, 10 codes) of ``shapes2d``
images (64x64, the procedural dSprites of :mod:`gwrep.data`), or of the (3, 1, 1)
observations of ``dummy`` (:class:`gwrep.data.DummyFactorData`) with ``--data dummy``.
Each row gives wall and process CPU seconds (the CPU time is what a machine shared with
other jobs would take alone, single-threaded) and splits the wall time into rendering
observations (the data set), the representation and the rest (the metric itself).
Goal: <= 60 s for the six on this CPU.

DCI with dlib's gradient-boosted trees grows one tree per class per boosting round (113
classes x 100 rounds on shapes2d): it is timed on the first ``--gbt-factors`` factors at
the default sample size and extrapolated to all factors by class count ("dci[gbt]" row,
marked estimated); the six-metric total uses the fast random-forest option.
``--agreement`` also measures how far the random-forest DCI is from the gradient-boosting
DCI on representations from perfect to useless (the numbers quoted in
:mod:`gwrep.eval.metrics.dci`). Writes JSON to ``benchmarks/results/metrics[_fast].json``.

    python benchmarks/metrics.py                  # defaults, shapes2d
    python benchmarks/metrics.py --fast           # each metric's FAST settings
    python benchmarks/metrics.py --agreement      # plus the DCI forest-vs-boosting table
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SCORE_KEYS = ("discrete_mig", "SAP_score", "disentanglement", "completeness", "informativeness_test",
              "modularity_score", "explicitness_score_test", "eval_accuracy", "num_active_dims")


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


def run_metric(name: str, fn: Callable[..., dict], data: Any, represent, **kwargs: Any) -> dict[str, Any]:
    timed = Timed(data, represent)
    start, cpu_start = time.perf_counter(), time.process_time()
    out = fn(timed.represent, timed.data, **kwargs)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    row = {"metric": name, "seconds": total, "cpu_s": cpu, "render_s": timed.render_s, "represent_s": timed.represent_s,
           "metric_s": total - timed.render_s - timed.represent_s, "images": timed.images, "result": out}
    scores = ", ".join(f"{k}={out[k]:.3f}" if isinstance(out[k], float) else f"{k}={out[k]}"
                       for k in SCORE_KEYS if k in out)
    print(f"{name:<22} {total:8.1f} {cpu:8.1f} {timed.render_s:8.1f} {timed.represent_s:8.1f} "
          f"{row['metric_s']:8.1f} {timed.images:>9}  {scores}", flush=True)
    return row


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="shapes2d", choices=["shapes2d", "dummy"])
    parser.add_argument("--fast", action="store_true", help="each metric's FAST settings instead of dlib's")
    parser.add_argument("--gbt-factors", type=int, default=2, help="factors timed for the gbt DCI estimate (0: skip)")
    parser.add_argument("--agreement", action="store_true", help="also compare random-forest and gbt DCI")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from gwrep.data import DummyFactorData, load_factor_data

    # the modules (the package exports functions of the same names: mig, sap, dci)
    mig, sap, dci, modularity, beta_vae, factor_vae = (
        importlib.import_module(f"gwrep.eval.metrics.{m}")
        for m in ("mig", "sap", "dci", "modularity", "beta_vae", "factor_vae"))

    data = load_factor_data("shapes2d") if args.data == "shapes2d" else DummyFactorData()
    represent = random_projection(data.observation_shape)
    metrics = [
        ("mig", mig.compute_mig, mig.FAST),
        ("sap", sap.compute_sap, sap.FAST),
        ("dci[random_forest]", dci.compute_dci, {**dci.FAST, "importance": "random_forest"}),
        ("modularity", modularity.compute_modularity_explicitness, modularity.FAST),
        ("beta_vae", beta_vae.beta_vae_score, beta_vae.FAST),
        ("factor_vae", factor_vae.factor_vae_score, factor_vae.FAST),
    ]
    print(f"data {args.data} {data.observation_shape}, factors {dict(zip(data.factor_names, data.factor_sizes))}, "
          f"{'FAST' if args.fast else 'dlib default'} sample sizes, {args.threads} thread(s)")
    load_before = os.getloadavg()[0]
    print(f"load average before: {load_before:.1f} on {os.cpu_count()} cores (cpu s: this process's CPU time)")
    print(f"{'metric':<22} {'total s':>8} {'cpu s':>8} {'render':>8} {'repr.':>8} {'metric':>8} {'images':>9}  scores")
    rows = []
    for name, fn, fast in metrics:
        kwargs = dict(fast) if args.fast else ({"importance": "random_forest"} if name.startswith("dci") else {})
        rows.append(run_metric(name, fn, data, represent, seed=0, **kwargs))
    total = sum(r["seconds"] for r in rows)
    print(f"{'total (six)':<22} {total:8.1f} {sum(r['cpu_s'] for r in rows):8.1f} {sum(r['render_s'] for r in rows):8.1f} "
          f"{sum(r['represent_s'] for r in rows):8.1f} {sum(r['metric_s'] for r in rows):8.1f}")
    result: dict[str, Any] = {"data": args.data, "fast": args.fast, "threads": args.threads,
                              "machine": platform.platform(), "processor": platform.processor(),
                              "load_average_1min": load_before, "rows": rows, "total_seconds": total,
                              "total_cpu_seconds": sum(r["cpu_s"] for r in rows)}
    if args.gbt_factors > 0:
        result["gbt_estimate"] = estimate_gbt(data, represent, args.gbt_factors, args.fast)
    if args.agreement:
        result["agreement"] = agreement()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"metrics{'_fast' if args.fast else ''}{'' if args.data == 'shapes2d' else '_' + args.data}.json"
    path.write_text(json.dumps(result, indent=2, default=float))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
