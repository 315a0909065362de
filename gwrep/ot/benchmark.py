"""Benchmark of the GW engine against POT: ``gwrep bench gw`` and ``benchmarks/gw_engine.py``.

For each n, two random clouds (n points in R^10 and in R^3, seeded) with squared Euclidean
costs normalised to a largest entry of 1, the square loss and epsilon = 5e-3 by default.
POT's ``entropic_gromov_wasserstein2`` on the dense costs, gwrep's dense path on the same
costs and gwrep's point-cloud fast path run in the same process, one after another, with
the same number of threads (default 1: the machine is shared, so a ratio is fairer than
an absolute time); the fast path runs before POT, after POT and after the dense path, and
the median of its three times is used (load from other processes moves short runs most).

``--device cuda`` runs gwrep's two paths on the GPU (POT stays on the CPU, as it runs on
numpy arrays), synchronising before each clock reading and after one untimed warm-up solve;
there the fast path reaches n = 20,000 (four n x n buffers, about 13 GB in float64)
while POT and the dense path are run only up to ``--pot-max-n`` and ``--dense-max-n`` (the
table says when they were skipped). Without a GPU, asking for cuda is a clear error.

Epsilon scale: with costs <= 1 the gradient of the GW loss, 2 (C1^2 p 1' + 1 q' C2^2) - 4 C1 T C2,
has entries of order 0.1 to 1, so epsilon = 5e-3 gives kernels exp(-G/eps) spanning about
e^-200: sharp, yet far from a permutation. On raw squared distances of standard normal
points (mean 2d = 20 in R^10) the same epsilon would be 400 times smaller relative to the
gradient and the inner Sinkhorn would crawl: normalise the costs, then choose epsilon.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["DEVICES", "format_table", "main", "make_problem", "resolve_device", "run_size"]

DEFAULT_SIZES = (256, 512, 1024, 2048, 4096)
QUICK_SIZES = (64, 128, 256)


def make_problem(n: int, dims: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two seeded clouds of n standard normal points, scaled so each cost matrix has max 1."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, dims[0])), rng.standard_normal((n, dims[1]))
    return X / _diameter(X), Y / _diameter(Y)


def _diameter(X: np.ndarray) -> float:
    """Largest pairwise distance, in row blocks (no n x n array)."""
    sq = (X * X).sum(1)
    best = 0.0
    for start in range(0, len(X), 1024):
        block = sq[start:start + 1024, None] + sq[None, :] - 2 * X[start:start + 1024] @ X.T
        best = max(best, float(block.max()))
    return math.sqrt(best)


def _squared_distances(X: np.ndarray) -> np.ndarray:
    sq = (X * X).sum(1)
    return np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0.0)


DEVICES = ("cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """The torch device for ``--device``; ValueError for an unknown name or an unavailable GPU."""
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(map(repr, DEVICES))}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch finds no usable CUDA GPU "
                         f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); run with --device cpu")
    return torch.device(name)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device = torch.device("cpu")):
    """Run ``fn``, return (its result, seconds, warning message -> count); GPU work is waited for."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _synchronize(device)
        start = time.perf_counter()
        out = fn()
        _synchronize(device)
        seconds = time.perf_counter() - start
    messages: dict[str, int] = {}
    for w in caught:
        messages[str(w.message)] = messages.get(str(w.message), 0) + 1
    return out, seconds, messages


def run_size(n: int, eps: float, dims: tuple[int, int], seed: int, run_pot: bool, run_dense: bool,
             device: torch.device = torch.device("cpu")) -> dict[str, Any]:
    """Time the fast path (once, or around each of POT and the dense path), POT and the dense path on one
    problem; gwrep runs on ``device``, POT on the CPU."""
    import ot

    from gwrep.ot import entropic_gromov_wasserstein2, gromov_wasserstein_points

    X, Y = make_problem(n, dims, seed)
    Xt, Yt = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)
    row: dict[str, Any] = {"n": n, "eps": eps, "dims": list(dims), "device": str(device)}

    def fast_solve():
        return gromov_wasserstein_points(Xt, Yt, epsilon=eps)

    fast, t_fast1, w_fast = _timed(fast_solve, device)
    row.update(fast_value=float(fast.value), fast_iter=int(fast.n_iter), fast_inner_iter=fast.inner_iter,
               fast_converged=bool(fast.converged), fast_warnings=w_fast)
    times = [t_fast1]
    if run_pot or run_dense:
        C1, C2 = _squared_distances(X), _squared_distances(Y)
    if run_pot:
        (pot_value, pot_log), t_pot, w_pot = _timed(
            lambda: ot.gromov.entropic_gromov_wasserstein2(C1, C2, epsilon=eps, log=True))
        row.update(pot_value=float(pot_value), pot_seconds=t_pot, pot_iter=10 * (len(pot_log["err"]) - 1) + 1,
                   pot_converged=bool(pot_log["err"][-1] <= 1e-9), pot_warnings=w_pot)
        times.append(_timed(fast_solve, device)[1])
    if run_dense:
        C1t, C2t = torch.from_numpy(C1).to(device), torch.from_numpy(C2).to(device)
        (dense_value, dense_log), t_dense, w_dense = _timed(
            lambda: entropic_gromov_wasserstein2(C1t, C2t, epsilon=eps, log=True), device)
        row.update(dense_value=float(dense_value), dense_seconds=t_dense, dense_iter=int(dense_log["n_iter"]),
                   dense_converged=bool(dense_log["converged"]), dense_warnings=w_dense)
        del C1t, C2t
        times.append(_timed(fast_solve, device)[1])
    row["fast_seconds_runs"] = times
    row["fast_seconds"] = float(np.median(times))
    if run_pot:
        row["fast_speedup"] = row["pot_seconds"] / row["fast_seconds"]
        row["fast_rel_diff"] = abs(row["fast_value"] - row["pot_value"]) / abs(row["pot_value"])
        if run_dense:
            row["dense_speedup"] = row["pot_seconds"] / row["dense_seconds"]
            row["dense_rel_diff"] = abs(row["dense_value"] - row["pot_value"]) / abs(row["pot_value"])
    if run_dense:
        row["fast_dense_rel_diff"] = abs(row["fast_value"] - row["dense_value"]) / abs(row["dense_value"])
    row["note"] = _note(row, run_pot, run_dense)
    return row


_OUR_INNER_LIMIT = "inner Sinkhorn solves stopped at their limit"  # gwrep.ot.gw_solver's warning
_POT_INNER_LIMIT = "did not converge"  # POT's Sinkhorn: "Sinkhorn did not converge. You might want to ..."


def _inner_limit_hit(row: dict[str, Any]) -> list[str]:
    """Which solvers ("ours", "POT") had an inner Sinkhorn stop at its iteration limit."""
    who = []
    if any(_OUR_INNER_LIMIT in message for message in row["fast_warnings"]):
        who.append("ours")
    if any(_POT_INNER_LIMIT in message for message in row.get("pot_warnings", {})):
        who.append("POT")
    return who


def _note(row: dict[str, Any], ran_pot: bool = True, ran_dense: bool = True) -> str:
    """Whether the fast path reached POT's optimum, or why the values cannot be compared, and the
    warnings of each solver.

    A relative difference above 1e-6 is a different local optimum only when both solvers met
    their tolerances; when an inner Sinkhorn hit its iteration limit the plans are not fixed
    points, and the difference says nothing about the optima.
    """
    if not ran_pot:
        notes = ["POT and dense path not run (n > --pot-max-n, --dense-max-n)"] if not ran_dense else [
            f"POT not run (n > --pot-max-n); fast vs dense rel diff {row['fast_dense_rel_diff']:.1e}"]
    elif _inner_limit_hit(row):
        notes = [f"not comparable: inner solver hit its limit ({' and '.join(_inner_limit_hit(row))})"]
    elif row["fast_rel_diff"] <= 1e-6:
        notes = ["same optimum"]
    else:
        notes = [f"different local optimum ({'gwrep' if row['fast_value'] < row['pot_value'] else 'POT'} lower)"]
    if ran_pot and not ran_dense:
        notes.append("dense path not run (n > --dense-max-n)")
    if ran_pot and not row["pot_converged"]:
        notes.append("POT's outer loop hit max_iter")
    if not row["fast_converged"]:
        notes.append("gwrep's outer loop hit max_iter")
    if row["fast_warnings"]:
        notes.append("gwrep warned: " + "; ".join(row["fast_warnings"])[:60])
    return "; ".join(notes)


def _fmt(value: Any, spec: str) -> str:
    """``value`` formatted by ``spec`` ("9.2f"), or "-" right-aligned to the same width when missing."""
    return format(value, spec) if value is not None else "-".rjust(int(spec.split(".")[0]))


def format_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width table of the rows."""
    head = (f"{'n':>6} {'POT s':>9} {'dense s':>9} {'fast s':>8} {'fast x':>7} {'dense x':>8} "
            f"{'GW (POT)':>12} {'rel diff':>9} {'iters':>6}  note")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['n']:>6} {_fmt(r.get('pot_seconds'), '9.2f')} {_fmt(r.get('dense_seconds'), '9.2f')} "
                     f"{r['fast_seconds']:>8.2f} {_fmt(r.get('fast_speedup'), '7.1f')} "
                     f"{_fmt(r.get('dense_speedup'), '8.2f')} {_fmt(r.get('pot_value'), '12.8f')} "
                     f"{_fmt(r.get('fast_rel_diff'), '9.1e')} {r['fast_iter']:>6}  "
                     f"{r.get('note', 'POT not run')}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gwrep bench gw",
        description="Time gwrep's entropic GW (dense path and point-cloud fast path) against POT on the same "
                    "problems, check the values agree, print a table and write JSON "
                    "(also: python benchmarks/gw_engine.py).")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help=f"numbers of points, any n >= 2 (default {' '.join(map(str, DEFAULT_SIZES))}); "
                             "beyond 4096 the fast path wants a GPU (--device cuda), e.g. up to 20000")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({' '.join(map(str, QUICK_SIZES))}), under a minute: a smoke test")
    parser.add_argument("--eps", type=float, default=5e-3, help="entropic regularisation (costs have max 1)")
    parser.add_argument("--dims", type=int, nargs=2, default=(10, 3), metavar=("D", "K"),
                        help="dimensions of the two clouds (default 10 3)")
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="where gwrep's solvers run (POT always runs on the CPU); default cpu")
    parser.add_argument("--pot-max-n", type=int, default=2048,
                        help="run POT only up to this n (it needs minutes beyond on one CPU thread; default 2048)")
    parser.add_argument("--dense-max-n", type=int, default=None,
                        help="run gwrep's dense path only up to this n (default: --pot-max-n; O(n^3) per iteration)")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and numpy's BLAS (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the point clouds")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gw_engine.json"),
                        help="JSON output (default benchmarks/results/gw_engine.json)")
    return parser


def _warm_up(eps: float, dims: tuple[int, int], seed: int, device: torch.device) -> None:
    """One untimed small solve, so CUDA's start-up (context, kernels) is not charged to the first size."""
    from gwrep.ot import gromov_wasserstein_points

    X, Y = make_problem(64, dims, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gromov_wasserstein_points(torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device), epsilon=eps)
    _synchronize(device)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns 0 (a process exit status)."""
    args = _parser().parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    dense_max_n = args.pot_max_n if args.dense_max_n is None else args.dense_max_n
    if any(n < 2 for n in sizes) or args.eps <= 0 or args.threads < 1 or min(args.dims) < 1:
        raise ValueError("sizes must be >= 2, eps > 0, threads >= 1 and dims >= 1")
    if args.pot_max_n < 0 or dense_max_n < 0:
        raise ValueError(f"--pot-max-n and --dense-max-n must be >= 0, got {args.pot_max_n} and {dense_max_n}")
    device = resolve_device(args.device)
    import ot
    from threadpoolctl import threadpool_limits

    saved_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    rows = []
    try:
        with threadpool_limits(args.threads):
            if device.type == "cuda":
                _warm_up(args.eps, tuple(args.dims), args.seed, device)
            for n in sizes:
                row = run_size(n, args.eps, tuple(args.dims), args.seed, run_pot=n <= args.pot_max_n,
                               run_dense=n <= dense_max_n, device=device)
                rows.append(row)
                print(format_table([row]).splitlines()[-1] if len(rows) > 1 else format_table([row]), flush=True)
    finally:
        torch.set_num_threads(saved_threads)  # a caller (the test suite) keeps its own thread count
    report = {
        "benchmark": "gw_engine", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.machine(), "processor": platform.processor(), "threads": args.threads,
        "device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "pot_max_n": args.pot_max_n, "dense_max_n": dense_max_n,
        "torch": torch.__version__, "pot": ot.__version__, "eps": args.eps, "dims": list(args.dims),
        "seed": args.seed, "loss": "square_loss", "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nfast x / dense x: POT time (CPU) over gwrep time ({device}; same process, {args.threads} CPU "
          "thread(s)); "
          f"rel diff: |GW_fast - GW_POT| / GW_POT; iters: outer iterations of the fast path.\nwrote {args.out}")
    return 0
