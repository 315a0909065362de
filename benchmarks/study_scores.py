"""Cost of every per-run score of the study (issue 22: all scores of a run at 28x28 in <= 30 s on one thread).

Times :func:`gwrep.study.scores.score_run`'s parts (:func:`~gwrep.study.scores.score_groups`)
with a preset (default ``STUDY_DEFAULT``) on a freshly initialised registered model (default
``beta-vae``: disentanglement_lib's conv nets, 10 latents; untrained weights cost what trained
ones do) for 28x28 images of each data set (default shapes2d and shapes3d), one thread.
FactorVAE runs with ``prune_threshold=0``: an untrained encoder's codes vary by less than
dlib's 0.05, which would prune every dimension and skip the votes a trained model's score costs.

``--dlib`` also times disentanglement_lib's downstream classifiers on the same codes for one
factor (``--dlib-factor``, default 0) at 10,000 train / 5,000 test points beside the study's:
``LogisticRegressionCV(Cs=10, cv=KFold(5))`` and ``GradientBoostingClassifier()`` (100 rounds,
depth 3), in CPU seconds and test accuracy; the boosting, which grows one tree per class per round, is extrapolated to every
factor by class count (marked estimated), the logistic regression by factor count.
Writes JSON to ``benchmarks/results/study_scores[_fast].json`` (or ``--out``) and prints a table.

    python benchmarks/study_scores.py                 # STUDY_DEFAULT, shapes2d and shapes3d
    python benchmarks/study_scores.py --dlib          # plus dlib's downstream classifiers
    python benchmarks/study_scores.py --preset fast   # the smoke preset
"""
from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def time_dataset(name: str, model_name: str, latent_dim: int, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """Seconds of each score group of one score_run on data set ``name`` at 28x28, and its scores."""
    import torch

    from gwrep import data as gd
    from gwrep.models.base import build_model
    from gwrep.study.scores import sample_images, score_groups

    test = gd.load(name, split="test", image_size=28)
    torch.manual_seed(seed)
    model = build_model(model_name, image_shape=tuple(test.image_shape), latent_dim=latent_dim)
    images = sample_images(test, settings["reconstruction_num"], seed)
    wall, cpu = time.perf_counter(), time.process_time()
    scores, seconds = score_groups(model, test.factor_data, images, settings, seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"dataset": name, "image_shape": list(test.image_shape), "factor_sizes": list(test.factor_data.factor_sizes),
            "seconds": seconds, "total_s": wall, "cpu_s": cpu, "load_average_1min": os.getloadavg()[0],
            "scores": scores}


def time_dlib_classifiers(name: str, model_name: str, latent_dim: int, settings: dict[str, Any], factor: int,
                          seed: int) -> dict[str, Any]:
    """dlib's downstream classifiers against the study's on one factor of the codes at 10,000 / 5,000 points."""
    import torch

    from gwrep import data as gd
    from gwrep.eval.downstream import make_classifier
    from gwrep.models.base import build_model
    from gwrep.study.scores import encode_arrays

    test = gd.load(name, split="test", image_size=28)
    torch.manual_seed(seed)
    model = build_model(model_name, image_shape=tuple(test.image_shape), latent_dim=latent_dim).eval()
    factors, images = test.factor_data.sample(15000, np.random.default_rng(seed))
    codes = encode_arrays(model, images)[0]
    study = {k: v for k, v in settings["downstream"].items() if k not in ("train_sizes", "num_test")}
    sizes = np.asarray(test.factor_data.factor_sizes)
    rows = []
    for label, clf, options in (("logreg", "logreg", {}), ("gbt", "gbt", {}),
                                ("logreg", "logreg", study), ("gbt", "gbt", study)):
        kind = "study" if options else "dlib"
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = make_classifier(clf, seed=seed, **options).fit(codes[:10000], factors[:10000, factor])
            accuracy = float(np.mean(fitted.predict(codes[10000:]) == factors[10000:, factor]))
        one = time.process_time() - start
        scale = sizes.sum() / sizes[factor] if clf == "gbt" else len(sizes)
        rows.append({"dataset": name, "classifier": label, "settings": kind, "factor": factor,
                     "classes": int(sizes[factor]), "cpu_seconds_one_factor": one, "accuracy_one_factor": accuracy,
                     "cpu_seconds_all_factors_estimated": one * scale})
    return {"rows": rows}


def print_table(results: list[dict[str, Any]]) -> None:
    """One row per part: wall and CPU seconds on each data set."""
    groups = list(dict.fromkeys(k for r in results for k in r["seconds"]))
    print(f"{'part':<24}" + "".join(f"{r['dataset'] + ' wall':>16}{'cpu':>8}" for r in results))
    nan = {"wall_s": float("nan"), "cpu_s": float("nan")}
    for g in groups:
        print(f"{g:<24}" + "".join(f"{r['seconds'].get(g, nan)['wall_s']:>16.2f}{r['seconds'].get(g, nan)['cpu_s']:>8.2f}"
                                   for r in results))
    print(f"{'total (score_run)':<24}" + "".join(f"{r['total_s']:>16.2f}{r['cpu_s']:>8.2f}" for r in results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["shapes2d", "shapes3d"])
    parser.add_argument("--model", default="beta-vae")
    parser.add_argument("--latent-dim", type=int, default=10)
    parser.add_argument("--preset", choices=["default", "fast"], default="default")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dlib", action="store_true", help="also time dlib's downstream classifiers")
    parser.add_argument("--dlib-factor", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import torch

    from gwrep.experiments import merge
    from gwrep.study.scores import STUDY_DEFAULT, STUDY_FAST

    torch.set_num_threads(args.threads)
    settings = merge(STUDY_FAST if args.preset == "fast" else STUDY_DEFAULT,
                     {"metrics": {"factor_vae_score": {"prune_threshold": 0.0}}})
    load_before = os.getloadavg()[0]
    print(f"load average before: {load_before:.1f} on {os.cpu_count()} cores; {args.threads} thread(s); "
          f"model {args.model} z={args.latent_dim}, untrained; preset {args.preset}")
    results = [time_dataset(name, args.model, args.latent_dim, settings, args.seed) for name in args.datasets]
    print_table(results)
    dlib = []
    if args.dlib:
        for name in args.datasets:
            dlib += time_dlib_classifiers(name, args.model, args.latent_dim, settings, args.dlib_factor, args.seed)["rows"]
        print(f"\n{'data':<10}{'classifier':<12}{'settings':<10}{'classes':>8}{'cpu s (1 factor)':>18}"
              f"{'acc':>8}{'cpu s (all, est.)':>19}")
        for r in dlib:
            print(f"{r['dataset']:<10}{r['classifier']:<12}{r['settings']:<10}{r['classes']:>8}"
                  f"{r['cpu_seconds_one_factor']:>18.2f}{r['accuracy_one_factor']:>8.3f}"
                  f"{r['cpu_seconds_all_factors_estimated']:>19.1f}")
    from gwrep.train.sweep import machine_info

    out = Path(args.out) if args.out else RESULTS / f"study_scores{'_fast' if args.preset == 'fast' else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"settings": settings, "threads": args.threads, "model": args.model,
                               "latent_dim": args.latent_dim, "load_average_1min": load_before,
                               "machine": machine_info("cpu"), "results": results, "dlib_classifiers": dlib},
                              indent=1, default=str) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
