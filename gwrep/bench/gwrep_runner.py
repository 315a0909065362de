"""Time the point-cloud fast path of whichever gwrep is first on ``sys.path``; a standalone script.

    PYTHONPATH=/old/tree python gwrep_runner.py problem.npz result.npz

Used by :mod:`gwrep.bench.gw` to time an older source tree (``git archive REV gwrep | tar -x -C
DIR``) beside the current one on the same problem. ``problem.npz`` holds X, Y, eps and repeats;
the result holds the last plan, the wall and CPU seconds of each solve, the outer iterations,
whether it converged and the file of the gwrep it ran.
"""
import sys
import time


def main(argv: list) -> int:
    import numpy as np
    import torch

    import gwrep.ot

    torch.set_num_threads(1)
    problem = np.load(argv[0])
    X, Y = torch.from_numpy(problem["X"]), torch.from_numpy(problem["Y"])
    walls, cpus = [], []
    for _ in range(int(problem["repeats"])):
        wall, cpu = time.perf_counter(), time.process_time()
        result = gwrep.ot.gromov_wasserstein_points(X, Y, epsilon=float(problem["eps"]))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    np.savez(argv[1], plan=result.plan.numpy(), seconds=np.array(walls), cpu_seconds=np.array(cpus),
             n_iter=int(result.n_iter), converged=bool(result.converged), version=gwrep.ot.__file__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
