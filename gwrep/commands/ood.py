"""``gwrep ood RUN_DIR [RUN_DIR ...] --in-data mnist --ood-data omniglot``: OoD detection with each
run's own ``ood_score``.

RUN_DIR is a run folder, or a sweep/experiment folder: every run folder inside it is scored
(:func:`gwrep.commands._runs.expand_run_dirs`). For each run: score the in-distribution test
split and an OoD set of as many images (a seeded random subset, as the GWAE authors), compute
AUROC, AUPR-in/out and FPR at 95% TPR (:func:`gwrep.eval.ood.ood_metrics`), and write
``RUN/ood.json`` (numbers, protocol, and ``weights``: the step of the weights scored and whether the
run was still training, which is warned about), ``RUN/ood_scores.npz`` (the raw scores) and
``RUN/figures/ood_roc.png``. Several runs also give one ROC figure and one table (printed; JSON
and markdown in the ``--out`` folder). An in-distribution set other than the one the run was
trained on (its ``config.json``) is scored, with a one-line warning.

``--out`` is the output folder, as in every other command (``--out-dir`` / ``--output`` are
aliases); the OoD set is ``--ood-data`` (it used to be ``--out``: an ``--out`` that names a data
set, with no ``--ood-data``, is refused with a hint rather than taken as a folder name).

Protocols are those of :data:`gwrep.data.PROTOCOLS` (docs/design.md), passed to the loaders
as ``protocol=``: ``gwae`` = the authors' set-up (64x64, 3 channels, Omniglot not
inverted: dark strokes on white); ``clean`` = 28x28 gray with Omniglot inverted to
MNIST's polarity (bright strokes on black). The default is the protocol whose image
shape for the in-distribution set matches the model's input; the loaded images must
have the model's shape (error otherwise, naming both).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

HELP = "score in- and out-of-distribution data with runs' OoD scores; AUROC and ROC curves"

#: Split of the OoD set when ``--ood-split`` is not given (Omniglot: its evaluation alphabets).
DEFAULT_OUT_SPLIT = {"omniglot": "evaluation"}
#: Split names that load the same images (data set -> alias -> split).
SPLIT_ALIASES = {"omniglot": {"test": "evaluation"}}
#: OoD data set when ``--ood-data`` is not given.
DEFAULT_OOD_DATA = "omniglot"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run folder(s) written by gwrep train, or sweep/experiment folders holding runs")
    parser.add_argument("--in-data", "--in", dest="data_in", default=None,
                        help="in-distribution data set (default: each run's training data)")
    parser.add_argument("--ood-data", dest="data_out", default=None,
                        help=f"OoD data set (default: {DEFAULT_OOD_DATA})")
    parser.add_argument("--in-split", default="test", help="split of the in-distribution set (default: test)")
    parser.add_argument("--ood-split", "--out-split", dest="out_split", default=None,
                        help="split of the OoD set (default: 'evaluation' for omniglot, else 'test')")
    parser.add_argument("--data-root", default=None, metavar="DIR",
                        help="data folder: DIR/<set> when that subfolder exists (DIR/mnist, DIR/omniglot, as the "
                             "shared data folder), else DIR itself")
    parser.add_argument("--in-root", default=None, metavar="PATH",
                        help="folder of the in-distribution set's files (default: DIR/<name> from --data-root, "
                             "else the run's data_root when --in-data is the run's data)")
    parser.add_argument("--ood-root", "--out-root", dest="out_root", default=None, metavar="PATH",
                        help="folder of the OoD set's files (default: DIR/<name> from --data-root)")
    parser.add_argument("--protocol", choices=["gwae", "clean"], default=None,
                        help="gwae: 64x64x3, Omniglot as shipped; clean: 28x28x1, polarity matched "
                             "(default: the one matching the model's input shape)")
    parser.add_argument("--polarity", choices=["original", "mnist"], default=None,
                        help="Omniglot polarity, overriding the protocol's (only when a set is omniglot)")
    parser.add_argument("--num", type=int, default=None,
                        help="number of OoD images (default: as many as in-distribution images)")
    parser.add_argument("--num-in", type=int, default=None,
                        help="use only this many in-distribution images (default: the whole split)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random subsets (default 0)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda... (default auto)")
    parser.add_argument("--score-option", action="append", metavar="KEY=VALUE", default=None,
                        help="change a model option for this scoring only, e.g. ood_score_kind=neg_elbo (the VAE "
                             "family's negative ELBO instead of -log p(mu)); recorded in ood.json (repeatable)")
    parser.add_argument("--out", "--out-dir", "--output", dest="output", default=None, metavar="DIR",
                        help="output folder for the combined ROC figure (ood_roc.png), ood_table.md and "
                             "ood_table.json (the OoD data set is --ood-data)")


def check_flags(args: argparse.Namespace) -> None:
    """Fill in the OoD set's default; refuse an ``--out`` that names a data set (the old meaning of
    ``--out``) when ``--ood-data`` is not given, and non-positive counts."""
    from gwrep.data import dataset_names

    if args.data_out is None:
        if args.output is not None and args.output in dataset_names() and not Path(args.output).exists():
            raise ValueError(f"--out is the output folder, not the OoD data set: for the OoD set write --ood-data "
                             f"{args.output} (for a folder of that name, --out ./{args.output})")
        args.data_out = DEFAULT_OOD_DATA
    for flag, value in (("--num", args.num), ("--num-in", args.num_in), ("--batch-size", args.batch_size)):
        if value is not None and value <= 0:
            raise ValueError(f"{flag} must be a positive number of images, got {value}")


def _shape(options: dict[str, Any]) -> tuple[int, int, int] | None:
    """(C, H, W) that a protocol's options for one set fix, or None when they leave it to the set."""
    if "image_size" in options and "channels" in options:
        return (options["channels"], options["image_size"], options["image_size"])
    return None


def choose_protocol(model_shape: tuple[int, ...], name_in: str, name_out: str, protocol: str | None) -> str:
    """The protocol to use: ``protocol`` checked against ``model_shape``, or the one matching it."""
    from gwrep.data import PROTOCOLS

    model_shape = tuple(model_shape)
    names = (name_in, name_out)

    def shapes(p: str) -> list[tuple[int, int, int] | None]:
        return [_shape(PROTOCOLS[p].get(name, {})) for name in names]

    fitting = [p for p in PROTOCOLS if shapes(p)[0] == model_shape and all(s in (None, model_shape) for s in shapes(p))]
    given = ("; ".join(f"{p} gives " + ", ".join(f"{n} {s}" for n, s in zip(names, shapes(p)) if s is not None)
                       for p in PROTOCOLS if any(shapes(p))))
    hint = (f"--protocol {' or '.join(fitting)} fits" if fitting else
            f"no protocol fits ({given}): score a model trained on images of one of those shapes")
    if protocol is None:
        if not fitting:
            raise ValueError(f"no OoD protocol matches the model's input shape (C, H, W) = {model_shape} for "
                             f"{name_in!r} vs {name_out!r}; {hint}")
        return fitting[0]
    for name, shape in zip(names, shapes(protocol)):
        if shape is not None and shape != model_shape:
            raise ValueError(f"protocol {protocol!r} gives {name} images of shape (C, H, W) = {shape} but the "
                             f"model takes {model_shape}; {hint}")
    return protocol


def _same_split(name: str, a: str, b: str) -> bool:
    """Whether splits ``a`` and ``b`` of data set ``name`` are the same images.

    >>> _same_split("omniglot", "test", "evaluation"), _same_split("omniglot", "val", "evaluation")
    (True, False)
    """
    aliases = SPLIT_ALIASES.get(name, {})
    return aliases.get(a, a) == aliases.get(b, b)


def _subset(dataset, num: int | None, seed: int):
    """A seeded random subset of ``num`` images, in index order (all when ``num`` is None or larger)."""
    import numpy as np
    import torch

    total = len(dataset)
    if num is None or num >= total:
        return dataset, total
    index = np.sort(np.random.default_rng(seed).choice(total, size=num, replace=False))
    return torch.utils.data.Subset(dataset, index.tolist()), num


def _root(explicit: str | None, parent: str | None, name: str, run_root: str | None) -> str | None:
    """The files folder of set ``name``: ``explicit``, else from ``--data-root``, else the run's."""
    from gwrep.data import dataset_root

    if explicit is not None:
        return explicit
    return dataset_root(parent, name) if parent is not None else run_root


def _load(name: str, split: str, root: str | None, options: dict[str, Any], model_shape: tuple[int, ...]):
    from gwrep import data

    dataset = data.load(name, root=root, split=split, **options)
    if tuple(dataset.image_shape) != tuple(model_shape):
        raise ValueError(f"{name} ({split}) images have shape {tuple(dataset.image_shape)} under options {options} "
                         f"but the model takes {tuple(model_shape)}")
    return dataset


def with_score_options(model: Any, items: list[str] | None) -> dict[str, Any]:
    """Apply ``--score-option KEY=VALUE`` to ``model.config`` (typed and validated like any model option).

    Only this scoring sees the change (the run folder's model is not rewritten); returns the
    options as parsed, for ood.json. A key that is not an option of the model is one error line.
    """
    from gwrep.commands.train import parse_assignments

    changes = parse_assignments(items, "--score-option")
    if not changes:
        return {}
    known = {f.name for f in dataclasses.fields(model.config)}
    unknown = sorted(set(changes) - known)
    if unknown:
        ood_keys = sorted(k for k in known if k.startswith("ood_")) or sorted(known)
        raise ValueError(f"--score-option: {type(model).__name__} has no option(s) {unknown}; its OoD-score "
                         f"options: {ood_keys}")
    model.config = model.config.replace(**changes)
    return {k: getattr(model.config, k) for k in changes}


def evaluate_run(run, args: argparse.Namespace) -> dict[str, Any]:
    """Score one run and write its ood.json, ood_scores.npz and ROC figure; returns the result."""
    import numpy as np

    from gwrep.commands._runs import run_label, run_path, scored_weights, write_json
    from gwrep.data import PROTOCOLS
    from gwrep.eval.ood import ood_metrics, ood_roc_curve, score_dataset
    from gwrep.eval.plots import plot_roc_curves
    from gwrep.integrity import refuse_links_out
    from gwrep.train.config import resolve_device

    refuse_links_out(run.dir, "run folder")  # ood_scores.npz and the figure are written by name inside it
    model = run.model
    weights = scored_weights(run, model, "ood.json")
    score_options = with_score_options(model, args.score_option)
    shape = tuple(model.config.image_shape)
    name_in = args.data_in or run.config.data
    name_out = args.data_out or DEFAULT_OOD_DATA
    if name_in != run.config.data:
        print(f"warning: {run.dir} was trained on {run.config.data!r} (its config.json), not on the "
              f"in-distribution set {name_in!r}: the scores measure how unlike {run.config.data} both sets are",
              file=sys.stderr)
    protocol = choose_protocol(shape, name_in, name_out, args.protocol)
    root_in = _root(args.in_root, args.data_root, name_in, run.config.data_root if name_in == run.config.data else None)
    root_out = _root(args.out_root, args.data_root, name_out, None)
    out_split = args.out_split or DEFAULT_OUT_SPLIT.get(name_out, "test")
    if name_in == name_out and _same_split(name_in, args.in_split, out_split):
        raise ValueError(f"the in-distribution and OoD sets are the same images ({name_in} {out_split}); give another "
                         f"--ood-data set (or different --in-split/--ood-split)")
    options_in = {"protocol": protocol}
    if name_in == run.config.data and "seed" in run.config.data_options:
        options_in["seed"] = run.config.data_options["seed"]  # the run's own split of its data
    options_out = {"protocol": protocol}
    for name, options in ((name_in, options_in), (name_out, options_out)):
        if args.polarity is not None and name == "omniglot":
            options["polarity"] = args.polarity
    ds_in = _load(name_in, args.in_split, root_in, options_in, shape)
    ds_out = _load(name_out, out_split, root_out, options_out, shape)
    polarity = args.polarity or PROTOCOLS[protocol].get("omniglot", {}).get("polarity")
    ds_in, num_in = _subset(ds_in, args.num_in, args.seed)
    num_out_requested = args.num if args.num is not None else num_in
    ds_out, num_out = _subset(ds_out, num_out_requested, args.seed + 1)
    if num_out < num_out_requested:
        print(f"note: {name_out} {out_split} has only {num_out} images (< {num_out_requested} requested); using all")

    device = resolve_device(args.device)
    scores_in = score_dataset(model, ds_in, batch_size=args.batch_size, device=device)
    scores_out = score_dataset(model, ds_out, batch_size=args.batch_size, device=device)
    metrics = ood_metrics(scores_in, scores_out)
    fpr, tpr = ood_roc_curve(scores_in, scores_out)
    figure = plot_roc_curves({run_label(run): (fpr, tpr, metrics["auroc"])}, run.dir / "figures" / "ood_roc.png",
                             title=f"OoD: {name_in} (in) vs {name_out} (out), {protocol} protocol")
    np.savez(run.dir / "ood_scores.npz", scores_in=scores_in, scores_out=scores_out)
    result = {
        "run": run_path(run),
        "model": run.config.model,
        "seed": run.config.seed,
        "weights": weights,
        "score": f"{type(model).__name__}.ood_score (higher = more anomalous)",
        "score_options": score_options,
        "trained_on": run.config.data,
        "protocol": {"name": protocol, "image_size": shape[1], "channels": shape[0],
                     "polarity": polarity if "omniglot" in (name_in, name_out) else None,
                     "num_in": num_in, "num_out": num_out, "subset_seed": args.seed,
                     "in": {"data": name_in, "split": args.in_split, "options": options_in},
                     "out": {"data": name_out, "split": out_split, "options": options_out}},
        "metrics": metrics,
        "summary": {f"ood_{k}": v for k, v in metrics.items()},
        "definitions": {"auroc": "OoD positive", "aupr_out": "OoD positive", "aupr_in": "in-distribution positive, "
                        "negated scores", "fpr_at_95_tpr": "fraction of OoD accepted when 95% of in-distribution is "
                        "accepted (score <= threshold)"},
        "files": {"figure": str(figure.relative_to(run.dir)), "scores": "ood_scores.npz"},
        "curve": {"fpr": fpr, "tpr": tpr},
    }
    write_json(run.dir / "ood.json", {k: v for k, v in result.items() if k != "curve"})
    return result


def run(args: argparse.Namespace) -> int:
    from gwrep.commands._runs import expand_run_dirs, markdown_table, open_runs, run_label, write_json
    from gwrep.config import output_folder
    from gwrep.eval.plots import plot_roc_curves

    check_flags(args)
    if args.output is not None:
        output_folder(args.output)  # an unusable --out fails before any run is scored
    runs = open_runs(expand_run_dirs(args.runs))
    results = [evaluate_run(r, args) for r in runs]
    header = ["run", "AUROC", "AUPR-in", "AUPR-out", "FPR@95%TPR", "n_in", "n_out", "protocol"]
    rows, table = [], {}
    for r, res in zip(runs, results):
        label = run_label(r, runs)
        m, p = res["metrics"], res["protocol"]
        rows.append([label, f"{m['auroc']:.4f}", f"{m['aupr_in']:.4f}", f"{m['aupr_out']:.4f}",
                     f"{m['fpr_at_95_tpr']:.4f}", p["num_in"], p["num_out"], p["name"]])
        table[label] = {"run": res["run"], "model": res["model"], "seed": res["seed"], "weights": res["weights"], **m,
                        "protocol": p}
        print(f"wrote {Path(res['run']) / 'ood.json'} and {Path(res['run']) / res['files']['figure']}")
    text = markdown_table(header, rows)
    print(text)
    if args.output is not None:
        out = Path(args.output)
        curves = {label: (res["curve"]["fpr"], res["curve"]["tpr"], res["metrics"]["auroc"])
                  for label, res in zip(table, results)}
        data_in = sorted({res["protocol"]["in"]["data"] for res in results})
        protocols = sorted({res["protocol"]["name"] for res in results})
        plot_roc_curves(curves, out / "ood_roc.png", title=f"OoD: {', '.join(data_in)} (in) vs {args.data_out} (out), "
                                                          f"{'/'.join(protocols)} protocol")
        (out / "ood_table.md").write_text(text + "\n")
        write_json(out / "ood_table.json", table)
        print(f"wrote {out / 'ood_roc.png'}, {out / 'ood_table.md'} and {out / 'ood_table.json'}")
    elif len(runs) > 1:
        print("note: pass --out DIR for one ROC figure with every run and the table as files")
    return 0
