"""Benchmark of the GW engine against POT, ott-jax and an older gwrep: ``gwrep bench gw`` and
``benchmarks/gw_engine.py``.

For each n, two random clouds (n points in R^10 and in R^3, seeded) scaled to unit diameter,
squared Euclidean costs (largest entry 1), the square loss and epsilon = 5e-3 in POT's
convention. The solvers, all on one CPU thread:

- gwrep's point-cloud fast path (run three times: before POT, after POT and after the dense
  path; the median is reported, as load from other processes moves short runs most),
- gwrep's dense path and POT's ``entropic_gromov_wasserstein2`` on the dense costs (same process),
- ott-jax's ``GromovWasserstein`` (another Python environment: ``--ott-python`` or the
  ``GWREP_OTT_PYTHON`` variable; skipped, with the reason in the table, when absent): jit
  compilation excluded, float64, its factored point-cloud costs, warm-started, run for the same
  number of outer iterations as the fast path (``--ott-outer match``; its own stopping rule,
  the relative change of the linearised cost, stops early: 115 of 321 iterations at n = 256, with
  plans 5.7e-3 apart in L1), inner tolerance on the L2 marginal error as gwrep's,
- ``--baseline DIR``: the fast path of another gwrep source tree (an older commit), in a
  subprocess, timed three times, to show a change is no slower.

Every plan is scored with one numpy GW objective (:func:`gw_objective`, written here from the
definition, no solver's code) and compared with the fast path's plan in L1; the table gives
each solver's time over the fast path's. Wall and CPU seconds are both recorded, and the load
average before and after each size: the CPU is shared, and CPU time is the fairer clock when
the load is high.

``--device cuda`` runs gwrep's two paths on the GPU (POT stays on the CPU, as it runs on
numpy arrays), synchronising before each clock reading and after one untimed warm-up solve;
there the fast path reaches n = 20,000 (four n x n buffers, about 13 GB in float64) while POT
and the dense path are run only up to ``--pot-max-n`` and ``--dense-max-n``. Without a GPU,
asking for cuda is a clear error.

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
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

__all__ = ["DEVICES", "format_table", "gw_objective", "main", "make_problem", "resolve_device", "run_size"]

DEFAULT_SIZES = (256, 512, 1024, 2048, 4096)
QUICK_SIZES = (64, 128, 256)
DEVICES = ("cpu", "cuda")
OTT_PYTHON_ENV = "GWREP_OTT_PYTHON"
#: Environment of every subprocess: one thread for BLAS, OpenMP and XLA.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
_HERE = Path(__file__).resolve().parent


def make_problem(n: int, dims: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two seeded clouds of n standard normal points, scaled so each cost matrix has max 1."""
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, dims[0])), rng.standard_normal((n, dims[1]))
    return X / _diameter(X), Y / _diameter(Y)


def _row_blocks(X: np.ndarray, size: int = 1024):
    """(start, block of squared distances from X[start:start + size] to all of X), no n x n array."""
    sq = (X * X).sum(1)
    for start in range(0, len(X), size):
        yield start, np.maximum(sq[start:start + size, None] + sq[None, :] - 2 * X[start:start + size] @ X.T, 0.0)


def _diameter(X: np.ndarray) -> float:
    """Largest pairwise distance."""
    return math.sqrt(max(float(block.max()) for _, block in _row_blocks(X)))


def _squared_distances(X: np.ndarray) -> np.ndarray:
    return np.concatenate([block for _, block in _row_blocks(X)])


def gw_objective(X: np.ndarray, Y: np.ndarray, T: np.ndarray) -> float:
    """The square-loss GW objective sum_ijkl (|x_i - x_k|^2 - |y_j - y_l|^2)^2 T_ij T_kl of a plan.

    Written from the definition for this benchmark (no solver's code), with T's own marginals a, b:
    a' (C1 o C1) a + b' (C2 o C2) b - 2 <C1 T C2, T>, the squared-distance matrices in row
    blocks and C1 T C2 through C = s 1' + 1 s' - 2 X X' (s the squared norms), O(n m (d + k)).
    """
    a, b = T.sum(1), T.sum(0)
    quartic = sum(a[i:i + len(blk)] @ (blk * blk) @ a for i, blk in _row_blocks(X))
    quartic += sum(b[j:j + len(blk)] @ (blk * blk) @ b for j, blk in _row_blocks(Y))

    def times_cost(Z: np.ndarray, M: np.ndarray) -> np.ndarray:
        """C M for C the squared distances of Z: s (1' M) + 1 (s' M) - 2 Z (Z' M)."""
        s = (Z * Z).sum(1)
        return np.outer(s, M.sum(0)) + (s @ M)[None, :] - 2 * Z @ (Z.T @ M)

    C1T = times_cost(X, T)  # (n, m)
    C1TC2 = times_cost(Y, C1T.T).T  # (C2 (C1 T)^T)^T = C1 T C2, C2 symmetric
    return float(quartic - 2 * np.sum(C1TC2 * T))


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


def _timed(fn: Callable[[], Any], device: torch.device = torch.device("cpu")):
    """Run ``fn``; return (its result, wall seconds, CPU seconds, warning message -> count)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _synchronize(device)
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        _synchronize(device)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    messages: dict[str, int] = {}
    for w in caught:
        messages[str(w.message)] = messages.get(str(w.message), 0) + 1
    return out, wall, cpu, messages


def _load() -> float:
    """The 1-minute load average (NaN where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _run_script(python: str, script: str, problem: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run one of this package's runner scripts in a subprocess on ``problem``; its result as a dict,
    or {"error": ...} with the end of its stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "problem.npz", **problem)
        done = subprocess.run([python, str(_HERE / script), str(Path(tmp) / "problem.npz"),
                               str(Path(tmp) / "result.npz")], env={**os.environ, **ONE_THREAD, **env},
                              capture_output=True, text=True)
        if done.returncode != 0:
            return {"error": f"{script} exited {done.returncode}: {done.stderr.strip()[-300:]}"}
        with np.load(Path(tmp) / "result.npz") as result:
            return {key: result[key] for key in result.files}


def _other_solver(out: dict[str, Any], name: str, X: np.ndarray, Y: np.ndarray, T_fast: np.ndarray,
                  row: dict[str, Any]) -> None:
    """Record an external solver's result (seconds, objective, L1 distance of its plan to the fast path's)."""
    if "error" in out:
        row[f"{name}_error"] = out["error"]
        return
    seconds, cpu = np.atleast_1d(out["seconds"]), np.atleast_1d(out["cpu_seconds"])
    row.update({f"{name}_seconds": float(np.median(seconds)), f"{name}_cpu_seconds": float(np.median(cpu)),
                f"{name}_seconds_runs": seconds.tolist(), f"{name}_iter": int(out["n_iter"]),
                f"{name}_converged": bool(out["converged"]), f"{name}_version": str(out["version"]),
                f"{name}_objective": gw_objective(X, Y, out["plan"]),
                f"{name}_plan_l1": float(np.abs(out["plan"] - T_fast).sum())})
    if "compile_seconds" in out:
        row[f"{name}_compile_seconds"] = float(out["compile_seconds"])


def run_size(n: int, eps: float, dims: tuple[int, int], seed: int, run_pot: bool, run_dense: bool,
             device: torch.device = torch.device("cpu"), ott_python: str | None = None, ott_outer: str = "match",
             baseline: Path | None = None) -> dict[str, Any]:
    """Time every solver on one problem and score every plan with :func:`gw_objective`; gwrep runs on
    ``device``, POT, ott-jax and the baseline on the CPU."""
    import ot

    from gwrep.ot import entropic_gromov_wasserstein2, gromov_wasserstein_points

    X, Y = make_problem(n, dims, seed)
    Xt, Yt = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)
    row: dict[str, Any] = {"n": n, "eps": eps, "dims": list(dims), "device": str(device), "load_before": _load()}

    def fast_solve():
        return gromov_wasserstein_points(Xt, Yt, epsilon=eps)

    fast, wall, cpu, w_fast = _timed(fast_solve, device)
    T_fast = fast.plan.cpu().numpy()
    row.update(fast_value=float(fast.value), fast_objective=gw_objective(X, Y, T_fast), fast_iter=int(fast.n_iter),
               fast_inner_iter=fast.inner_iter, fast_converged=bool(fast.converged), fast_ok=bool(fast.ok),
               fast_warnings=w_fast)
    walls, cpus = [wall], [cpu]

    def fast_again():
        _, wall, cpu, _ = _timed(fast_solve, device)
        walls.append(wall)
        cpus.append(cpu)

    if run_pot or run_dense:
        C1, C2 = _squared_distances(X), _squared_distances(Y)
    if run_pot:
        (pot_value, pot_log), t_pot, c_pot, w_pot = _timed(
            lambda: ot.gromov.entropic_gromov_wasserstein2(C1, C2, epsilon=eps, log=True))
        row.update(pot_value=float(pot_value), pot_seconds=t_pot, pot_cpu_seconds=c_pot,
                   pot_iter=10 * (len(pot_log["err"]) - 1) + 1, pot_converged=bool(pot_log["err"][-1] <= 1e-9),
                   pot_warnings=w_pot, pot_objective=gw_objective(X, Y, pot_log["T"]),
                   pot_plan_l1=float(np.abs(pot_log["T"] - T_fast).sum()))
        fast_again()
    if run_dense:
        C1t, C2t = torch.from_numpy(C1).to(device), torch.from_numpy(C2).to(device)
        (dense_value, dense_log), t_dense, c_dense, w_dense = _timed(
            lambda: entropic_gromov_wasserstein2(C1t, C2t, epsilon=eps, log=True), device)
        T_dense = dense_log["T"].cpu().numpy()
        row.update(dense_value=float(dense_value), dense_seconds=t_dense, dense_cpu_seconds=c_dense,
                   dense_iter=int(dense_log["n_iter"]), dense_converged=bool(dense_log["converged"]),
                   dense_warnings=w_dense, dense_objective=gw_objective(X, Y, T_dense),
                   dense_plan_l1=float(np.abs(T_dense - T_fast).sum()))
        del C1t, C2t
        fast_again()
    row.update(fast_seconds_runs=walls, fast_cpu_seconds_runs=cpus, fast_seconds=float(np.median(walls)),
               fast_cpu_seconds=float(np.median(cpus)))
    if ott_python is not None:
        problem = {"X": X, "Y": Y, "eps": eps, "outer": row["fast_iter"] if ott_outer == "match" else 0,
                   "outer_tol": 1e-9, "max_outer": 1000, "inner_tol": 1e-9, "inner_max_iter": 1000}
        _other_solver(_run_script(ott_python, "ott_runner.py", problem, {}), "ott", X, Y, T_fast, row)
    if baseline is not None:
        out = _run_script(sys.executable, "gwrep_runner.py", {"X": X, "Y": Y, "eps": eps, "repeats": 3},
                          {"PYTHONPATH": str(baseline)})
        _other_solver(out, "baseline", X, Y, T_fast, row)
    for name in ("pot", "dense", "ott", "baseline"):
        if f"{name}_seconds" in row:
            row[f"{name}_speedup"] = row[f"{name}_seconds"] / row["fast_seconds"]
            row[f"{name}_cpu_speedup"] = row[f"{name}_cpu_seconds"] / row["fast_cpu_seconds"]
            row[f"{name}_rel_diff"] = abs(row[f"{name}_objective"] - row["fast_objective"]) / abs(row["fast_objective"])
    row["load_after"] = _load()
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
    """Whether the fast path reached POT's optimum, or why the values cannot be compared, the
    warnings of each solver, and why an external solver is missing.

    A relative difference above 1e-6 is a different local optimum only when both solvers met
    their tolerances; when an inner Sinkhorn hit its iteration limit the plans are not fixed
    points, and the difference says nothing about the optima.
    """
    if not ran_pot:
        notes = ["POT and dense path not run (n > --pot-max-n, --dense-max-n)"] if not ran_dense else [
            f"POT not run (n > --pot-max-n); fast vs dense rel diff {row['dense_rel_diff']:.1e}"]
    elif _inner_limit_hit(row):
        notes = [f"not comparable: inner solver hit its limit ({' and '.join(_inner_limit_hit(row))})"]
    elif row["pot_rel_diff"] <= 1e-6:
        notes = ["same optimum"]
    else:
        notes = [f"different local optimum ({'gwrep' if row['fast_objective'] < row['pot_objective'] else 'POT'} "
                 "lower)"]
    if ran_pot and not ran_dense:
        notes.append("dense path not run (n > --dense-max-n)")
    if ran_pot and not row["pot_converged"]:
        notes.append("POT's outer loop hit max_iter")
    if not row["fast_converged"]:
        notes.append("gwrep's outer loop hit max_iter")
    for name in ("ott", "baseline"):
        if f"{name}_skipped" in row or f"{name}_error" in row:
            notes.append(f"{name}: {row.get(f'{name}_skipped') or row.get(f'{name}_error')}"[:90])
    if row["fast_warnings"]:
        notes.append("gwrep warned: " + "; ".join(row["fast_warnings"])[:60])
    return "; ".join(notes)


def _fmt(value: Any, spec: str) -> str:
    """``value`` formatted by ``spec`` ("9.2f"), or "-" right-aligned to the same width when missing."""
    return format(value, spec) if value is not None else "-".rjust(int(spec.split(".")[0]))


def format_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width table of the rows: seconds, speed-ups over the fast path (wall clock), the fast
    path's GW objective, the largest relative objective difference and plan L1 distance of any
    other solver to it, and the fast path's outer iterations."""
    others = ("pot", "dense", "ott", "baseline")
    head = (f"{'n':>6} {'fast s':>8} {'POT s':>8} {'dense s':>8} {'ott s':>8} {'old s':>8} {'POT x':>6} "
            f"{'ott x':>6} {'old x':>6} {'GW objective':>13} {'obj diff':>8} {'plan L1':>8} {'iters':>6}  note")
    lines = [head, "-" * len(head)]
    for r in rows:
        diffs = [r[f"{o}_rel_diff"] for o in others if f"{o}_rel_diff" in r]
        l1s = [r[f"{o}_plan_l1"] for o in others if f"{o}_plan_l1" in r]
        lines.append(
            f"{r['n']:>6} {r['fast_seconds']:>8.2f} {_fmt(r.get('pot_seconds'), '8.2f')} "
            f"{_fmt(r.get('dense_seconds'), '8.2f')} {_fmt(r.get('ott_seconds'), '8.2f')} "
            f"{_fmt(r.get('baseline_seconds'), '8.2f')} {_fmt(r.get('pot_speedup'), '6.1f')} "
            f"{_fmt(r.get('ott_speedup'), '6.1f')} {_fmt(r.get('baseline_speedup'), '6.2f')} "
            f"{r['fast_objective']:>13.9f} {_fmt(max(diffs) if diffs else None, '8.1e')} "
            f"{_fmt(max(l1s) if l1s else None, '8.1e')} {r['fast_iter']:>6}  {r.get('note', '')}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gwrep bench gw",
        description="Time gwrep's entropic GW (point-cloud fast path and dense path) against POT, ott-jax and, "
                    "optionally, an older gwrep on the same problems, score every plan with one GW objective, "
                    "print a table and write JSON (also: python benchmarks/gw_engine.py).")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help=f"numbers of points, any n >= 2 (default {' '.join(map(str, DEFAULT_SIZES))}); "
                             "beyond 4096 the fast path wants a GPU (--device cuda), e.g. up to 20000")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes ({' '.join(map(str, QUICK_SIZES))}), under a minute: a smoke test")
    parser.add_argument("--eps", type=float, default=5e-3,
                        help="entropic regularisation, POT's convention (costs have max 1)")
    parser.add_argument("--dims", type=int, nargs=2, default=(10, 3), metavar=("D", "K"),
                        help="dimensions of the two clouds (default 10 3)")
    parser.add_argument("--device", choices=DEVICES, default="cpu",
                        help="where gwrep's solvers run (POT, ott-jax and --baseline run on the CPU); default cpu")
    parser.add_argument("--pot-max-n", type=int, default=2048,
                        help="run POT only up to this n (it needs minutes beyond on one CPU thread; default 2048)")
    parser.add_argument("--dense-max-n", type=int, default=None,
                        help="run gwrep's dense path only up to this n (default: --pot-max-n; O(n^3) per iteration)")
    parser.add_argument("--ott-python", default=None,
                        help=f"python of an environment with ott-jax (default: ${OTT_PYTHON_ENV}; unset: ott-jax "
                             "skipped), e.g. after python3 -m venv ENV && ENV/bin/pip install ott-jax")
    parser.add_argument("--ott-max-n", type=int, default=4096, help="run ott-jax only up to this n (default 4096)")
    parser.add_argument("--ott-outer", choices=("match", "own"), default="match",
                        help="ott-jax's outer iterations: as many as the fast path ran (default), or its own "
                             "stopping rule (relative change of the linearised cost <= 1e-9)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a directory holding another gwrep package (git archive REV gwrep | tar -x -C DIR) "
                             "whose fast path to time on the same problems")
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


def _ott_python(option: str | None) -> tuple[str | None, str | None]:
    """(the ott-jax environment's python, or None, and why it is skipped)."""
    python = option or os.environ.get(OTT_PYTHON_ENV)
    if not python:
        return None, f"ott-jax skipped: no --ott-python and ${OTT_PYTHON_ENV} unset"
    probe = subprocess.run([python, "-c", "import ott, jax"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None, f"ott-jax skipped: {python} cannot import ott and jax ({probe.stderr.strip()[-120:]})"
    return python, None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns 0 (a process exit status)."""
    args = _parser().parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    dense_max_n = args.pot_max_n if args.dense_max_n is None else args.dense_max_n
    if any(n < 2 for n in sizes) or args.eps <= 0 or args.threads < 1 or min(args.dims) < 1:
        raise ValueError("sizes must be >= 2, eps > 0, threads >= 1 and dims >= 1")
    if args.pot_max_n < 0 or dense_max_n < 0:
        raise ValueError(f"--pot-max-n and --dense-max-n must be >= 0, got {args.pot_max_n} and {dense_max_n}")
    if args.baseline is not None and not (args.baseline / "gwrep" / "ot" / "__init__.py").is_file():
        raise ValueError(f"--baseline {args.baseline} holds no gwrep package (gwrep/ot/__init__.py is missing)")
    device = resolve_device(args.device)
    ott_python, ott_skipped = _ott_python(args.ott_python)
    if ott_skipped:
        print(ott_skipped, flush=True)
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
                run_ott = ott_python if n <= args.ott_max_n else None
                row = run_size(n, args.eps, tuple(args.dims), args.seed, run_pot=n <= args.pot_max_n,
                               run_dense=n <= dense_max_n, device=device, ott_python=run_ott,
                               ott_outer=args.ott_outer, baseline=args.baseline)
                if ott_skipped or run_ott is None:
                    row["ott_skipped"] = ott_skipped or "not run (n > --ott-max-n)"
                    row["note"] = _note(row, n <= args.pot_max_n, n <= dense_max_n)
                rows.append(row)
                print(format_table([row]).splitlines()[-1] if len(rows) > 1 else format_table([row]), flush=True)
    finally:
        torch.set_num_threads(saved_threads)  # a caller (the test suite) keeps its own thread count
    report = {
        "benchmark": "gw_engine", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.machine(), "processor": platform.processor(), "cpus": os.cpu_count(),
        "threads": args.threads, "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "pot_max_n": args.pot_max_n, "dense_max_n": dense_max_n, "ott_max_n": args.ott_max_n,
        "ott_outer": args.ott_outer, "ott_python": ott_python, "ott_skipped": ott_skipped,
        "baseline": str(args.baseline) if args.baseline else None,
        "torch": torch.__version__, "pot": ot.__version__, "eps": args.eps, "dims": list(args.dims),
        "seed": args.seed, "loss": "square_loss", "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nPOT x / ott x / old x: that solver's wall time over the fast path's ({device}; {args.threads} CPU "
          "thread(s); CPU-time ratios in the JSON); obj diff: largest |objective - fast's| / fast's over the "
          "other solvers, every plan scored by one numpy GW objective; plan L1: largest sum |T - T_fast|; "
          f"iters: outer iterations of the fast path.\nwrote {args.out}")
    return 0
