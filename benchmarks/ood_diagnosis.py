"""Diagnoses behind docs/results.md's OoD section (issue 11): how hard each protocol is, and what GWAE's critic sees.

1. ``--brightness``: AUROC of the mean pixel value alone as an OoD score, MNIST test vs
   Omniglot evaluation, under each protocol (``gwae``: the authors', Omniglot dark on white;
   ``clean``: Omniglot inverted to MNIST's polarity). A score that needs no model at all.
2. ``--critic RUN ...``: for GWAE runs, AUROC of the critic at (G(mu(x)), mu(x)) (the authors'
   score, ``GWAE.ood_score``) and at the input itself, (x, mu(x)).

Writes ``benchmarks/results/ood_diagnosis.json`` and prints a table::

    python benchmarks/ood_diagnosis.py --data-root ../shared/data --brightness
    python benchmarks/ood_diagnosis.py --data-root ../shared/data --critic runs/experiments/ood-mnist-omniglot-small/runs/gwae-*
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"


def _load(name: str, root: str, protocol: str):
    """MNIST's test split or Omniglot's evaluation alphabets: the splits ``gwrep ood`` scores by default."""
    from gwrep import data as gd
    from gwrep.commands.ood import DEFAULT_OUT_SPLIT

    return gd.load(name, root=gd.dataset_root(root, name), split=DEFAULT_OUT_SPLIT.get(name, "test"), protocol=protocol)


def _subset(n_total: int, n: int | None, seed: int) -> np.ndarray:
    return np.arange(n_total) if n is None or n >= n_total else np.random.default_rng(seed).permutation(n_total)[:n]


def brightness_auroc(root: str, protocol: str, n: int = 3000) -> dict:
    """Mean pixel value of n images of each set, and the AUROC of that value (and of its negation) as an OoD score."""
    from gwrep.eval.ood import ood_metrics

    means = {}
    for name in ("mnist", "omniglot"):
        ds = _load(name, root, protocol)
        means[name] = np.array([float(ds[int(i)][0].mean()) for i in _subset(len(ds), n, 0)])
    auroc = ood_metrics(means["mnist"], means["omniglot"])["auroc"]
    return {"protocol": protocol, "n": n, "mean_pixel_mnist": float(means["mnist"].mean()),
            "mean_pixel_omniglot": float(means["omniglot"].mean()), "auroc": auroc, "auroc_negated": 1.0 - auroc}


@torch.no_grad()
def critic_aurocs(run_dir: str, root: str, batch: int = 500) -> dict:
    """AUROC of f(G(mu), mu) and of f(x, mu) for one GWAE run, on its own protocol (whole MNIST test, as many Omniglot)."""
    from gwrep.commands.ood import choose_protocol
    from gwrep.eval.ood import ood_metrics
    from gwrep.train.run import load_run

    run = load_run(run_dir)
    model = run.model.eval()
    protocol = choose_protocol(tuple(model.config.image_shape), "mnist", "omniglot",
                               run.config.data_options.get("protocol"))  # the run's own, checked as gwrep ood does
    scores: dict[str, dict[str, np.ndarray]] = {}
    for name in ("mnist", "omniglot"):
        ds = _load(name, root, protocol)
        rows = _subset(len(ds), 10000, 1)
        decoded, direct = [], []
        for start in range(0, len(rows), batch):
            x = torch.stack([ds[int(i)][0] for i in rows[start:start + batch]])
            decoded.append(model.ood_score(x))  # the shipped score, f(G(mu), mu)
            mu, _ = model.encode(x)
            direct.append(model.critic(x, mu).squeeze(1))
        scores[name] = {"decoded": torch.cat(decoded).numpy(), "input": torch.cat(direct).numpy()}
    return {"run": str(run_dir), "model": run.config.model, "seed": run.config.seed, "protocol": protocol,
            **{f"auroc_{kind}": ood_metrics(scores["mnist"][kind], scores["omniglot"][kind])["auroc"]
               for kind in ("decoded", "input")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=os.environ.get("GWREP_DATA", "../shared/data"))
    parser.add_argument("--brightness", action="store_true", help="the mean-brightness AUROC under both protocols")
    parser.add_argument("--num", type=int, default=3000, help="images per set for --brightness")
    parser.add_argument("--critic", nargs="+", default=[], metavar="RUN", help="GWAE run folders")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS / "ood_diagnosis.json"))
    args = parser.parse_args(argv)
    if not args.brightness and not args.critic:
        parser.error("give --brightness and/or --critic RUN ...")
    torch.set_num_threads(args.threads)
    result: dict = {"brightness": [], "critic": []}
    if args.brightness:
        for protocol in ("clean", "gwae"):
            row = brightness_auroc(args.data_root, protocol, args.num)
            result["brightness"].append(row)
            print(f"{protocol:<6} mean pixel MNIST {row['mean_pixel_mnist']:.3f}, Omniglot {row['mean_pixel_omniglot']:.3f}; "
                  f"AUROC of the mean brightness {row['auroc']:.3f} (negated {row['auroc_negated']:.3f})", flush=True)
    for run_dir in args.critic:
        row = critic_aurocs(run_dir, args.data_root)
        result["critic"].append(row)
        print(f"{Path(run_dir).name:<24} f(G(mu), mu) AUROC {row['auroc_decoded']:.3f}   "
              f"f(x, mu) AUROC {row['auroc_input']:.3f}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
