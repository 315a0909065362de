"""Early-training stability of GWAE's default options (issue 12): aborts over seeds.

Trains ``gwae`` with its default options (only the prior changes) from scratch for
``--steps`` steps on procedural 3D Shapes, for every seed x image size x prior, and
counts the runs that stop on a NaN/inf (the trainer's :class:`NonFiniteLossError`).
For the runs that finish it reports the final losses (mean of the last 5 steps) and
the largest encoder log-variance and code magnitude seen, the quantities that run away
before an abort (see ``docs/design.md``, "log-variance bound").

Each run is a function of its seed alone: ``torch.manual_seed(seed)`` before the model
is built and a batch sampler seeded with it. ``--option KEY=VALUE`` passes model options
(``--option logvar_bound=none`` is the authors' unbounded encoder), so the fix and the
authors' behaviour run side by side. Writes JSON to ``benchmarks/results/`` and prints
a table.

    python benchmarks/stability.py                                    # 20 seeds x {28, 64} x {np, fnp, gmp}
    python benchmarks/stability.py --option logvar_bound=none --tag authors
    python benchmarks/stability.py --seeds 3 --steps 8 --sizes 28      # a smoke run
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"
TERMS = ("loss", "w", "gw", "d", "h")


def parse_option(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with VALUE read as JSON when it parses (numbers, true/false/null), ``none`` as None."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--option takes KEY=VALUE, got {text!r}")
    if value.lower() == "none":
        return key, None
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def run_one(seed: int, size: int, prior: str, steps: int, batch: int, options: dict, data) -> dict:
    """Train one model for ``steps`` steps; the outcome, final losses and the largest log-variance seen."""
    from gwrep.models import build_model
    from gwrep.models.base import NonFiniteLossError

    torch.manual_seed(seed)
    model = build_model("gwae", image_shape=(3, size, size), latent_dim=10, prior=prior, **options)
    gen = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    max_logvar = max_abs_z = -math.inf
    started = time.perf_counter()
    for step in range(steps):
        idx = torch.randint(len(data), (batch,), generator=gen)
        x = torch.stack([data[int(i)][0] for i in idx])
        try:
            logs = model.training_step(x)
        except NonFiniteLossError as err:
            return {"seed": seed, "aborted": True, "abort_step": step, "message": str(err).splitlines()[0],
                    "max_logvar": max_logvar, "max_abs_z": max_abs_z, "seconds": time.perf_counter() - started}
        history.append(logs)
        with torch.no_grad():
            mean, logvar = model.encode(x)
        max_logvar = max(max_logvar, float(logvar.max()))
        max_abs_z = max(max_abs_z, float((mean.abs() + 3 * torch.exp(0.5 * logvar)).max()))
    last = history[-5:]
    final = {k: statistics.fmean(h[k] for h in last) for k in TERMS}
    return {"seed": seed, "aborted": False, "final": final, "max_logvar": max_logvar, "max_abs_z": max_abs_z,
            "seconds": time.perf_counter() - started}


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if not r["aborted"]]
    out = {"runs": len(runs), "aborts": len(runs) - len(ok),
           "abort_steps": [r["abort_step"] for r in runs if r["aborted"]],
           "median_max_logvar": statistics.median(r["max_logvar"] for r in runs if math.isfinite(r["max_logvar"]))
           if any(math.isfinite(r["max_logvar"]) for r in runs) else None}
    for k in TERMS:
        out[f"median_final_{k}"] = statistics.median(r["final"][k] for r in ok) if ok else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0 .. N-1")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=16, help="16: where the authors' set-up failed most")
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64], choices=[28, 64])
    parser.add_argument("--priors", nargs="+", default=["np", "fnp", "gmp"])
    parser.add_argument("--option", type=parse_option, action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tag", default="default", help="names the JSON file: stability-TAG.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import gwrep.data as gd

    options = dict(args.option)
    cells: list[dict] = []
    result = {"benchmark": "stability", "tag": args.tag, "options": options, "seeds": args.seeds,
              "steps": args.steps, "batch": args.batch, "threads": args.threads, "torch": torch.__version__,
              "platform": platform.platform(), "cells": cells}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"stability-{args.tag}.json"
    started = time.perf_counter()
    for size in args.sizes:
        data = gd.load("shapes3d", split="train", image_size=size)
        for prior in args.priors:
            runs = [run_one(seed, size, prior, args.steps, args.batch, options, data) for seed in range(args.seeds)]
            cell = {"size": size, "prior": prior, **summarise(runs), "per_seed": runs}
            cells.append(cell)
            result["minutes"] = (time.perf_counter() - started) / 60
            out.write_text(json.dumps(result, indent=2) + "\n")  # after every cell: a long run keeps what it did
            print(_row(cell), flush=True)
    print(f"\n{_HEAD}")
    for cell in cells:
        print(_row(cell))
    print(f"wrote {out}")
    return 0


_HEAD = (f"{'size':>4} {'prior':>5} {'aborts':>8} {'loss':>9} {'w':>9} {'gw':>8} {'d':>8} {'h':>8} "
         f"{'max logvar':>11}")


def _fmt(value: float | None, width: int) -> str:
    return f"{value:>{width}.2f}" if value is not None else f"{'-':>{width}}"


def _row(c: dict) -> str:
    return (f"{c['size']:>4} {c['prior']:>5} {c['aborts']:>4}/{c['runs']:<3} {_fmt(c['median_final_loss'], 9)}"
            f" {_fmt(c['median_final_w'], 9)} {_fmt(c['median_final_gw'], 8)} {_fmt(c['median_final_d'], 8)}"
            f" {_fmt(c['median_final_h'], 8)} {_fmt(c['median_max_logvar'], 11)}")


if __name__ == "__main__":
    sys.exit(main())
