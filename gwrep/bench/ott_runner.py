"""Run ott-jax's entropic GW on one problem; a script for an environment with ott-jax and numpy.

    python ott_runner.py problem.npz result.npz

``problem.npz`` holds X (n, d), Y (m, k), eps (POT's convention), outer (iterations to run, 0:
ott's own stopping rule with ``outer_tol``), outer_tol, inner_tol and inner_max_iter. The
result holds the plan, the wall and CPU seconds of the solve (compilation excluded: the
solver is compiled ahead of time with ``jax.jit(...).lower(...).compile()``), the compile
time, the outer iterations run, whether ott reports convergence and the versions.

Settings, chosen to solve the same problem as gwrep and POT: float64 (``jax_enable_x64``),
point clouds with squared-Euclidean costs (ott factors them, rank d + 2), epsilon / 2 (ott's
linearised cost is half POT's gradient: it omits the factor 2 of d L / d T), warm-started
inner Sinkhorn stopping on the L2 marginal error (``norm_error=2``) as gwrep's does.
Run it with XLA on one thread (``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1``), as :mod:`gwrep.bench.gw` does.
"""
import sys
import time


def main(argv: list) -> int:
    import numpy as np
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import ott
    from ott.geometry import pointcloud
    from ott.problems.quadratic import quadratic_problem
    from ott.solvers.linear import sinkhorn
    from ott.solvers.quadratic import gromov_wasserstein

    problem = np.load(argv[0])
    eps, outer = float(problem["eps"]), int(problem["outer"])
    own_rule = outer == 0
    linear = sinkhorn.Sinkhorn(threshold=float(problem["inner_tol"]), norm_error=2,
                               max_iterations=int(problem["inner_max_iter"]))
    solver = gromov_wasserstein.GromovWasserstein(
        linear, epsilon=eps / 2, warm_start=True, threshold=float(problem["outer_tol"]) if own_rule else 0.0,
        min_iterations=1 if own_rule else outer, max_iterations=int(problem["max_outer"]) if own_rule else outer)

    def solve(X, Y):
        out = solver(quadratic_problem.QuadraticProblem(pointcloud.PointCloud(X), pointcloud.PointCloud(Y)))
        return out.matrix, jnp.sum(out.costs != -1), out.converged

    X, Y = jnp.asarray(problem["X"]), jnp.asarray(problem["Y"])
    start = time.perf_counter()
    compiled = jax.jit(solve).lower(X, Y).compile()
    compile_seconds = time.perf_counter() - start
    wall, cpu = time.perf_counter(), time.process_time()
    plan, n_iter, converged = jax.block_until_ready(compiled(X, Y))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    np.savez(argv[1], plan=np.asarray(plan), seconds=wall, cpu_seconds=cpu, compile_seconds=compile_seconds,
             n_iter=int(n_iter), converged=bool(converged), version=f"ott-jax {ott.__version__}, jax {jax.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
