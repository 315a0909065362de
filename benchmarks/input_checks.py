"""Cost of the input checks of issue 25: every item of a user's data set, and the model API's inputs.

Two measurements, each round-robin (one repetition of each variant in turn, so a change in
machine load hits both alike; the median is reported):

- ``data``: one epoch of batches of 64 float32 images (64x64x3 by default) drawn through a
  ``DataLoader`` (no workers) from a ``TensorDataset`` as given (``raw``) and through the
  :class:`gwrep.data.checks.CheckedImages` view that ``gwrep.train(dataset=...)`` wraps it in
  (``checked``: dtype, shape and one min/max per item). Also the checked epoch against one
  training step of beta-VAE on the GWAE authors' nets, the work the batches feed.
- ``api``: ``model.represent`` of a batch of 64 images through the checked method against the
  model's own ``encode`` hook unchecked (``__wrapped__``), for beta-VAE on the authors' nets.

Writes JSON to ``benchmarks/results/input_checks.json`` and prints a table.

    python benchmarks/input_checks.py              # 1 thread, 2,048 images, 64x64x3
    python benchmarks/input_checks.py --images 8192 --size 28 --channels 1
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

RESULTS = Path(__file__).resolve().parent / "results"


def _epoch(dataset) -> float:
    start = time.perf_counter()
    for _ in DataLoader(dataset, batch_size=64, shuffle=False):
        pass
    return time.perf_counter() - start


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    from gwrep.data.checks import check_image_dataset
    from gwrep.models.base import build_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--size", type=int, default=64, choices=[28, 64])
    parser.add_argument("--channels", type=int, default=3, choices=[1, 3])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS / "input_checks.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    shape = (args.channels, args.size, args.size)
    images = torch.rand(args.images, *shape, generator=torch.Generator().manual_seed(0))
    raw = TensorDataset(images, torch.zeros(args.images))
    checked = check_image_dataset(raw)
    model = build_model("beta-vae", image_shape=shape, latent_dim=10, architecture="gwae")
    batch = images[:64]
    unchecked_encode = type(model).encode.__wrapped__

    def step():
        model.training_step(batch)

    def represent_checked():
        with torch.no_grad():
            model.represent(batch)

    def represent_unchecked():
        with torch.no_grad():
            unchecked_encode(model.eval(), batch)

    times: dict[str, list[float]] = {k: [] for k in ("raw", "checked", "train_step", "api_checked", "api_unchecked")}
    step()  # warm-up (optimizer state, allocator)
    for _ in range(args.repeats):
        times["raw"].append(_epoch(raw))
        times["checked"].append(_epoch(checked))
        times["train_step"].append(_timed(step))
        times["api_checked"].append(_timed(represent_checked))
        times["api_unchecked"].append(_timed(represent_unchecked))
    median = {k: statistics.median(v) for k, v in times.items()}
    batches = args.images // 64 + bool(args.images % 64)
    result = {
        "images": args.images, "image_shape": list(shape), "batch_size": 64, "threads": args.threads,
        "repeats": args.repeats, "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
        "median_s": median,
        "data_check_ms_per_batch": 1e3 * (median["checked"] - median["raw"]) / batches,
        "data_check_share_of_train_step": (median["checked"] - median["raw"]) / batches / median["train_step"],
        "api_check_ms_per_call": 1e3 * (median["api_checked"] - median["api_unchecked"]),
        "api_check_share_of_represent": (median["api_checked"] - median["api_unchecked"]) / median["api_unchecked"],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"| what ({args.images} images {shape}, batch 64, {args.threads} thread(s)) | median |")
    print("|---|---|")
    print(f"| epoch through the loader, raw | {median['raw']:.3f} s |")
    print(f"| epoch through the loader, every item checked | {median['checked']:.3f} s |")
    print(f"| check cost per batch of 64 | {result['data_check_ms_per_batch']:.2f} ms "
          f"({100 * result['data_check_share_of_train_step']:.1f}% of a beta-VAE step, {1e3 * median['train_step']:.0f} ms) |")
    print(f"| represent(64 images): checked / unchecked | {1e3 * median['api_checked']:.2f} / "
          f"{1e3 * median['api_unchecked']:.2f} ms ({100 * result['api_check_share_of_represent']:+.1f}%) |")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
