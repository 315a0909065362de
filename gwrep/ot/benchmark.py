"""Benchmark of the GW engine against POT: ``gwrep bench gw`` and ``benchmarks/gw_engine.py``.

For each n, two random clouds (n points in R^10 and in R^3, seeded) with squared Euclidean
costs normalised to a largest entry of 1, the square loss and epsilon = 5e-3 by default.
POT's ``entropic_gromov_wasserstein2`` on the dense costs, gwrep's dense path on the same
costs and gwrep's point-cloud fast path run in the same process, one after another, with
the same number of threads (default 1: the machine is shared, so a ratio is fairer than
an absolute time); the fast path runs before POT, after POT and after the dense path, and
the median of its three times is used (load from other processes moves short runs most).

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

__all__ = ["main", "make_problem", "run_size"]

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


def _timed(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
    messages: dict[str, int] = {}
    for w in caught:
        messages[str(w.message)] = messages.get(str(w.message), 0) + 1
    return out, seconds, messages


def run_size(n: int, eps: float, dims: tuple[int, int], seed: int, run_pot: bool, run_dense: bool) -> dict[str, Any]:
    """Time the fast path (twice, around the others), POT and the dense path on one problem."""
    import ot

    from gwrep.ot import entropic_gromov_wasserstein2, gromov_wasserstein_points

    X, Y = make_problem(n, dims, seed)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    row: dict[str, Any] = {"n": n, "eps": eps, "dims": list(dims)}
    fast, t_fast1, w_fast = _timed(lambda: gromov_wasserstein_points(Xt, Yt, epsilon=eps))
    row.update(fast_value=float(fast.value), fast_iter=int(fast.n_iter), fast_inner_iter=fast.inner_iter,
               fast_converged=bool(fast.converged), fast_warnings=w_fast)
    times = [t_fast1]
    C1, C2 = _squared_distances(X), _squared_distances(Y)
    if run_pot:
        (pot_value, pot_log), t_pot, w_pot = _timed(
            lambda: ot.gromov.entropic_gromov_wasserstein2(C1, C2, epsilon=eps, log=True))
        row.update(pot_value=float(pot_value), pot_seconds=t_pot, pot_iter=10 * (len(pot_log["err"]) - 1) + 1,
                   pot_converged=bool(pot_log["err"][-1] <= 1e-9), pot_warnings=w_pot)
        times.append(_timed(lambda: gromov_wasserstein_points(Xt, Yt, epsilon=eps))[1])
    if run_dense:
        (dense_value, dense_log), t_dense, w_dense = _timed(
            lambda: entropic_gromov_wasserstein2(torch.from_numpy(C1), torch.from_numpy(C2), epsilon=eps, log=True))
        row.update(dense_value=float(dense_value), dense_seconds=t_dense, dense_iter=int(dense_log["n_iter"]),
                   dense_warnings=w_dense)
        times.append(_timed(lambda: gromov_wasserstein_points(Xt, Yt, epsilon=eps))[1])
    row["fast_seconds_runs"] = times
    row["fast_seconds"] = float(np.median(times))
    if run_pot:
        row["fast_speedup"] = row["pot_seconds"] / row["fast_seconds"]
        row["fast_rel_diff"] = abs(row["fast_value"] - row["pot_value"]) / abs(row["pot_value"])
        if run_dense:
            row["dense_speedup"] = row["pot_seconds"] / row["dense_seconds"]
            row["dense_rel_diff"] = abs(row["dense_value"] - row["pot_value"]) / abs(row["pot_value"])
        row["note"] = _note(row)
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


def _note(row: dict[str, Any]) -> str:
    """Whether the fast path reached POT's optimum, or why the values cannot be compared, and the
    warnings of each solver.

    A relative difference above 1e-6 is a different local optimum only when both solvers met
    their tolerances; when an inner Sinkhorn hit its iteration limit the plans are not fixed
    points, and the difference says nothing about the optima.
    """
    if _inner_limit_hit(row):
        notes = [f"not comparable: inner solver hit its limit ({' and '.join(_inner_limit_hit(row))})"]
    elif row["fast_rel_diff"] <= 1e-6:
        notes = ["same optimum"]
    else:
        notes = [f"different local optimum ({'gwrep' if row['fast_value'] < row['pot_value'] else 'POT'} lower)"]
    if not row["pot_converged"]:
        notes.append("POT's outer loop hit max_iter")
    if not row["fast_converged"]:
        notes.append("gwrep's outer loop hit max_iter")
    if row["fast_warnings"]:
        notes.append("gwrep warned: " + "; ".join(row["fast_warnings"])[:60])
    return "; ".join(notes)


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


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
                        help=f"numbers of points (default {' '.join(map(str, DEFAULT_SIZES))})")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({' '.join(map(str, QUICK_SIZES))}), under a minute: a smoke test")
    parser.add_argument("--eps", type=float, default=5e-3, help="entropic regularisation (costs have max 1)")
    parser.add_argument("--dims", type=int, nargs=2, default=(10, 3), metavar=("D", "K"),
                        help="dimensions of the two clouds (default 10 3)")
    parser.add_argument("--pot-max-n", type=int, default=2048,
                        help="run POT and the dense path only up to this n (POT needs minutes beyond; default 2048)")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and numpy's BLAS (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the point clouds")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gw_engine.json"),
                        help="JSON output (default benchmarks/results/gw_engine.json)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns 0 (a process exit status)."""
    args = _parser().parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if any(n < 2 for n in sizes) or args.eps <= 0 or args.threads < 1 or min(args.dims) < 1:
        raise ValueError("sizes must be >= 2, eps > 0, threads >= 1 and dims >= 1")
    import ot
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    rows = []
    with threadpool_limits(args.threads):
        for n in sizes:
            run_ref = n <= args.pot_max_n
            row = run_size(n, args.eps, tuple(args.dims), args.seed, run_pot=run_ref, run_dense=run_ref)
            rows.append(row)
            print(format_table([row]).splitlines()[-1] if len(rows) > 1 else format_table([row]), flush=True)
    report = {
        "benchmark": "gw_engine", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.machine(), "processor": platform.processor(), "threads": args.threads,
        "torch": torch.__version__, "pot": ot.__version__, "eps": args.eps, "dims": list(args.dims),
        "seed": args.seed, "loss": "square_loss", "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nfast x / dense x: POT time over gwrep time (same process, {args.threads} thread(s)); "
          f"rel diff: |GW_fast - GW_POT| / GW_POT; iters: outer iterations of the fast path.\nwrote {args.out}")
    return 0
