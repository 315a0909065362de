"""``gwrep ood RUN_DIR [RUN_DIR ...] --in mnist --out omniglot``: OoD detection with each
run's own ``ood_score``.

For each run: score the in-distribution test split and an OoD set of as many images
(a seeded random subset, as the GWAE authors), compute AUROC, AUPR-in/out and FPR at
95% TPR (:func:`gwrep.eval.ood.ood_metrics`), and write ``RUN/ood.json`` (numbers and
protocol), ``RUN/ood_scores.npz`` (the raw scores) and ``RUN/figures/ood_roc.png``.
Several runs also give one ROC figure and one table (printed; JSON and markdown in ``--out``).

Protocols (DESIGN.md): ``gwae`` = the authors' set-up (64x64, 3 channels, Omniglot not
inverted: dark strokes on white); ``clean`` = 28x28 gray with Omniglot inverted to
MNIST's polarity (bright strokes on black). The default is the one matching the model's
input shape; the image size and channels must match the model (error otherwise).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

HELP = "score in- and out-of-distribution data with runs' OoD scores; AUROC and ROC curves"

#: Data options of each protocol.
PROTOCOLS: dict[str, dict[str, Any]] = {
    "gwae": {"image_size": 64, "channels": 3, "polarity": "original"},
    "clean": {"image_size": 28, "channels": 1, "polarity": "mnist"},
}
#: Data sets whose options include ``polarity``.
POLARITY_DATA = ("omniglot",)
#: Split of the OoD set when ``--out-split`` is not given (Omniglot: its evaluation alphabets).
DEFAULT_OUT_SPLIT = {"omniglot": "evaluation"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folder(s) written by gwrep train")
    parser.add_argument("--in", dest="data_in", default=None,
                        help="in-distribution data set (default: each run's training data)")
    parser.add_argument("--out", dest="data_out", default="omniglot", help="OoD data set (default: omniglot)")
    parser.add_argument("--in-split", default="test", help="split of the in-distribution set (default: test)")
    parser.add_argument("--out-split", default=None,
                        help="split of the OoD set (default: 'evaluation' for omniglot, else 'test')")
    parser.add_argument("--data-root", default=None, help="folder of the real data sets (default: the run's)")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default=None,
                        help="gwae: 64x64x3, Omniglot as shipped; clean: 28x28x1, polarity matched "
                             "(default: the one matching the model's input shape)")
    parser.add_argument("--polarity", choices=["original", "mnist"], default=None,
                        help="override the protocol's Omniglot polarity")
    parser.add_argument("--num", type=int, default=None,
                        help="number of OoD images (default: as many as in-distribution images)")
    parser.add_argument("--num-in", type=int, default=None,
                        help="use only this many in-distribution images (default: the whole split)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random subsets (default 0)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda... (default auto)")
    parser.add_argument("--out-dir", "--output", dest="output", default=None,
                        help="folder for the combined ROC figure, table.md and table.json")


def _protocol_for(model, name: str | None, polarity: str | None) -> dict[str, Any]:
    """The protocol's data options, checked against the model's (C, H, W)."""
    shape = tuple(model.config.image_shape)
    if name is None:
        matches = [k for k, p in PROTOCOLS.items() if (p["channels"], p["image_size"], p["image_size"]) == shape]
        if not matches:
            raise ValueError(f"no OoD protocol matches the model's input shape {shape}; protocols: "
                             + ", ".join(f"{k} = ({p['channels']}, {p['image_size']}, {p['image_size']})"
                                         for k, p in PROTOCOLS.items()))
        name = matches[0]
    options = {"name": name, **PROTOCOLS[name]}
    if polarity is not None:
        options["polarity"] = polarity
    expected = (options["channels"], options["image_size"], options["image_size"])
    if expected != shape:
        raise ValueError(f"protocol {name!r} gives images of shape (C, H, W) = {expected} but the model "
                         f"takes {shape}; choose the matching --protocol")
    return options


def _subset(dataset, num: int | None, seed: int):
    """A seeded random subset of ``num`` images, in index order (all when ``num`` is None or larger)."""
    import numpy as np
    import torch

    total = len(dataset)
    if num is None or num >= total:
        return dataset, total
    index = np.sort(np.random.default_rng(seed).choice(total, size=num, replace=False))
    return torch.utils.data.Subset(dataset, index.tolist()), num


def _load(name: str, split: str, root: str | None, protocol: dict[str, Any], seed: int):
    from gwrep import data

    options = {"image_size": protocol["image_size"], "channels": protocol["channels"]}
    if name in POLARITY_DATA:
        options["polarity"] = protocol["polarity"]
    return data.load(name, root=root, split=split, seed=seed, **options), options


def evaluate_run(run, args: argparse.Namespace) -> dict[str, Any]:
    """Score one run and write its ood.json, ood_scores.npz and ROC figure; returns the result."""
    import numpy as np

    from gwrep.commands._runs import write_json
    from gwrep.eval.ood import ood_metrics, ood_roc_curve, score_dataset
    from gwrep.eval.plots import plot_roc_curves
    from gwrep.train.config import resolve_device

    model = run.model
    protocol = _protocol_for(model, args.protocol, args.polarity)
    root = args.data_root if args.data_root is not None else run.config.data_root
    name_in = args.data_in or run.config.data
    out_split = args.out_split or DEFAULT_OUT_SPLIT.get(args.data_out, "test")
    ds_in, options_in = _load(name_in, args.in_split, root, protocol, args.seed)
    ds_out, options_out = _load(args.data_out, out_split, root, protocol, args.seed)
    ds_in, num_in = _subset(ds_in, args.num_in, args.seed)
    num_out_requested = args.num if args.num is not None else num_in
    ds_out, num_out = _subset(ds_out, num_out_requested, args.seed + 1)
    if num_out < num_out_requested:
        print(f"note: {args.data_out} {out_split} has only {num_out} images (< {num_out_requested} requested); using all")

    device = resolve_device(args.device)
    scores_in = score_dataset(model, ds_in, batch_size=args.batch_size, device=device)
    scores_out = score_dataset(model, ds_out, batch_size=args.batch_size, device=device)
    metrics = ood_metrics(scores_in, scores_out)
    fpr, tpr = ood_roc_curve(scores_in, scores_out)
    figure = plot_roc_curves({f"{run.config.model}": (fpr, tpr, metrics["auroc"])}, run.dir / "figures" / "ood_roc.png",
                             title=f"OoD: {name_in} (in) vs {args.data_out} (out)")
    np.savez(run.dir / "ood_scores.npz", scores_in=scores_in, scores_out=scores_out)
    result = {
        "run": str(run.dir),
        "model": run.config.model,
        "seed": run.config.seed,
        "score": f"{type(model).__name__}.ood_score (higher = more anomalous)",
        "protocol": {**protocol, "num_in": num_in, "num_out": num_out, "subset_seed": args.seed,
                     "in": {"data": name_in, "split": args.in_split, "options": options_in},
                     "out": {"data": args.data_out, "split": out_split, "options": options_out}},
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
    from gwrep.commands._runs import markdown_table, open_runs, run_label, write_json
    from gwrep.eval.plots import plot_roc_curves

    for flag, value in (("--num", args.num), ("--num-in", args.num_in), ("--batch-size", args.batch_size)):
        if value is not None and value <= 0:
            raise ValueError(f"{flag} must be a positive number of images, got {value}")
    runs = open_runs(args.runs)
    results = [evaluate_run(r, args) for r in runs]
    header = ["run", "AUROC", "AUPR-in", "AUPR-out", "FPR@95%TPR", "n_in", "n_out", "protocol"]
    rows, table = [], {}
    for r, res in zip(runs, results):
        label = run_label(r, runs)
        m, p = res["metrics"], res["protocol"]
        rows.append([label, f"{m['auroc']:.4f}", f"{m['aupr_in']:.4f}", f"{m['aupr_out']:.4f}",
                     f"{m['fpr_at_95_tpr']:.4f}", p["num_in"], p["num_out"], p["name"]])
        table[label] = {"run": res["run"], "model": res["model"], "seed": res["seed"], **m, "protocol": p}
        print(f"wrote {Path(res['run']) / 'ood.json'} and {Path(res['run']) / res['files']['figure']}")
    text = markdown_table(header, rows)
    print(text)
    if args.output is not None:
        out = Path(args.output)
        curves = {label: (res["curve"]["fpr"], res["curve"]["tpr"], res["metrics"]["auroc"])
                  for label, res in zip(table, results)}
        data_in = {res["protocol"]["in"]["data"] for res in results}
        plot_roc_curves(curves, out / "ood_roc.png",
                        title=f"OoD: {', '.join(sorted(data_in))} (in) vs {args.data_out} (out)")
        (out / "ood_table.md").write_text(text + "\n")
        write_json(out / "ood_table.json", table)
        print(f"wrote {out / 'ood_roc.png'}, {out / 'ood_table.md'} and {out / 'ood_table.json'}")
    elif len(runs) > 1:
        print("note: pass --out-dir DIR for one ROC figure with every run and the table as files")
    return 0
