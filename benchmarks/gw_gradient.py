"""What a GW value's gradient costs: implicit differentiation (gwrep's default), the envelope
gradient of the entropic optimum, and POT's unrolled autograd, against the solve alone.

    python benchmarks/gw_gradient.py                  # n = 64 ... 2048 (POT's unrolling to 128)
    python benchmarks/gw_gradient.py --sizes 64 128   # quick

Same problems as ``gwrep bench gw`` (clouds in R^10 and R^3 at unit diameter, epsilon 5e-3
in POT's convention), one thread, float64. For each n: the fast path's solve without
gradients, solve + backward with ``objective="gw"`` (the adjoint system of the fixed point)
and with ``objective="entropic_optimum"`` (no linear solve); the dense path the same way up to
``--dense-max-n``; POT's ``entropic_gromov_wasserstein2`` on torch tensors, which
differentiates by keeping every iterate of its loops in the autograd graph, up to
``--pot-max-n`` (its graph holds each inner Sinkhorn iteration's n x n kernel products, so
memory grows with the iteration count). The gradients of the implicit and unrolled
approaches are compared (symmetric parts of dC1; p, q centred by the weights). Writes
``benchmarks/results/gw_gradient.json`` and prints a table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import torch


def _timed(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - wall, time.process_time() - cpu


def _grads(solve, inputs):
    """Solve with inputs that require grad, backpropagate; the gradients."""
    leaves = [t.clone().requires_grad_() for t in inputs]
    solve(*leaves).backward()
    return [t.grad for t in leaves]


def _centred(grads, weights):
    """dC symmetrised, dp and dq centred by the weights (the constant they are defined up to)."""
    dC1, dC2, dp, dq = grads
    p, q = weights
    return [(dC1 + dC1.T) / 2, (dC2 + dC2.T) / 2, dp - (dp * p).sum(), dq - (dq * q).sum()]


def run(n: int, eps: float, dense_max_n: int, pot_max_n: int) -> dict:
    import ot

    from gwrep.bench.gw import _squared_distances, make_problem
    from gwrep.ot import entropic_gromov_wasserstein2, gromov_wasserstein_points

    X, Y = (torch.from_numpy(a) for a in make_problem(n, (10, 3), 0))
    row: dict = {"n": n, "load": os.getloadavg()[0]}
    _, row["fast_solve_s"], row["fast_solve_cpu_s"] = _timed(lambda: gromov_wasserstein_points(X, Y, epsilon=eps))
    for objective in ("gw", "entropic_optimum"):
        def solve_backward():
            Xg, Yg = X.clone().requires_grad_(), Y.clone().requires_grad_()
            gromov_wasserstein_points(Xg, Yg, epsilon=eps, objective=objective).value.backward()
        _, row[f"fast_{objective}_s"], row[f"fast_{objective}_cpu_s"] = _timed(solve_backward)
    if n > dense_max_n:
        return row
    C1, C2 = (torch.from_numpy(_squared_distances(a.numpy())) for a in (X, Y))
    p, q = torch.full((n,), 1 / n, dtype=torch.float64), torch.full((n,), 1 / n, dtype=torch.float64)
    inputs = [C1, C2, p, q]
    _, row["dense_solve_s"], row["dense_solve_cpu_s"] = _timed(lambda: entropic_gromov_wasserstein2(*inputs,
                                                                                                    epsilon=eps))
    grads = {}
    for objective in ("gw", "entropic_optimum"):
        grads[objective], row[f"dense_{objective}_s"], row[f"dense_{objective}_cpu_s"] = _timed(
            lambda: _grads(lambda *a: entropic_gromov_wasserstein2(*a, epsilon=eps, objective=objective), inputs))
    if n <= pot_max_n:
        pot, row["pot_unrolled_s"], row["pot_unrolled_cpu_s"] = _timed(
            lambda: _grads(lambda *a: ot.gromov.entropic_gromov_wasserstein2(*a, epsilon=eps), inputs))
        ours, theirs = _centred(grads["gw"], (p, q)), _centred(pot, (p, q))
        row["max_grad_diff_vs_pot"] = max(float((a - b).abs().max()) for a, b in zip(ours, theirs))
        row["rel_grad_diff_vs_pot"] = row["max_grad_diff_vs_pot"] / max(float(b.abs().max()) for b in theirs)
        with warnings.catch_warnings(record=True) as caught:  # did POT's solve converge (outer and inner)?
            warnings.simplefilter("always")
            _, log = ot.gromov.entropic_gromov_wasserstein2(*inputs, epsilon=eps, log=True)
        row["pot_converged"] = bool(float(log["err"][-1]) <= 1e-9) and not caught
    return row


def _diff(row: dict) -> str:
    """The relative gradient difference to POT, marked when POT's solve hit a limit (its unrolled
    gradient is then the derivative of an unconverged iterate, not of the fixed point)."""
    if "rel_grad_diff_vs_pot" not in row:
        return "-"
    return f"{row['rel_grad_diff_vs_pot']:.1e}" + ("" if row["pot_converged"] else " (POT unconv.)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/gw_gradient.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048])
    parser.add_argument("--eps", type=float, default=5e-3)
    parser.add_argument("--dense-max-n", type=int, default=512)
    parser.add_argument("--pot-max-n", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gw_gradient.json"))
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    rows = []
    head = (f"{'n':>5} {'solve s':>8} {'+grad gw':>9} {'+grad ent':>9} {'dense solve':>11} {'+grad gw':>9} "
            f"{'+grad ent':>9} {'POT unrolled':>12} {'rel grad diff':>13}")
    print(head + "\n" + "-" * len(head), flush=True)
    with threadpool_limits(1):
        for n in args.sizes:
            r = run(n, args.eps, args.dense_max_n, args.pot_max_n)
            rows.append(r)

            def f(key, width):
                return f"{r[key]:>{width}.2f}" if key in r else "-".rjust(width)
            print(f"{n:>5} {f('fast_solve_s', 8)} {f('fast_gw_s', 9)} {f('fast_entropic_optimum_s', 9)} "
                  f"{f('dense_solve_s', 11)} {f('dense_gw_s', 9)} {f('dense_entropic_optimum_s', 9)} "
                  f"{f('pot_unrolled_s', 12)} "
                  f"{_diff(r):>13}",
                  flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "gw_gradient", "eps": args.eps, "threads": 1,
                                    "torch": torch.__version__, "rows": rows}, indent=2))
    print(f"seconds (wall, one thread): the solve alone, then solve + backward with objective='gw' (implicit "
          f"differentiation) and 'entropic_optimum' (envelope); POT: its torch backend's unrolled autograd; "
          f"rel grad diff: largest |gwrep - POT| over dC1, dC2, dp, dq over POT's largest entry.\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
