"""Speed of the study's data sets (issue 23): the dSprites variants' painting and the file loaders.

Measures on this CPU, one thread:

- rendering ``color-``, ``noisy-`` and ``scream-dsprites`` rows (``row_observations`` of random
  rows, batches of ``--batch``, one seeded generator per image), beside ``shapes2d`` alone;
- loading SmallNORB, Cars3D and MPI3D from synthetic files in the official formats written to
  a temporary folder (no official file is on this machine): SmallNORB with ``--norb-rows`` rows
  per chunk at 96x96 (the load decodes and resizes every left image, so its time is
  extrapolated linearly to the official 2 x 24,300 rows), Cars3D with ``--cars`` files of
  128x128 (extrapolated to 183 files), MPI3D with ``--mpi3d-images`` stored images (opening
  memory-maps the array, so the load does not grow with N; batch reads of random rows are
  timed through the torch view).

Writes ``benchmarks/results/study_data.json`` and prints a table.

    python benchmarks/study_data.py [--batch 64] [--seconds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import throughput  # noqa: E402  (benchmarks/data.py)
from data_writers import CHUNKS, write_cars, write_mpi3d, write_smallnorb  # noqa: E402  (tests/data_writers.py)

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--norb-rows", type=int, default=2000, help="rows per SmallNORB chunk (official 24,300)")
    parser.add_argument("--cars", type=int, default=4, help="Cars3D files (official 183)")
    parser.add_argument("--mpi3d-images", type=int, default=4800, help="MPI3D images (official 1,036,800)")
    parser.add_argument("--out", default=str(RESULTS / "study_data.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    import gwrep.data as gd
    from gwrep.data.cars3d import load_cars3d
    from gwrep.data.mpi3d import load_mpi3d
    from gwrep.data.smallnorb import load_smallnorb

    rows: list[dict] = []
    rng = np.random.default_rng(0)
    for name in ("shapes2d", "color-dsprites", "noisy-dsprites", "scream-dsprites"):
        data = gd.load_factor_data(name)
        speed = throughput(lambda n: data.row_observations(rng.integers(0, data.num_rows, n)), args.batch, args.seconds)
        rows.append({"what": f"{name} rows", "images_per_s": round(speed)})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng_rows = np.random.default_rng(1)
        factors = {c: np.stack([rng_rows.integers(0, s, args.norb_rows) for s in (5, 10, 9, 18, 6)], 1) for c in CHUNKS}
        write_smallnorb(tmp / "norb", factors)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a random partial grid
            seconds, _ = timed(lambda: load_smallnorb(tmp / "norb"))
        rows.append({"what": f"smallnorb load ({2 * args.norb_rows} rows, 96x96)", "seconds": round(seconds, 2),
                     "official_seconds_est": round(seconds * 48_600 / (2 * args.norb_rows), 1)})
        write_cars(tmp / "cars", args.cars, side=128)
        seconds, _ = timed(lambda: load_cars3d(tmp / "cars", num_objects=args.cars))
        rows.append({"what": f"cars3d load ({args.cars} files, 128x128)", "seconds": round(seconds, 2),
                     "official_seconds_est": round(seconds * 183 / args.cars, 1)})
        sizes = (1, 1, 2, 3, 2, 20, args.mpi3d_images // 240)
        write_mpi3d(tmp / "mpi3d_toy.npz", sizes)
        seconds, _ = timed(lambda: load_mpi3d(tmp / "mpi3d_toy.npz", factor_sizes=sizes))
        rows.append({"what": f"mpi3d open ({int(np.prod(sizes))} stored images)", "seconds": round(seconds, 3)})
        ds = gd.load("mpi3d-toy", tmp / "mpi3d_toy.npz", split="all", factor_sizes=list(sizes))
        speed = throughput(lambda n: ds.get_batch(rng.integers(0, len(ds), n)), args.batch, args.seconds)
        rows.append({"what": "mpi3d torch view, random rows", "images_per_s": round(speed)})
    report = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "threads": 1,
              "batch": args.batch, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"{'what':<46} {'images/s':>9} {'seconds':>8} {'official est. s':>16}")
    for row in rows:
        print(f"{row['what']:<46} {row.get('images_per_s', ''):>9} {row.get('seconds', ''):>8} "
              f"{row.get('official_seconds_est', ''):>16}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
