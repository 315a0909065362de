"""Rendering and loading speed of the data sets (issue 4).

Measures images/s on this CPU, one thread:

- ``shapes2d`` and ``shapes3d`` rendering (``FactorData.sample_observations_from_factors``,
  64x64, random factors, batches of ``--batch``); shapes3d both after its shade layers are
  cached ("warm") and the one-off cost of filling that cache ("cold", all 480 layers).
  Goals: >= 20,000 images/s for shapes2d, >= 5,000 for shapes3d.
- the torch view as the trainer sees it (``Dataset.__getitems__`` through a DataLoader,
  batch ``--batch``), at 64x64 and with the 28x28 / 3-channel transform;
- the real loaders when ``--data-root`` (default ``$GWREP_DATA`` or ../shared/data) exists:
  MNIST (gwae protocol, 64x64x3), Omniglot (test split, gwae), CelebA (JPEG decoding).

Writes ``benchmarks/results/data.json`` and prints a table.

    python benchmarks/data.py [--batch 256] [--seconds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
GOALS = {"shapes2d render": 20000, "shapes3d render (warm)": 5000}


def throughput(fn, batch: int, seconds: float) -> float:
    """Images/s of ``fn(batch)`` repeated for about ``seconds`` (after one warm-up call)."""
    fn(batch)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(batch)
        done += batch
    return done / (time.perf_counter() - start)


def render_rows(data, rng):
    return lambda n: data.sample_observations_from_factors(data.sample_factors(n, rng), rng)


def loader_rows(ds, batch, seed=0):
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(seed))
    it = iter(loader)
    return lambda n: next(it)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--data-root", default=os.environ.get("GWREP_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")))
    args = parser.parse_args()
    torch.set_num_threads(1)
    import gwrep.data as gd
    from gwrep.data.shapes3d import Shapes3D

    rng = np.random.default_rng(0)
    rows: list[dict] = []

    def add(name, ips, note=""):
        rows.append({"case": name, "images_per_s": round(ips, 1), "goal": GOALS.get(name), "note": note})

    add("shapes2d render", throughput(render_rows(gd.load_factor_data("shapes2d"), rng), args.batch, args.seconds))
    start = time.perf_counter()
    Shapes3D.warm()
    cold = time.perf_counter() - start
    add("shapes3d render (warm)", throughput(render_rows(gd.load_factor_data("shapes3d"), rng), args.batch, args.seconds),
        f"cache of 480 shade layers filled once in {cold:.1f} s")
    for name, opts in (("shapes2d", {}), ("shapes2d", {"image_size": 28}), ("shapes3d", {}),
                       ("shapes3d", {"image_size": 28, "channels": 1})):
        ds = gd.load(name, **opts)
        label = f"{name} DataLoader {ds.image_shape[1]}x{ds.image_shape[2]}x{ds.image_shape[0]}"
        add(label, throughput(loader_rows(ds, args.batch), args.batch, args.seconds), "batched __getitems__")
    root = Path(args.data_root)
    real = (("mnist", "mnist", "train"), ("omniglot", "omniglot", "test"), ("celeba", "celeba/img_align_celeba_89x109", "train"))
    for name, sub, split in real:
        if (root / sub).is_dir():
            ds = gd.load(name, root / sub, split=split, protocol="gwae")
            ds.get_batch([0])  # decompress once
            add(f"{name} DataLoader gwae 64x64x3", throughput(loader_rows(ds, args.batch), args.batch, args.seconds),
                "lazy JPEG decode" if name == "celeba" else "in memory after first access")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "data.json"
    meta = {"machine": platform.processor() or platform.machine(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__, "threads": 1, "batch": args.batch}
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"{'case':<38} {'images/s':>10} {'goal':>8}  note")
    for r in rows:
        goal = "" if r["goal"] is None else f"{r['goal']:>8}"
        print(f"{r['case']:<38} {r['images_per_s']:>10.0f} {goal:>8}  {r['note']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
