"""``gwrep eval RUN_DIR|FOLDER ... [--metrics ...] [--fast]``: the metrics that fit each run's data.

A sweep or experiment folder stands for every run folder inside it; runs are evaluated one
after the other with the same settings. A run that cannot be evaluated (corrupt weights, a
missing file) is reported in one line and the others are still scored (exit 1).

On a factor data set (the test split has ``factor_data``): the six disentanglement
metrics of :mod:`gwrep.eval.metrics` with disentanglement_lib's defaults (``--fast``:
each metric's ``FAST`` settings) and the DCI importance heatmap. On every image data
set: PSNR of reconstructions on the test split, and FID of prior samples and of
reconstructions when the FID extractor is available (else they are reported as
skipped, with the reason). Results are merged into ``RUN/eval.json``: the full metric
dicts (with their settings), a flat ``summary`` of headline numbers that ``gwrep
compare`` reads, what was skipped and why, notes needed to read a number right (the
SAP mode, PSNR capped for exact reconstructions), and the settings of this evaluation
(with ``sap_mode``). ``weights`` records what was scored: the step of the weights (the
run's model: its best-validation or final step), the run's step and status, and whether it
was still training (a warning says so; :func:`gwrep.runs.scored_weights`);
``metric_steps`` gives each stored metric's step, and a note says when they differ.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

from gwrep.eval.catalog import ALL_METRICS, FACTOR_METRICS, HEADLINE, IMAGE_METRICS, summarize  # noqa: F401
from gwrep.eval.catalog import warnings_summarized as _warnings_summarized

HELP = "compute disentanglement / generation metrics of a run and write eval.json"

#: Image counts for PSNR and FID (None = the whole test split), default and --fast.
IMAGE_COUNTS = {"default": {"psnr_num": None, "fid_num": 1000}, "fast": {"psnr_num": 1000, "fid_num": 200}}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="run folder(s) written by gwrep train, or sweep/experiment folders holding them")
    parser.add_argument("--metrics", nargs="+", choices=ALL_METRICS, default=None, metavar="METRIC",
                        help=f"metrics to compute (default: all that fit the data); choose from {', '.join(ALL_METRICS)}")
    parser.add_argument("--fast", action="store_true",
                        help="each metric's FAST settings and fewer PSNR/FID images (in-training quality checks)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every metric's sampling (default 0)")
    parser.add_argument("--data-root", default=None, metavar="DIR",
                        help="data folder: DIR/<set> when that subfolder exists, else DIR (default: the run's data_root)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda... (default auto)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per forward pass (default: 256; for the factor metrics on a CPU, 64 64x64 "
                             "images, which the conv encoders run 2x faster than 256)")
    parser.add_argument("--fid-extractor", default=None, metavar="PATH",
                        help="TorchScript feature extractor for FID (default: Inception-v3 of the 'fid' extra)")
    parser.add_argument("--fid-num", type=int, default=None, help="images per FID set (default 1000; --fast 200)")
    parser.add_argument("--psnr-num", type=int, default=None,
                        help="test images for PSNR (default: the whole test split; --fast 1000)")
    parser.add_argument("--no-code-cache", action="store_true",
                        help="render and encode every factor draw of the factor metrics (default: each factor tuple "
                             "once, shared by the metrics; same scores up to float rounding, ~4x fewer images at "
                             "dlib's sizes on dSprites)")
    parser.add_argument("--option", action="append", default=[], metavar="METRIC.NAME=VALUE",
                        help="set one factor-metric argument, e.g. dci.num_train=2000 or dci.importance=random_forest "
                             "(repeatable; applied after --fast)")


def parse_options(items: list[str]) -> dict[str, dict[str, Any]]:
    """``["dci.num_train=2000", ...]`` -> ``{"dci": {"num_train": 2000}}`` (values parsed as JSON, else text).

    >>> parse_options(["dci.num_train=20", "dci.importance=gbt"])
    {'dci': {'num_train': 20, 'importance': 'gbt'}}
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        metric, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise ValueError(f"--option {item!r}: expected METRIC.NAME=VALUE, e.g. dci.num_train=2000")
        if metric not in FACTOR_METRICS:
            raise ValueError(f"--option {item!r}: unknown metric {metric!r}; choose one of {list(FACTOR_METRICS)}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(metric, {})[name] = value
    return out


def _selected(requested: list[str] | None, has_factors: bool) -> tuple[list[str], dict[str, str]]:
    """Metrics to run and the skipped ones with reasons (explicit requests that cannot fit raise)."""
    if requested is None:
        chosen = list(ALL_METRICS if has_factors else IMAGE_METRICS)
        skipped = {} if has_factors else {m: "the run's data has no ground-truth factors" for m in FACTOR_METRICS}
        return chosen, skipped
    if not has_factors:
        bad = [m for m in requested if m in FACTOR_METRICS]
        if bad:
            raise ValueError(f"metrics {bad} need a factor data set; the run's data has no factor_data")
    return list(dict.fromkeys(requested)), {}


def _representation(model: Any, data: Any, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(represent, data, cache) for the factor metrics: the model's mean code through one
    :class:`~gwrep.eval.metrics.utils.CodeCache` that every metric of the call shares (each factor
    tuple rendered and encoded once), or plain when ``--no-code-cache``, the data has no grid index or its
    observations are random given the factors (nuisances: Color-dSprites, SmallNORB's instance)."""
    from gwrep.data import IndexedFactorData
    from gwrep.eval.metrics.utils import CodeCache, model_representation

    represent = model_representation(model, batch_size=args.batch_size)
    if args.no_code_cache or not isinstance(data, IndexedFactorData) or getattr(data, "random_observations", False):
        return represent, data, None
    cache = CodeCache(represent, data)
    return cache.represent, cache.data, cache


def _factor_metric(name: str, represent: Any, data: Any, args: argparse.Namespace, figures: Path,
                   model_name: str) -> dict[str, Any]:
    module_name, function = FACTOR_METRICS[name]
    module = importlib.import_module(f"gwrep.eval.metrics.{module_name}")
    settings = {**(module.FAST if args.fast else {}), **parse_options(args.option).get(name, {})}
    compute = getattr(module, function)
    allowed = [p for p in inspect.signature(compute).parameters if p not in ("represent", "data", "seed")]
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise ValueError(f"{function} has no option(s) {unknown}; options: {allowed}")
    if name != "dci":
        return compute(represent, data, seed=args.seed, **settings)
    from gwrep.eval.plots import plot_dci_importance

    out, matrix = compute(represent, data, seed=args.seed, **settings)
    names = list(getattr(data, "factor_names", [f"factor {k}" for k in range(matrix.shape[1])]))
    path = plot_dci_importance(matrix, names, figures / "dci_importance.png", title=f"DCI importance: {model_name}")
    out["importance_matrix"] = matrix.tolist()
    print(f"wrote {path}")
    return out


def metric_note(name: str, result: dict[str, Any]) -> str | None:
    """A line that a reader of ``result`` needs to read its number right, or None.

    >>> metric_note("psnr", {"num_capped": 2, "num_images": 10, "settings.psnr_max_db": 100.0})
    '2 of 10 images reconstructed exactly: their PSNR is capped at 100 dB'
    >>> metric_note("sap", {"settings.continuous_factors": False})[:13]
    'discrete mode'
    """
    if name == "sap" and "settings.continuous_factors" in result:
        if result["settings.continuous_factors"]:
            return "continuous mode: squared correlation of each code with each factor"
        return ("discrete mode (dlib's default): accuracy of a linear SVM on each single code; identity codes score "
                "only 0.2-0.5 in this mode (eval/metrics/sap.py), so compare it only with discrete-mode SAP")
    if name == "psnr" and result.get("num_capped"):
        return (f"{result['num_capped']} of {result['num_images']} images reconstructed exactly: their PSNR is "
                f"capped at {result['settings.psnr_max_db']:g} dB")
    return None


def _modes(metrics: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The modes of the stored metrics whose numbers depend on one: ``{"sap_mode": "discrete" | "continuous"}``.

    >>> _modes({"sap": {"settings.continuous_factors": True}}), _modes({})
    ({'sap_mode': 'continuous'}, {})
    """
    if "settings.continuous_factors" not in metrics.get("sap", {}):
        return {}
    return {"sap_mode": "continuous" if metrics["sap"]["settings.continuous_factors"] else "discrete"}


def _cache_settings(cache: Any) -> dict[str, int] | bool:
    """What the code cache of this call's factor metrics did: ``{"hits", "misses"}``, or False when it was off."""
    if cache is None:
        return False
    return {"hits": cache.hits, "misses": cache.misses}


#: Inception features of the real test images, kept for the next run of this process that reads the same
#: images (an experiment evaluates every run of one data set in one process): one real pass instead of one
#: per run, a third of the FID work. Keyed by :func:`_real_features_key`.
_REAL_FEATURES: dict[str, Any] = {}


def _real_features_key(data: str, root: Any, data_options: dict[str, Any], num: int, extractor: Any,
                       device: Any) -> str:
    """What decides the real FID features: the test split's data set, folder and options, the count, the
    extractor file and the device."""
    return json.dumps([data, str(root), data_options, num, str(extractor), str(device)], sort_keys=True, default=str)


def run(args: argparse.Namespace) -> int:
    """Evaluate each run folder named (folders expanded to the runs inside), one after the other."""
    from gwrep.commands._runs import expand_run_dirs

    parse_options(args.option)  # bad options fail before any work
    run_dirs = expand_run_dirs(args.run_dirs)
    failed: list[str] = []
    for number, run_dir in enumerate(run_dirs, 1):
        if len(run_dirs) > 1:
            print(f"[{number}/{len(run_dirs)}] {run_dir}")
        try:
            evaluate_run(run_dir, args)
        except (ValueError, OSError) as err:  # a corrupt or unreadable run: say so, score the others
            if len(run_dirs) == 1:
                raise
            print(f"error: {run_dir} not evaluated: {' '.join(str(err).split())}", file=sys.stderr)
            failed.append(str(run_dir))
    if failed:
        print(f"gwrep eval: {len(failed)} of {len(run_dirs)} runs not evaluated: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def evaluate_run(run_dir: str | Path, args: argparse.Namespace) -> Path:
    """Compute the metrics of one run and merge them into ``RUN/eval.json`` (its path is returned)."""
    from gwrep import data as gdata
    from gwrep.commands._runs import open_runs, run_path, scored_weights, write_json
    from gwrep.config import read_json_file
    from gwrep.integrity import refuse_links_out
    from gwrep.train.config import resolve_device

    (run_,) = open_runs([run_dir])
    refuse_links_out(run_.dir, "run folder")  # eval.json and figures/ are written by name inside it
    cfg = run_.config
    device = resolve_device(args.device)
    model = run_.model.to(device).eval()
    weights = scored_weights(run_, model, "eval.json")
    root = gdata.dataset_root(args.data_root, cfg.data) if args.data_root is not None else cfg.data_root
    test = gdata.load(cfg.data, root=root, split="test", **cfg.data_options)
    shape_data, shape_model = tuple(test.image_shape), tuple(model.config.image_shape)
    if shape_data != shape_model:
        raise ValueError(f"the run's test data has images of shape {shape_data} but the model takes {shape_model}")
    if getattr(model, "takes_clips", False):  # clip models: the judge-classifier evaluation of Li & Mandt 2018
        from gwrep.eval.sequence import evaluate_sequence_run

        return evaluate_sequence_run(run_, model, root, args, weights=weights)
    factor_data = getattr(test, "factor_data", None)
    chosen, skipped = _selected(args.metrics, factor_data is not None)
    counts = dict(IMAGE_COUNTS["fast" if args.fast else "default"])
    image_batch = 256 if args.batch_size is None else args.batch_size  # PSNR and FID passes
    counts.update({k: v for k, v in (("psnr_num", args.psnr_num), ("fid_num", args.fid_num)) if v is not None})

    extractor = None
    fid_wanted = [m for m in chosen if m in ("fid", "recon_fid")]
    if fid_wanted:
        from gwrep.eval.fid import load_extractor

        try:
            extractor = load_extractor(args.fid_extractor, device=device)
            print(f"FID: {counts['fid_num']} test images and as many per mode ({', '.join(fid_wanted)}) through "
                  f"{extractor.path} on {device} (Inception-v3 runs at a few images/s per CPU thread)")
        except FileNotFoundError as err:
            if args.metrics is not None:  # asked for by name: fail loudly
                raise
            for m in fid_wanted:
                skipped[m] = str(err)
                chosen.remove(m)
            print(f"skipping FID: {err}")

    figures = run_.dir / "figures"
    factor_wanted = any(m in FACTOR_METRICS for m in chosen)
    represent, metric_data, cache = _representation(model, factor_data, args) if factor_wanted else (None,) * 3
    model_name = model.registry_name or type(model).__name__
    results: dict[str, dict[str, Any]] = {}
    timing: dict[str, float] = {}
    real_features = None
    notes: dict[str, str] = {}
    for name in chosen:
        start = time.perf_counter()
        if name in FACTOR_METRICS:
            with _warnings_summarized(name):
                results[name] = _factor_metric(name, represent, metric_data, args, figures, model_name)
        elif name == "psnr":
            from gwrep.eval.generation import reconstruction_psnr

            results[name] = reconstruction_psnr(model, test, batch_size=image_batch, limit=counts["psnr_num"])
        else:
            from gwrep.eval.fid import extract_features
            from gwrep.eval.generation import model_fid, real_batches

            if real_features is None:
                key = _real_features_key(cfg.data, root, cfg.data_options, counts["fid_num"], extractor.path, device)
                if key not in _REAL_FEATURES:
                    _REAL_FEATURES.clear()  # one real set at a time: (fid_num, 2048) float32 each
                    _REAL_FEATURES[key] = extract_features(real_batches(test, image_batch, counts["fid_num"]),
                                                           extractor)
                real_features = _REAL_FEATURES[key]
            mode = "samples" if name == "fid" else "reconstructions"
            results[name] = {**model_fid(model, test, extractor, mode=mode, num=counts["fid_num"],
                                         batch_size=image_batch, seed=args.seed, real_features=real_features),
                             "extractor": str(extractor.path)}
        timing[name] = round(time.perf_counter() - start, 3)
        shown = {k: v for k, v in results[name].items() if not k.startswith("settings.") and isinstance(v, float)}
        print(f"{name:<24} " + "  ".join(f"{k}={v:.4f}" for k, v in shown.items()) + f"  ({timing[name]:.1f} s)")
        note = metric_note(name, results[name])
        if note is not None:
            notes[name] = note
            print(f"note: {name}: {note}")

    path = run_.dir / "eval.json"
    previous = read_json_file(path) if path.is_file() else {}
    metrics = {**previous.get("metrics", {}), **results}
    metric_steps = {**{k: v for k, v in previous.get("metric_steps", {}).items() if k in metrics},
                    **{name: weights["step"] for name in results}}
    steps = sorted({s for s in metric_steps.values() if s is not None})
    if len(steps) > 1 or len(metric_steps) < len(metrics):  # merged with scores of other (or unrecorded) weights
        unknown = sorted(set(metrics) - set(metric_steps))
        notes["weights"] = (f"metrics scored on the weights of different steps: {metric_steps}"
                            + (f"; {unknown} of unrecorded steps (an eval.json from before steps were recorded)"
                               if unknown else "") + "; re-run gwrep eval on them for one model")
        print(f"note: weights: {notes['weights']}")
    document = {
        "run": run_path(run_),
        "model": cfg.model,
        "data": cfg.data,
        "data_options": cfg.data_options,
        "seed": cfg.seed,
        "weights": weights,
        "metric_steps": metric_steps,
        "metrics": metrics,
        "summary": summarize(metrics),
        "skipped": {**{k: v for k, v in previous.get("skipped", {}).items() if k not in results}, **skipped},
        "notes": {**{k: v for k, v in previous.get("notes", {}).items() if k not in results and k != "weights"},
                  **notes},
        "settings": {"eval_seed": args.seed, "fast": args.fast, "device": str(device), "batch_size": args.batch_size,
                     **counts, "test_images": len(test), "metric_options": parse_options(args.option),
                     **_modes(metrics), **({"code_cache": _cache_settings(cache)} if factor_wanted else {})},
        "timing_s": {**previous.get("timing_s", {}), **timing},
    }
    if "dci" in metrics:
        document["files"] = {"dci_importance": "figures/dci_importance.png"}
    write_json(path, document)
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    print(f"wrote {path}")
    return path
