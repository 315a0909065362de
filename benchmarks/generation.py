"""Cost and accuracy of the OoD / FID / PSNR evaluation (issue 7).

Measures on this CPU, one thread:

- ``frechet_distance`` on 2048-d statistics (the Inception pool3 size): seconds per call,
  and its agreement with the pytorch-fid formula ``tr(S1 + S2 - 2 sqrtm(S1 S2))``
  (``scipy.linalg.sqrtm``), timed too, on covariances of ``--num`` random
  rank-deficient features (as with small FID sets) and full-rank ones;
- the Inception-v3 extractor of the ``fid`` extra (skipped with the reason when it is not
  installed): images/s for 28x28 gray and 64x64 colour inputs resized to 299, batch 50;
- ``ood_metrics`` on 10,000 + 10,000 scores and ``psnr`` on 10,000 28x28 images.

Writes ``benchmarks/results/generation.json`` and prints a table.

    python benchmarks/generation.py [--num 1000] [--images 100]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import scipy.linalg
import torch

from gwrep.eval.fid import feature_statistics, frechet_distance, load_extractor
from gwrep.eval.generation import psnr
from gwrep.eval.ood import ood_metrics

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """Best wall-clock seconds of ``repeat`` calls and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def scipy_fid(mu1, s1, mu2, s2) -> float:
    """pytorch-fid's formula with its eps-offset fallback (the reference)."""
    covmean = scipy.linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def frechet_rows(num: int) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(64, 2048)) / 8.0  # features with a low-rank structure, as pool3 has
    for label, n in (("rank-deficient", num), ("full-rank", 4096)):
        a = np.maximum(rng.normal(size=(n, 64)) @ mixing + 0.1 * rng.normal(size=(n, 2048)), 0)
        b = np.maximum(rng.normal(0.2, 1.0, size=(n, 64)) @ mixing + 0.1 * rng.normal(size=(n, 2048)), 0)
        (mu1, s1), (mu2, s2) = feature_statistics(a), feature_statistics(b)
        t_ours, ours = timed(lambda: frechet_distance(mu1, s1, mu2, s2), 2)
        t_ref, ref = timed(lambda: scipy_fid(mu1, s1, mu2, s2), 1)
        rows.append({"case": f"frechet 2048-d, {label} (n={n})", "seconds": t_ours, "scipy_sqrtm_seconds": t_ref,
                     "fid": ours, "scipy_fid": ref, "relative_difference": abs(ours - ref) / max(abs(ref), 1e-12)})
    return rows


def extractor_rows(images: int) -> list[dict]:
    try:
        extractor = load_extractor()
    except FileNotFoundError as err:
        return [{"case": "inception features", "skipped": str(err)}]
    rows = []
    gen = torch.Generator().manual_seed(0)
    for shape in ((1, 28, 28), (3, 64, 64)):
        batch = torch.rand(50, *shape, generator=gen)
        extractor(batch[:2])  # warm-up
        start, done = time.perf_counter(), 0
        while done < images:
            extractor(batch)
            done += len(batch)
        seconds = time.perf_counter() - start
        rows.append({"case": f"inception features {shape} -> 299", "images_per_s": done / seconds,
                     "seconds": seconds, "images": done})
    return rows


def small_rows() -> list[dict]:
    rng = np.random.default_rng(0)
    s_in, s_out = rng.normal(size=10_000), rng.normal(1.0, 1.0, size=10_000)
    t_ood, _ = timed(lambda: ood_metrics(s_in, s_out), 3)
    x = rng.random((10_000, 1, 28, 28)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 0.1, x.shape).astype(np.float32), 0, 1)
    t_psnr, value = timed(lambda: psnr(x, y), 3)
    return [{"case": "ood_metrics 10k + 10k scores", "seconds": t_ood},
            {"case": "psnr 10k 28x28 images", "seconds": t_psnr, "psnr": value}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=1000, help="feature vectors per set, rank-deficient case")
    parser.add_argument("--images", type=int, default=100, help="images per Inception timing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = frechet_rows(args.num) + extractor_rows(args.images) + small_rows()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"machine": platform.platform(), "torch_threads": 1, "rows": rows}
    (RESULTS / "generation.json").write_text(json.dumps(out, indent=2) + "\n")
    for row in rows:
        extra = {k: v for k, v in row.items() if k != "case"}
        print(f"{row['case']:<45} " + "  ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in extra.items()))
    print(f"wrote {RESULTS / 'generation.json'}")


if __name__ == "__main__":
    main()
