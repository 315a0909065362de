"""Why a model's sample FID is far above its reconstruction FID (issue 11, docs/results.md section 3).

Sample FID measures the decoder *and* how well prior samples land where the decoder was
trained (the aggregated posterior); reconstruction FID measures the decoder alone. For each
run this compares, without the Inception net (seconds per run on a CPU):

- **code mismatch**: the mean distance from each of ``--num`` prior-sample codes to its nearest
  test-image mean code, divided by the same nearest-neighbour distance among the test codes
  themselves (leave-one-out). About 1 when prior samples fall among the data's codes; above 1
  when they fall off them (in high dimensions a wide prior over narrow codes reads high too);
- **off-data codes**: the share of prior-sample codes farther from every test code than 99% of
  the test codes are from their nearest neighbour (a subset of samples off the data's codes);
- **saturated pixels**: the share of pixel values below 0.02 or above 0.98 in decoded prior
  samples, in reconstructions and in the real test images (the colour blow-outs of samples
  decoded off the data's codes);
- PSNR of the reconstructions (as ``gwrep eval --metrics psnr`` on the same images).

Writes ``benchmarks/results/generation_diagnosis.json`` (rows keyed by run folder) and prints a table.

    python benchmarks/generation_diagnosis.py RUN [RUN ...] --data-root ../shared/data/celeba/img_align_celeba_89x109
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch

from gwrep import data as gdata
from gwrep.eval.generation import psnr_per_image, real_batches
from gwrep.train.run import load_run

RESULTS = Path(__file__).resolve().parent / "results"
OUT_FILE = RESULTS / "generation_diagnosis.json"
SATURATION = (0.02, 0.98)


def saturated_share(images: torch.Tensor) -> float:
    """Share of pixel values outside ``SATURATION`` (images in [0, 1])."""
    low, high = SATURATION
    return float(((images < low) | (images > high)).float().mean())


def code_mismatch(prior_codes: torch.Tensor, data_codes: torch.Tensor) -> tuple[float, float]:
    """(mean nearest-data-code distance of the prior codes over the data codes' own leave-one-out one,
    share of prior codes farther from every data code than 99% of the data codes are from each other)."""
    to_data = torch.cdist(prior_codes, data_codes).min(dim=1).values
    within = torch.cdist(data_codes, data_codes)
    within.fill_diagonal_(float("inf"))
    own = within.min(dim=1).values
    return float(to_data.mean() / own.mean()), float((to_data > torch.quantile(own, 0.99)).float().mean())


def _batched(fn, x: torch.Tensor, batch: int = 250) -> torch.Tensor:
    """``fn`` over ``x`` in chunks of ``batch`` rows, concatenated."""
    return torch.cat([fn(chunk) for chunk in torch.split(x, batch)])


@torch.no_grad()
def diagnose(run_dir: Path, data_root: str | None, num: int, seed: int) -> dict:
    """The measurements above for one run folder: the test images encoded once, the prior drawn
    once, and the images measured are the decodings of exactly the codes compared."""
    run = load_run(run_dir)
    model = run.model.eval()
    cfg = run.config
    test = gdata.load(cfg.data, root=data_root or cfg.data_root, split="test", **cfg.data_options)
    real = torch.cat(list(real_batches(test, 250, num)))
    data_codes = _batched(model.represent, real)
    prior_codes = model.prior_sample(len(real), generator=torch.Generator(device=model.device).manual_seed(seed)).cpu()
    recon = _batched(lambda z: model.decode(z.to(model.device)).cpu(), data_codes)
    samples = _batched(lambda z: model.decode(z.to(model.device)).cpu(), prior_codes)
    return {
        "run": str(run_dir), "model": model.registry_name or type(model).__name__, "step": run.summary.get("step"),
        "weights_step": run.summary.get("best_step"),  # RUN/model holds the best-validation weights
        "num": len(real), "psnr": float(psnr_per_image(real.numpy(), recon.numpy()).mean()),
        **dict(zip(("code_mismatch", "off_data_codes"), code_mismatch(prior_codes, data_codes.cpu()))),
        "saturated_samples": saturated_share(samples), "saturated_reconstructions": saturated_share(recon),
        "saturated_real": saturated_share(real),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (gwrep train / gwrep experiment)")
    parser.add_argument("--data-root", default=None, help="the runs' data folder (default: as trained)")
    parser.add_argument("--num", type=int, default=1000, help="test images and prior samples per run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the prior samples")
    parser.add_argument("--out", type=Path, default=OUT_FILE, help=f"JSON file to merge the rows into (default {OUT_FILE})")
    args = parser.parse_args(argv)
    rows = [diagnose(run, args.data_root, args.num, args.seed) for run in args.runs]
    old = json.loads(args.out.read_text()) if args.out.is_file() else {"rows": []}
    kept = [r for r in old.get("rows", []) if r["run"] not in {row["run"] for row in rows}]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                                    "rows": kept + rows}, indent=1) + "\n")
    print(f"{'run':<40} {'step':>6} {'weights':>7} {'PSNR':>6} {'code mismatch':>13} {'off-data':>8} {'sat. samples':>12} {'sat. recon':>10} {'sat. real':>9}")
    for r in rows:
        print(f"{r['run'][-40:]:<40} {r['step'] or '-':>6} {r['weights_step'] or '-':>7} {r['psnr']:6.2f} {r['code_mismatch']:13.2f} {r['off_data_codes']:8.3f} "
              f"{r['saturated_samples']:12.3f} {r['saturated_reconstructions']:10.3f} {r['saturated_real']:9.3f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
